"""The ARM emulator's rules and mechanics, without any service: each rule refuses with Azure's code,
etags and If-Match behave as ARM's, and an agent pool renders as AKS-labelled kwok nodes."""

import copy
import re

import pytest
from arm import labsync
from arm.errors import ArmError
from arm.providers import aks, catalogue, postgres
from arm.resources import check_preconditions, merge_patch


def _code(call):
    with pytest.raises(ArmError) as caught:
        call()
    return caught.value


# ----------------------------------------------------------------------------------------- etags
def test_if_match_and_if_none_match():
    check_preconditions(None, None, "abc")
    check_preconditions('"abc"', None, "abc")
    check_preconditions("abc", None, "abc")
    check_preconditions('W/"abc", "def"', None, "def")
    check_preconditions("*", None, "abc")
    check_preconditions(None, "*", None)
    for if_match, if_none, etag in (('"other"', None, "abc"), ("*", None, None), ("abc", None, None),
                                    (None, "*", "abc"), (None, '"abc"', "abc")):
        error = _code(lambda: check_preconditions(if_match, if_none, etag))
        assert (error.status, error.code) == (412, "PreconditionFailed")


def test_merge_patch_replaces_merges_and_removes():
    assert merge_patch({"a": {"b": 1, "c": 2}, "d": 1}, {"a": {"b": 3}, "d": None}) == {"a": {"b": 3, "c": 2}}


# ------------------------------------------------------------------------------------------ AKS
def _pool(**props):
    return dict({"mode": "User", "count": 1}, **props)


@pytest.mark.parametrize("name, props, current, code, fragment", [
    ("Web", _pool(), None, "InvalidParameter", "'Web'"),
    ("abcdefghijklm", _pool(), None, "InvalidParameter", "abcdefghijklm"),
    ("1pool", _pool(), None, "InvalidParameter", "1pool"),
    ("web", _pool(mode="Gateway"), None, "InvalidParameter", "Gateway"),
    ("web", _pool(count=1001), None, "InvalidParameter", "1001"),
    ("sys", _pool(mode="System", count=0), None, "InvalidParameter", "count 0"),
    ("web", _pool(enableAutoScaling=True, minCount=1), None, "InvalidParameter", "maxCount"),
    ("web", _pool(enableAutoScaling=True, minCount=3, maxCount=2), None, "InvalidParameter", "minCount 3"),
    ("web", _pool(enableAutoScaling=True, minCount=1, maxCount=2, count=5), None, "InvalidParameter", "count 5"),
    ("web", _pool(nodeTaints=["tenant=acme"]), None, "InvalidParameter", "tenant=acme"),
    ("web", _pool(availabilityZones=["4"]), None, "InvalidParameter", "'4'"),
    ("web", _pool(orchestratorVersion="1.20.0"), None, "K8sVersionNotSupported", "1.20.0"),
    ("web", _pool(vmSize="Standard_D8ds_v5"), {"vmSize": "Standard_D4ds_v5"}, "PropertyChangeNotAllowed", "vmSize"),
    ("web", _pool(maxPods=30), {"maxPods": 250}, "PropertyChangeNotAllowed", "maxPods"),
    ("web", _pool(osDiskType="Ephemeral"), {"osDiskType": "Managed"}, "PropertyChangeNotAllowed", "osDiskType"),
    ("web", _pool(availabilityZones=["1"]), {"availabilityZones": ["1", "2"]}, "PropertyChangeNotAllowed",
     "availabilityZones"),
    ("web", _pool(orchestratorVersion="1.33.5"), {"currentOrchestratorVersion": "1.34.4"},
     "NotAllowedKubernetesVersionDowngrade", "1.33.5"),
])
def test_agent_pool_rules(name, props, current, code, fragment):
    error = _code(lambda: aks.check_pool(name, props, current, "1.34.4", "properties"))
    assert error.status == 400 and error.code == code
    assert fragment in error.message


def test_a_valid_pool_passes_and_unchanged_immutables_are_fine():
    aks.check_pool("web", _pool(vmSize="standard_d4ds_v5", availabilityZones=["2", "1"], count=3),
                   {"vmSize": "Standard_D4ds_v5", "availabilityZones": ["1", "2"]}, "1.34.4", "properties")


def test_kubernetes_versions():
    assert aks.resolve_version("1.34", "v") == "1.34.4"
    assert aks.resolve_version("1.33.5", "v") == "1.33.5"
    assert _code(lambda: aks.resolve_version("1.35", "v")).code == "K8sVersionNotSupported"
    assert _code(lambda: aks.check_no_downgrade("1.34.4", "1.33.5", "v")).code == \
        "NotAllowedKubernetesVersionDowngrade"
    aks.check_no_downgrade("1.33.5", "1.34.4", "v")


@pytest.mark.parametrize("props, old, updating, code, fragment", [
    ({}, {}, False, "InvalidParameter", "dnsPrefix"),
    ({"dnsPrefix": "-bad-"}, {}, False, "InvalidParameter", "-bad-"),
    ({"dnsPrefix": "b"}, {"dnsPrefix": "a", "currentKubernetesVersion": "1.34.4"}, True, "PropertyChangeNotAllowed",
     "dnsPrefix"),
    ({"networkProfile": {"networkPlugin": "kubenet"}}, {"networkProfile": {"networkPlugin": "azure"},
                                                        "currentKubernetesVersion": "1.34.4"}, True,
     "PropertyChangeNotAllowed", "networkPlugin"),
    ({"dnsPrefix": "a", "disableLocalAccounts": True}, {}, False, "BadRequest", "aadProfile.managed"),
    ({"dnsPrefix": "a", "apiServerAccessProfile": {"authorizedIPRanges": ["300.0.0.0/8"]}}, {}, False,
     "InvalidParameter", "300.0.0.0/8"),
    ({"dnsPrefix": "a", "apiServerAccessProfile": {"authorizedIPRanges": ["10.0.0.0/8"],
                                                   "enablePrivateCluster": True}}, {}, False, "BadRequest", "private"),
    ({"kubernetesVersion": "1.33.2"}, {"currentKubernetesVersion": "1.34.4"}, True,
     "NotAllowedKubernetesVersionDowngrade", "1.33.2"),
])
def test_cluster_rules(props, old, updating, code, fragment):
    error = _code(lambda: aks.ManagedClusters.check_cluster(props, old, updating))
    assert error.code == code and fragment in error.message


def test_disabled_local_accounts_with_managed_entra_id_pass():
    assert aks.ManagedClusters.check_cluster({"dnsPrefix": "a", "disableLocalAccounts": True,
                                              "aadProfile": {"managed": True}}, {}, False) == "1.34.4"


def test_at_most_fifty_tags():
    assert _code(lambda: aks.check_tags({"tags": {f"t{i}": "v" for i in range(51)}})).code == "InvalidTag"
    aks.check_tags({"tags": {f"t{i}": "v" for i in range(50)}})


def test_the_last_system_pool_must_remain():
    pools = [{"name": "sys", "properties": {"mode": "System"}}, {"name": "web", "properties": {"mode": "User"}}]
    assert _code(lambda: aks.check_system_pool_remains(pools, "sys")).code == "OperationNotAllowed"
    aks.check_system_pool_remains(pools + [{"name": "sys2", "properties": {"mode": "System"}}], "sys")


# ------------------------------------------------------------------------------------ kwok nodes
CLUSTER = {"id": "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1",
           "location": "northeurope", "properties": {"nodeResourceGroup": "MC_rg1_c1_northeurope",
                                                     "currentKubernetesVersion": "1.34.4"}}


def test_a_pool_renders_as_aks_labelled_kwok_nodes():
    pool = {"mode": "User", "count": 3, "vmSize": "Standard_E8ds_v5", "availabilityZones": ["1", "3"],
            "nodeLabels": {"odoo-saas/tier": "dedicated"}, "nodeTaints": ["tenant=acme:NoSchedule", "spot:NoExecute"],
            "maxPods": 110}
    nodes = labsync.pool_nodes(CLUSTER, "acme", pool)
    digits = labsync.cluster_digits(CLUSTER["id"])
    assert re.match(r"^\d{8}$", digits) and digits != "31415926"
    assert [n["metadata"]["name"] for n in nodes] == [f"aks-acme-{digits}-vmss00000{i}" for i in range(3)]
    labels = nodes[1]["metadata"]["labels"]
    assert labels["kubernetes.azure.com/cluster"] == "MC_rg1_c1_northeurope"
    assert labels["kubernetes.azure.com/agentpool"] == "acme" and labels["kubernetes.azure.com/mode"] == "user"
    assert labels["topology.kubernetes.io/zone"] == "northeurope-3"
    assert labels["topology.kubernetes.io/region"] == "northeurope"
    assert labels["node.kubernetes.io/instance-type"] == "Standard_E8ds_v5"
    assert labels["odoo-saas/tier"] == "dedicated"
    assert nodes[1]["spec"]["taints"] == [{"key": "tenant", "value": "acme", "effect": "NoSchedule"},
                                          {"key": "spot", "effect": "NoExecute"}]
    assert nodes[1]["status"]["allocatable"]["memory"] == "58060Mi"
    assert nodes[1]["status"]["allocatable"]["pods"] == "110"
    assert nodes[1]["metadata"]["annotations"] == {"kwok.x-k8s.io/node": "fake"}


def test_autoscaled_pools_clamp_the_count_and_unknown_sizes_get_a_default():
    assert labsync.node_count({"count": 5, "enableAutoScaling": True, "minCount": 1, "maxCount": 3}) == 3
    assert labsync.node_count({"count": 0, "enableAutoScaling": True, "minCount": 2, "maxCount": 3}) == 2
    assert labsync.node_count({"count": 0}) == 0
    node = labsync.pool_nodes(CLUSTER, "odd", {"count": 1, "vmSize": "Standard_Z99"})[0]
    assert node["status"]["allocatable"]["cpu"] == labsync.DEFAULT_SIZE[0]
    assert node["metadata"]["labels"]["topology.kubernetes.io/zone"] == "0"


def test_label_values_are_valid():
    assert labsync.label_value("MC_rg(1)_c1_westeurope") == "MC_rg_1__c1_westeurope"
    assert len(labsync.label_value("MC_" + "x" * 90)) == 63


# ------------------------------------------------------------------------------------ PostgreSQL
SKU = {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"}


def _props(**changes):
    props = {"version": "16", "storage": {"storageSizeGB": 128}, "availabilityZone": "1",
             "backup": {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"},
             "network": {}, "highAvailability": {"mode": "Disabled"}}
    return merge_patch(props, changes)


@pytest.mark.parametrize("changes, sku, old, code, fragment", [
    ({"version": "12"}, SKU, {}, "InvalidParameterValue", "'12'"),
    ({"version": "15"}, SKU, _props(version="16"), "ServerVersionDowngradeNotSupported", "15"),
    ({}, {"name": "Standard_D2ds_v5", "tier": "Basic"}, {}, "InvalidParameterValue", "Basic"),
    ({}, {"name": "Standard_E2ds_v5", "tier": "GeneralPurpose"}, {}, "InvalidParameterValue", "Standard_E2ds_v5"),
    ({}, {"name": "Standard_D2ds_v5", "tier": "Burstable"}, {}, "InvalidParameterValue", "Standard_D2ds_v5"),
    ({"storage": {"storageSizeGB": 100}}, SKU, {}, "InvalidParameterValue", "100"),
    ({"storage": {"storageSizeGB": 64}}, SKU, _props(), "StorageSizeDecreaseNotSupported", "128"),
    ({"backup": {"backupRetentionDays": 6}}, SKU, {}, "InvalidParameterValue", "backupRetentionDays"),
    ({"backup": {"backupRetentionDays": 36}}, SKU, {}, "InvalidParameterValue", "36"),
    ({"backup": {"geoRedundantBackup": "Enabled"}}, SKU, _props(), "GeoRedundantBackupChangeNotSupported",
     "Enabled"),
    ({"network": {"privateDnsZoneArmResourceId": "/zone"}}, SKU, _props(), "NetworkChangeNotSupported",
     "privateDnsZoneArmResourceId"),
    ({"highAvailability": {"mode": "ZoneRedundant"}}, {"name": "Standard_B2s", "tier": "Burstable"}, {},
     "HANotSupportedForBurstableSkus", "Burstable"),
    ({"highAvailability": {"mode": "ZoneRedundant", "standbyAvailabilityZone": "1"}}, SKU, {},
     "InvalidStandbyAvailabilityZone", "(1)"),
])
def test_server_rules(changes, sku, old, code, fragment):
    error = _code(lambda: postgres.check_server(_props(**changes), sku, old, {}))
    assert error.status == 400 and error.code == code and fragment in error.message


def test_a_valid_server_and_growth_pass():
    postgres.check_server(_props(), SKU, {}, {})
    postgres.check_server(_props(storage={"storageSizeGB": 256}, version="17"), SKU, _props(), SKU)
    postgres.check_server(_props(), {"name": "Standard_B1ms", "tier": "Burstable"}, {}, {})
    postgres.check_server(_props(), {"name": "Standard_E4ds_v5", "tier": "MemoryOptimized"}, {}, {})


@pytest.mark.parametrize("login", ["azure_superuser", "Admin", "root", "public", "pg_owner", "1abc", "a-b", ""])
def test_reserved_or_malformed_admin_logins_are_refused(login):
    assert _code(lambda: postgres.check_login(login)).code in ("InvalidAdministratorLogin", "InvalidParameterValue")


@pytest.mark.parametrize("password", ["Sh0rt!", "alllowercaseletters", "ALLUPPER123", "x" * 129,
                                      "Odooadmin-1234"])
def test_weak_passwords_are_refused_without_being_echoed(password):
    error = _code(lambda: postgres.check_password(password, "odooadmin"))
    assert error.code == "PasswordNotComplex" and password not in error.message


def test_configuration_values_follow_the_catalogue():
    entries = catalogue.CONFIGURATIONS
    for name in ("pg_trgm", "unaccent", "pgcrypto", "uuid-ossp", "hstore", "pg_stat_statements", "btree_gin",
                 "btree_gist", "citext", "fuzzystrmatch", "postgis"):
        assert name in entries["azure.extensions"]["allowedValues"].split(",")
    assert catalogue.check_value("azure.extensions", entries["azure.extensions"], "PG_TRGM, unaccent") == \
        "pg_trgm,unaccent"
    assert catalogue.check_value("log_connections", entries["log_connections"], "OFF") == "off"
    assert catalogue.check_value("log_min_duration_statement", entries["log_min_duration_statement"], "-1") == "-1"
    for name, value in (("azure.extensions", "pg_trgm,nope"), ("max_connections", "24"),
                        ("max_connections", "many"), ("password_encryption", "plain"), ("autovacuum", "maybe")):
        error = _code(lambda: catalogue.check_value(name, entries[name], value))
        assert error.code == "InvalidParameterValue" and value.rsplit(",", maxsplit=1)[-1] in error.message


def test_a_configuration_set_by_the_user_is_an_override():
    entry = {"name": "azure.extensions", "properties": dict(copy.deepcopy(catalogue.CONFIGURATIONS[
        "azure.extensions"]), value="", source="system-default")}
    changed = postgres.Configurations.apply(entry, {"properties": {"value": "pg_trgm"}})
    assert changed["properties"]["value"] == "pg_trgm" and changed["properties"]["source"] == "user-override"
    static = {"name": "max_connections", "properties": dict(copy.deepcopy(catalogue.CONFIGURATIONS[
        "max_connections"]), value="859", source="system-default")}
    assert postgres.Configurations.apply(static, {"properties": {"value": "100"}})["properties"][
        "isConfigPendingRestart"] is True
