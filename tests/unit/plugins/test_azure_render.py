"""The Azure modules' pure parts: validation, rendering, pool planning and server diffs, without any service."""

import pytest

from ansible_collections.odoo_saas.platform.plugins.module_utils import _azure, _azure_aks as aks, _azure_pg as pg
from ansible_collections.odoo_saas.platform.plugins.module_utils._common import InputError
from ansible_collections.odoo_saas.platform.plugins.modules import aks_cluster, pg_server


def _defaults(spec):
    params = {}
    for name, option in spec.items():
        params[name] = option.get("default")
    return params


def aks_params(**overrides):
    params = _defaults(aks_cluster.argument_spec())
    params.update(resource_group="rg", name="shared", location="westeurope", state="present")
    params.update(overrides)
    return params


def pool(name, **fields):
    base = {option: None for option in aks_cluster.argument_spec()["node_pools"]["options"]}
    base.update(name=name, mode="User", vm_size="Standard_D4ds_v5")
    base.update(fields)
    return base


def live_pool(name, **props):
    base = {"name": name, "mode": "User", "vmSize": "Standard_D4ds_v5", "count": 2, "osType": "Linux",
            "type": "VirtualMachineScaleSets", "provisioningState": "Succeeded"}
    base.update(props)
    return base


def live_cluster(*pools, tags=None, **props):
    body = {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/shared",
            "name": "shared", "location": "westeurope", "sku": {"name": "Base", "tier": "Free"}, "tags": tags or {},
            "properties": {"kubernetesVersion": "1.34", "currentKubernetesVersion": "1.34.4", "dnsPrefix": "shared",
                           "enableRBAC": True, "provisioningState": "Succeeded", "agentPoolProfiles": list(pools),
                           "networkProfile": {"networkPlugin": "azure", "podCidr": "10.244.0.0/16"}}}
    body["properties"].update(props)
    return body


@pytest.mark.parametrize("overrides, needle", [
    ({"name": "-bad"}, "name='-bad'"),
    ({"kubernetes_version": "latest"}, "kubernetes_version='latest'"),
    ({"dns_prefix": "a_b"}, "dns_prefix='a_b'"),
    ({"node_pools": [pool("Web")]}, "'Web'"),
    ({"node_pools": [pool("webpoolnumber1")]}, "'webpoolnumber1'"),
    ({"node_pools": [pool("web", count=-1)]}, "node_pools[web].count=-1"),
    ({"node_pools": [pool("sys", mode="System", count=0)]}, "node_pools[sys].count=0"),
    ({"node_pools": [pool("web", enable_auto_scaling=True, min_count=5, max_count=2)]}, "min_count=5"),
    ({"node_pools": [pool("web", enable_auto_scaling=True)]}, "needs min_count and max_count"),
    ({"node_pools": [pool("web", min_count=1)]}, "only apply with enable_auto_scaling"),
    ({"node_pools": [pool("web", zones=["4"])]}, "'4'"),
    ({"node_pools": [pool("web", node_taints=["dedicated=acme"])]}, "'dedicated=acme'"),
    ({"node_pools": [pool("web", max_pods=300)]}, "max_pods=300"),
    ({"node_pools": [pool("web", node_labels={"kubernetes.azure.com/mode": "x"})]}, "reserved"),
    ({"node_pools": [pool("web"), pool("web")]}, "more than once"),
    ({"api_server": {"authorized_ip_ranges": ["300.1.1.0/24"], "private_cluster": None}}, "'300.1.1.0/24'"),
    ({"api_server": {"authorized_ip_ranges": ["10.0.0.0/8"], "private_cluster": True}}, "private_cluster"),
    ({"network_profile": {"pod_cidr": "10.0.0.0/16", "service_cidr": "10.0.0.0/20"}}, "overlaps"),
    ({"network_profile": {"service_cidr": "10.0.0.0/16", "dns_service_ip": "10.1.0.10"}}, "outside service_cidr"),
    ({"tags": {f"k{i}": "v" for i in range(51)}}, "at most 50"),
    ({"maintenance_window": {"day_of_week": "Sun", "start_time": "02:00", "duration_hours": 4,
                             "utc_offset": "+00:00", "interval_weeks": 1}}, "day_of_week='Sun'"),
    ({"maintenance_window": {"day_of_week": "Sunday", "start_time": "2am", "duration_hours": 4,
                             "utc_offset": "+00:00", "interval_weeks": 1}}, "start_time='2am'"),
    ({"disable_local_accounts": True, "kubeconfig": {"path": "/tmp/k", "credential": "admin"}}, "credential=admin"),
])
def test_aks_validation_names_the_option(overrides, needle):
    params = aks_params(**overrides)
    with pytest.raises(InputError) as caught:
        aks.validate(params)
    assert needle in caught.value.msg


def test_a_new_pool_renders_the_agent_pool_body():
    props = aks.pool_properties(pool("ded01", count=2, zones=["2", "1"], node_taints=["tenant=acme:NoSchedule"],
                                     node_labels={"tenant": "acme"}))
    assert props == {"type": "VirtualMachineScaleSets", "osType": "Linux", "mode": "User", "vmSize": "Standard_D4ds_v5",
                     "count": 2, "availabilityZones": ["1", "2"], "nodeTaints": ["tenant=acme:NoSchedule"],
                     "nodeLabels": {"tenant": "acme"}}


def test_autoscaled_pool_keeps_the_live_count_inside_the_new_bounds():
    live = live_pool("web", enableAutoScaling=True, minCount=2, maxCount=10, count=7)
    same = aks.pool_properties(pool("web", enable_auto_scaling=True, min_count=2, max_count=10, count=3), live)
    assert same["count"] == 7  # never "corrected" against the autoscaler
    tighter = aks.pool_properties(pool("web", enable_auto_scaling=True, min_count=2, max_count=5), live)
    assert tighter["count"] == 5 and tighter["maxCount"] == 5


def test_plan_adds_scales_and_purges_pools():
    current = [live_pool("system", mode="System", count=3), live_pool("web", count=2), live_pool("old")]
    params = aks_params(purge_node_pools=True, node_pools=[
        pool("system", mode="System", count=3), pool("web", count=4), pool("ded01", count=1)])
    ops = aks.plan_pools(params, current)
    assert [(verb, name) for verb, name, _props, _note in ops] == [
        ("update", "web"), ("add", "ded01"), ("delete", "old")]
    assert ops[0][2]["count"] == 4 and "count" in ops[0][3]


def test_plan_without_purge_keeps_unlisted_pools_and_noop_is_empty():
    current = [live_pool("system", mode="System", count=3), live_pool("web", count=2)]
    params = aks_params(node_pools=[pool("system", mode="System", count=3)])
    assert aks.plan_pools(params, current) == []


def test_immutable_pool_field_is_refused_naming_the_field():
    current = [live_pool("system", mode="System", count=3), live_pool("web", count=2)]
    params = aks_params(node_pools=[pool("system", mode="System"), pool("web", vm_size="Standard_D8ds_v5")])
    with pytest.raises(InputError) as caught:
        aks.plan_pools(params, current)
    assert "node_pools[web].vm_size" in caught.value.msg and "allow_pool_replacement" in caught.value.msg


def test_replacement_adds_a_stand_in_first_and_resumes():
    current = [live_pool("system", mode="System", count=3), live_pool("web", count=2)]
    params = aks_params(allow_pool_replacement=True, node_pools=[
        pool("system", mode="System"), pool("web", vm_size="Standard_D8ds_v5", count=2)])
    ops = aks.plan_pools(params, current)
    assert [(verb, name) for verb, name, _p, _n in ops] == [
        ("add", "webrp"), ("delete", "web"), ("add", "web"), ("delete", "webrp")]
    assert ops[0][2]["tags"] == {aks.REPLACES_TAG: "web"} and ops[0][2]["vmSize"] == "Standard_D8ds_v5"
    # A run that stopped after deleting the old pool picks up where it left off.
    stand_in = live_pool("webrp", vmSize="Standard_D8ds_v5", tags={aks.REPLACES_TAG: "web"})
    resumed = aks.plan_pools(params, [current[0], stand_in])
    assert [(verb, name) for verb, name, _p, _n in resumed] == [("add", "web"), ("delete", "webrp")]


def test_the_last_system_pool_cannot_go():
    current = [live_pool("system", mode="System", count=3), live_pool("web")]
    params = aks_params(purge_node_pools=True, node_pools=[pool("web")])
    with pytest.raises(InputError) as caught:
        aks.plan_pools(params, current)
    assert "System pool" in caught.value.msg


def test_cluster_changes_refuse_fixed_fields_and_downgrades():
    current = live_cluster(live_pool("system", mode="System"))
    params = aks_params(network_profile={"network_plugin": "kubenet"})
    with pytest.raises(InputError) as caught:
        aks.cluster_changes(params, current, aks.predict(params, current))
    assert "network_profile.network_plugin" in caught.value.msg
    params = aks_params(kubernetes_version="1.33")
    with pytest.raises(InputError) as caught:
        aks.cluster_changes(params, current, aks.predict(params, current))
    assert "cannot downgrade" in caught.value.msg


def test_cluster_noop_and_update_diff():
    current = live_cluster(live_pool("system", mode="System"), tags={"env": "prod"})
    same = aks_params(kubernetes_version="1.34", tags={"env": "prod"})
    assert aks.cluster_changes(same, current, aks.predict(same, current)) == []
    upgrade = aks_params(kubernetes_version="1.35", sku_tier="Standard", tags={"env": "prod", "team": "odoo"})
    predicted = aks.predict(upgrade, current)
    assert aks.cluster_changes(upgrade, current, predicted) == [
        "set kubernetes_version", "set sku_tier", "set tags"]
    assert aks.cluster_view(predicted)["sku_tier"] == "Standard"
    assert aks.cluster_view(current)["node_pools"]["system"]["mode"] == "System"


def test_version_matching():
    assert aks.version_matches("1.34", "1.34.4") and aks.version_matches("1.34.4", "1.34.4")
    assert not aks.version_matches("1.3", "1.34.4") and not aks.version_matches("1.34", None)


def pg_params(**overrides):
    params = _defaults(pg_server.argument_spec())
    params.update(resource_group="rg", name="pg-shared", location="westeurope", state="present")
    params.update(overrides)
    return params


@pytest.mark.parametrize("overrides, needle", [
    ({"name": "PG_Shared"}, "name='PG_Shared'"),
    ({"version": "9.6"}, "version='9.6'"),
    ({"sku": {"name": "Standard_D2ds_v5", "tier": "Burstable"}}, "does not belong"),
    ({"storage": {"size_gb": 100, "auto_grow": None}}, "storage.size_gb=100"),
    ({"backup": {"retention_days": 3, "geo_redundant": None}}, "backup.retention_days=3"),
    ({"backup": {"retention_days": 36, "geo_redundant": None}}, "backup.retention_days=36"),
    ({"sku": {"name": "Standard_B2s", "tier": "Burstable"},
      "high_availability": {"mode": "ZoneRedundant", "standby_availability_zone": None}}, "Burstable"),
    ({"availability_zone": "1", "high_availability": {"mode": "ZoneRedundant", "standby_availability_zone": "1"}},
     "another zone"),
    ({"administrator_login": "azure_pg_admin"}, "administrator_login='azure_pg_admin'"),
    ({"administrator_login": "odooadmin", "administrator_login_password": "short"}, "not shown"),
    ({"firewall_rules": [{"name": "a", "start_ip": "10.0.0.9", "end_ip": "10.0.0.1"}]}, "after end_ip"),
    ({"firewall_rules": [{"name": "a", "start_ip": "10.0.0.x", "end_ip": "10.0.0.1"}]}, "not a range"),
    ({"network": {"delegated_subnet_id": "/subscriptions/s/x", "public_access": True, "private_dns_zone_id": None}},
     "public_access"),
    ({"extensions": ["PG TRGM"]}, "'PG TRGM'"),
    ({"parameters": {"azure.extensions": "x"}}, "extensions option"),
    ({"maintenance_window": {"day_of_week": 7, "start_hour": 0, "start_minute": 0}}, "day_of_week=7"),
])
def test_pg_validation_names_the_option(overrides, needle):
    with pytest.raises(InputError) as caught:
        pg.validate(pg_params(**overrides))
    assert needle in caught.value.msg


def test_pg_password_is_never_in_a_message():
    with pytest.raises(InputError) as caught:
        pg.validate(pg_params(administrator_login="odooadmin", administrator_login_password="odooadmin-Pass1"))
    assert "odooadmin-Pass1" not in caught.value.msg


def live_server(**props):
    body = {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shared",
            "name": "pg-shared", "location": "westeurope", "tags": {},
            "sku": {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"},
            "properties": {"version": "16", "administratorLogin": "odooadmin", "state": "Ready",
                           "storage": {"storageSizeGB": 128, "autoGrow": "Disabled"},
                           "backup": {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"},
                           "network": {"publicNetworkAccess": "Enabled"}}}
    body["properties"].update(props)
    return body


def test_pg_changes_patch_only_what_differs():
    current = live_server()
    params = pg_params(storage={"size_gb": 256, "auto_grow": None}, backup={"retention_days": 14,
                                                                            "geo_redundant": False})
    predicted = pg.predict(params, current)
    paths = pg.server_changes(current, predicted)
    assert paths == [("properties", "storage", "storageSizeGB"), ("properties", "backup", "backupRetentionDays")]
    assert pg.patch_body(predicted, paths) == {"properties": {
        "storage": {"storageSizeGB": 256, "autoGrow": "Disabled"},
        "backup": {"backupRetentionDays": 14, "geoRedundantBackup": "Disabled"}}}
    assert pg.server_changes(current, pg.predict(pg_params(version="16"), current)) == []


@pytest.mark.parametrize("overrides, needle", [
    ({"storage": {"size_gb": 64, "auto_grow": None}}, "never shrink"),
    ({"backup": {"retention_days": None, "geo_redundant": True}}, "backup.geo_redundant can only be set"),
    ({"version": "15"}, "cannot be downgraded"),
    ({"administrator_login": "other"}, "administrator_login can only be set"),
])
def test_pg_create_only_and_one_way_fields_are_refused(overrides, needle):
    current = live_server()
    params = pg_params(**overrides)
    with pytest.raises(InputError) as caught:
        pg.server_changes(current, pg.predict(params, current))
    assert needle in caught.value.msg


def test_pg_extensions_always_hold_what_odoo_needs():
    assert pg.extensions(pg_params(extensions=["pgcrypto"])) == ["pg_trgm", "pgcrypto", "unaccent"]
    settings = pg.desired_settings(pg_params(parameters={"max_connections": 800}))
    assert settings == {"max_connections": "800", "azure.extensions": "pg_trgm,unaccent"}
    assert pg._same_setting("azure.extensions", "pg_trgm,unaccent", "UNACCENT, pg_trgm")


def test_pg_firewall_plan():
    live = {"old": ("1.1.1.1", "1.1.1.1"), "keep": ("2.2.2.2", "2.2.2.3")}
    params = pg_params(firewall_rules=[{"name": "keep", "start_ip": "2.2.2.2", "end_ip": "2.2.2.3"},
                                       {"name": "new", "start_ip": "3.3.3.3", "end_ip": "3.3.3.3"}])
    assert pg.rule_plan(params, live) == [("put", "new", "3.3.3.3", "3.3.3.3"), ("delete", "old", None, None)]
    assert pg.rule_plan(dict(params, purge_firewall_rules=False), live) == [("put", "new", "3.3.3.3", "3.3.3.3")]


def test_clouds_and_tags():
    custom = _azure.Cloud({"cloud_environment": "custom", "resource_manager_endpoint": "https://127.0.0.1:24443/",
                           "authority_host": "https://127.0.0.1:24443", "ca_bundle": "/ca.crt"})
    assert custom.endpoint == "https://127.0.0.1:24443" and custom.scope == "https://management.azure.com/.default"
    assert custom.verify == "/ca.crt" and custom.custom
    china = _azure.Cloud({"cloud_environment": "AzureChinaCloud"})
    assert china.endpoint == "https://management.chinacloudapi.cn" and china.verify is True
    with pytest.raises(InputError):
        _azure.Cloud({"cloud_environment": "custom", "resource_manager_endpoint": "http://arm",
                      "authority_host": "https://login"})
    assert _azure.merged_tags({"a": "1", "b": "2"}, {"a": "9"}, purge=True) == {"a": "9"}
    assert _azure.merged_tags({"a": "1", "b": "2"}, {"a": "9"}, purge=False) == {"a": "9", "b": "2"}
    assert _azure.merged_tags({"a": "1"}, None, purge=True) == {"a": "1"}


def test_retry_policy_retries_only_429_and_5xx():
    policy = _azure._retry_policy()

    class Resp:  # pylint: disable=too-few-public-methods
        def __init__(self, status):
            self.http_response = type("R", (), {"status_code": status, "headers": {"Retry-After": "1"}})()

    settings = {"total": 3, "backoff": 1.0, "max_backoff": 60, "history": [1, 2]}
    assert policy.is_retry(settings, Resp(429)) and policy.is_retry(settings, Resp(503))
    assert not policy.is_retry(settings, Resp(400)) and not policy.is_retry(settings, Resp(409))
    delays = {policy.get_backoff_time(settings) for attempt in range(20)}
    assert len(delays) > 1 and all(1.0 <= d <= 2.0 for d in delays)
