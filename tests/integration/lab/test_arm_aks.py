"""The ARM emulator's AKS provider, driven by azure-mgmt-containerservice: managed clusters and agent pools
follow the ARM protocol, and their pools become kwok nodes in the lab's Kubernetes.

Every pool the tests create is tainted, so that no other test's pods land on its nodes, and pool names are
not the lab's own (system, web, worker).
"""

import base64
import os
import re
import subprocess

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.containerservice import ContainerServiceClient
from kubernetes import client as k8s

from integration.lab.armclients import client, inject_fault, requests_for, unique

TAINT = "lab.odoo-saas/test=arm:NoSchedule"


@pytest.fixture(scope="module")
def aks(lab):
    return client(ContainerServiceClient, lab["arm"])


@pytest.fixture
def rg(resource_group):
    return resource_group


def _cluster(pools, **props):
    body = {"location": "westeurope", "tags": {"env": "lab"},
            "properties": dict({"dnsPrefix": "lab", "kubernetesVersion": "1.34", "agentPoolProfiles": pools},
                               **props)}
    return body


def _pool(name, mode="User", count=1, **extra):
    return dict({"name": name, "mode": mode, "count": count, "vmSize": "Standard_D4ds_v5",
                 "nodeTaints": [TAINT]}, **extra)


def _nodes(kube, cluster):
    label = cluster.properties.node_resource_group
    items = k8s.CoreV1Api(kube).list_node(label_selector=f"kubernetes.azure.com/cluster={label}").items
    return {n.metadata.name: n for n in items}


def _create(aks, rg, name, body):
    return aks.managed_clusters.begin_create_or_update(rg, name, body).result()


def test_cluster_with_system_and_user_pools_gets_its_kwok_nodes(aks, rg, kube):
    cluster = _create(aks, rg, "aks1", _cluster([
        _pool("sysa", "System", 1, availabilityZones=["1", "2", "3"]),
        _pool("usera", "User", 2, availabilityZones=["2", "3"], nodeLabels={"odoo-saas/tier": "dedicated"},
              nodeTaints=[TAINT, "tenant=acme:NoSchedule"], vmSize="Standard_E8ds_v5"),
    ]))
    assert cluster.properties.provisioning_state == "Succeeded"
    assert cluster.properties.current_kubernetes_version == "1.34.4"
    assert cluster.properties.node_resource_group == f"MC_{rg}_aks1_westeurope"
    assert {p.name: p.provisioning_state for p in cluster.properties.agent_pool_profiles} == \
        {"sysa": "Succeeded", "usera": "Succeeded"}
    nodes = _nodes(kube, cluster)
    assert len(nodes) == 3
    users = sorted(n for n in nodes if n.startswith("aks-usera-"))
    assert len(users) == 2 and all(re.match(r"^aks-usera-\d{8}-vmss00000[01]$", n) for n in users)
    node = nodes[users[0]]
    labels = node.metadata.labels
    assert labels["kubernetes.azure.com/agentpool"] == "usera"
    assert labels["kubernetes.azure.com/mode"] == "user"
    assert labels["node.kubernetes.io/instance-type"] == "Standard_E8ds_v5"
    assert labels["odoo-saas/tier"] == "dedicated"
    assert sorted(nodes[n].metadata.labels["topology.kubernetes.io/zone"] for n in users) == \
        ["westeurope-2", "westeurope-3"]
    taints = {(t.key, t.value, t.effect) for t in node.spec.taints}
    assert ("tenant", "acme", "NoSchedule") in taints
    assert node.status.allocatable["memory"] == "58060Mi"
    assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"
    # The lab's own nodes are untouched.
    own = k8s.CoreV1Api(kube).list_node(label_selector="kubernetes.azure.com/cluster=odoo-saas-lab").items
    assert len(own) == 8
    assert "aks1" in [c.name for c in aks.managed_clusters.list_by_resource_group(rg)]
    assert any(c.id == cluster.id for c in aks.managed_clusters.list())


def test_agent_pools_add_scale_and_delete_move_the_nodes(aks, rg, kube):
    cluster = _create(aks, rg, "aks2", _cluster([_pool("sysb", "System")]))
    pool = aks.agent_pools.begin_create_or_update(rg, "aks2", "extra", {"properties": _pool("x", count=2)}).result()
    assert pool.provisioning_state == "Succeeded" and pool.count == 2
    assert len([n for n in _nodes(kube, cluster) if "-extra-" in n]) == 2
    pool = aks.agent_pools.begin_create_or_update(rg, "aks2", "extra", {"properties": {"count": 3}}).result()
    assert len([n for n in _nodes(kube, cluster) if "-extra-" in n]) == 3
    # Autoscaling: the node count is the count clamped to [minCount, maxCount].
    pool = aks.agent_pools.begin_create_or_update(rg, "aks2", "extra", {"properties": {
        "count": 2, "enableAutoScaling": True, "minCount": 1, "maxCount": 2}}).result()
    assert pool.enable_auto_scaling and len([n for n in _nodes(kube, cluster) if "-extra-" in n]) == 2
    assert sorted(p.name for p in aks.agent_pools.list(rg, "aks2")) == ["extra", "sysb"]
    aks.agent_pools.begin_delete(rg, "aks2", "extra").result()
    with pytest.raises(ResourceNotFoundError):
        aks.agent_pools.get(rg, "aks2", "extra")
    assert sorted(_nodes(kube, cluster)) == [n for n in _nodes(kube, cluster) if "-sysb-" in n]


def test_the_rules_aks_documents_are_enforced(aks, rg):
    _create(aks, rg, "aks3", _cluster([_pool("sysc", "System")]))

    def refused(call, code, *fragments):
        with pytest.raises(HttpResponseError) as caught:
            call()
        assert caught.value.status_code == 400 and caught.value.error.code == code, caught.value.message
        for fragment in fragments:
            assert fragment in caught.value.error.message
        return caught.value

    put_pool = aks.agent_pools.begin_create_or_update
    refused(lambda: put_pool(rg, "aks3", "sysc", {"properties": {"vmSize": "Standard_D8ds_v5"}}),
            "PropertyChangeNotAllowed", "vmSize")
    refused(lambda: put_pool(rg, "aks3", "sysc", {"properties": {"availabilityZones": ["1"]}}),
            "PropertyChangeNotAllowed", "availabilityZones")
    refused(lambda: put_pool(rg, "aks3", "Bad_Name", {"properties": {"count": 1}}), "InvalidParameter", "Bad_Name")
    refused(lambda: put_pool(rg, "aks3", "toomanychars1", {"properties": {}}), "InvalidParameter", "toomanychars1")
    refused(lambda: put_pool(rg, "aks3", "auto", {"properties": {"enableAutoScaling": True, "minCount": 3}}),
            "InvalidParameter", "maxCount")
    autoscaled = {"properties": {"enableAutoScaling": True, "minCount": 3, "maxCount": 2}}
    refused(lambda: put_pool(rg, "aks3", "auto", autoscaled), "InvalidParameter", "minCount 3")
    refused(lambda: put_pool(rg, "aks3", "big", {"properties": {"count": 1001}}), "InvalidParameter", "1001")
    refused(lambda: put_pool(rg, "aks3", "sysc", {"properties": {"mode": "User"}}), "OperationNotAllowed",
            "system agent pool")
    refused(lambda: aks.agent_pools.begin_delete(rg, "aks3", "sysc").result(), "OperationNotAllowed")
    refused(lambda: _create(aks, rg, "aks3", _cluster([_pool("sysc", "System")], kubernetesVersion="1.33.5")),
            "NotAllowedKubernetesVersionDowngrade", "1.34.4", "1.33.5")
    refused(lambda: _create(aks, rg, "aks3", _cluster([_pool("sysc", "System")], dnsPrefix="other")),
            "PropertyChangeNotAllowed", "dnsPrefix")
    refused(lambda: _create(aks, rg, "aks3", _cluster([_pool("sysc", "System")],
                                                      networkProfile={"podCidr": "10.99.0.0/16"})),
            "PropertyChangeNotAllowed", "podCidr")
    refused(lambda: _create(aks, rg, "aks4", _cluster([_pool("usera")])), "MustDefineAtLeastOneSystemPool")
    refused(lambda: _create(aks, rg, "aks4", _cluster([_pool("sysa", "System")], kubernetesVersion="1.29.0")),
            "K8sVersionNotSupported", "1.29.0")
    refused(lambda: _create(aks, rg, "aks4", _cluster([_pool("sysa", "System")], disableLocalAccounts=True)),
            "BadRequest", "aadProfile.managed")
    refused(lambda: _create(aks, rg, "aks4", _cluster([_pool("sysa", "System")], apiServerAccessProfile={
        "authorizedIPRanges": ["10.0.0.0/33"]})), "InvalidParameter", "10.0.0.0/33")
    refused(lambda: _create(aks, rg, "aks4", _cluster([_pool("sysa", "System")], apiServerAccessProfile={
        "authorizedIPRanges": ["10.0.0.0/24"], "enablePrivateCluster": True})), "BadRequest", "private")
    with pytest.raises(HttpResponseError) as caught:
        _create(aks, rg, "aks4", {"location": "westeurope", "properties": {"dnsPrefix": "x", "agentPoolProfiles": [
            {"name": "sysa", "mode": "System", "count": "three"}]}})
    assert caught.value.error.code == "InvalidRequestContent" and "count" in caught.value.error.message
    with pytest.raises(ResourceNotFoundError):
        aks.managed_clusters.get(rg, "aks4")


def test_credentials_are_the_lab_kubeconfig_and_it_works(aks, rg, lab, tmp_path):
    _create(aks, rg, "aks5", _cluster([_pool("sysd", "System")]))
    for getter, name, context in ((aks.managed_clusters.list_cluster_user_credentials, "clusterUser", "aks5"),
                                  (aks.managed_clusters.list_cluster_admin_credentials, "clusterAdmin",
                                   "aks5-admin")):
        result = getter(rg, "aks5")
        assert [k.name for k in result.kubeconfigs] == [name]
        path = tmp_path / f"{name}.kubeconfig"
        path.write_bytes(result.kubeconfigs[0].value)
        os.chmod(path, 0o600)
        out = subprocess.run([lab["kubernetes"]["kubectl"], "--kubeconfig", str(path), "get", "nodes", "-o",
                              "name"], capture_output=True, text=True, check=True).stdout
        assert "node/aks-sysd-" in out
        current = subprocess.run([lab["kubernetes"]["kubectl"], "--kubeconfig", str(path), "config",
                                  "current-context"], capture_output=True, text=True, check=True).stdout.strip()
        assert current == context
    # The SDK decodes the base64 value; the wire carries base64, as Azure does.
    assert ("POST", f"/subscriptions/{lab['arm']['subscription_id']}/resourceGroups/{rg}/providers/"
            "Microsoft.ContainerService/managedClusters/aks5/listClusterAdminCredential", 200) in \
        requests_for(lab["arm"], rg)


def test_disabled_local_accounts_refuse_admin_credentials_and_user_credentials_use_kubelogin(aks, rg, lab):
    _create(aks, rg, "aks6", _cluster([_pool("syse", "System")], disableLocalAccounts=True,
                                      aadProfile={"managed": True, "enableAzureRBAC": True}))
    with pytest.raises(HttpResponseError) as caught:
        aks.managed_clusters.list_cluster_admin_credentials(rg, "aks6")
    assert caught.value.status_code == 400 and caught.value.error.code == "BadRequest"
    assert caught.value.error.message == ("Getting static credential is not allowed because this cluster is set to "
                                          "disable local accounts.")
    import yaml

    config = yaml.safe_load(aks.managed_clusters.list_cluster_user_credentials(rg, "aks6").kubeconfigs[0].value)
    user = config["users"][0]["user"]
    assert user["exec"]["command"] == "kubelogin"
    assert "6dae42f8-4368-4678-94ff-3960e28e3630" in user["exec"]["args"]
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"] == lab["kubernetes"]["server"]
    assert base64.b64decode(cluster["certificate-authority-data"]).startswith(b"-----BEGIN CERTIFICATE-----")


def test_etags_change_on_every_write_and_if_match_is_honoured(aks, rg):
    first = _create(aks, rg, "aks7", _cluster([_pool("sysf", "System")]))
    assert re.match(r"^[0-9a-f-]{36}$", first.e_tag)
    with pytest.raises(HttpResponseError) as caught:
        aks.managed_clusters.begin_create_or_update(rg, "aks7", _cluster([_pool("sysf", "System")]),
                                                    etag="0000", match_condition=MatchConditions.IfNotModified)
    assert caught.value.status_code == 412 and caught.value.error.code == "PreconditionFailed"
    with pytest.raises(HttpResponseError) as caught:
        aks.managed_clusters.begin_create_or_update(rg, "aks7", _cluster([_pool("sysf", "System")]),
                                                    match_condition=MatchConditions.IfMissing)
    assert caught.value.status_code == 412
    body = dict(_cluster([_pool("sysf", "System")]), tags={"env": "changed"})
    second = aks.managed_clusters.begin_create_or_update(
        rg, "aks7", body, etag=first.e_tag, match_condition=MatchConditions.IfNotModified).result()
    assert second.e_tag != first.e_tag and second.tags == {"env": "changed"}
    pool = aks.agent_pools.get(rg, "aks7", "sysf")
    assert re.match(r"^[0-9a-f-]{36}$", pool.e_tag)


def test_a_throttled_request_is_retried_by_the_sdk(aks, rg, lab):
    _create(aks, rg, "aks8", _cluster([_pool("sysg", "System")]))
    path = f"/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/aks8"
    inject_fault(lab["arm"], path, 429, retry_after=1, count=1, method="GET")
    assert aks.managed_clusters.get(rg, "aks8").name == "aks8"
    gets = [r for r in requests_for(lab["arm"], path) if r[0] == "GET" and r[1].endswith("/aks8")]
    assert [g[2] for g in gets][-2:] == [429, 200]


def test_deleting_a_cluster_removes_it_and_its_nodes(aks, rg, kube):
    cluster = _create(aks, rg, "aks9", _cluster([_pool("sysh", "System", 2)]))
    assert len(_nodes(kube, cluster)) == 2
    poller = aks.managed_clusters.begin_delete(rg, "aks9")
    poller.result()
    with pytest.raises(ResourceNotFoundError) as caught:
        aks.managed_clusters.get(rg, "aks9")
    assert caught.value.error.code == "ResourceNotFound"
    assert _nodes(kube, cluster) == {}
    with pytest.raises(ResourceNotFoundError) as caught:
        aks.managed_clusters.get(unique("rg-missing"), "aks9")
    assert caught.value.error.code == "ResourceGroupNotFound"
    with pytest.raises(ResourceNotFoundError):
        aks.agent_pools.begin_create_or_update(rg, "aks9", "late", {"properties": {"count": 1}})
