"""The fake nodes carry the labels, zones and taints AKS gives its node pools."""

from lablib import kube


def test_default_pools_have_the_documented_shape():
    nodes = kube.default_nodes()
    by_pool = {}
    for node in nodes:
        by_pool.setdefault(node["metadata"]["labels"]["kubernetes.azure.com/agentpool"], []).append(node)
    assert {pool: len(items) for pool, items in by_pool.items()} == {"system": 3, "web": 3, "worker": 2}
    zones = sorted(n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in by_pool["system"])
    assert zones == ["westeurope-1", "westeurope-2", "westeurope-3"]
    assert by_pool["system"][0]["spec"]["taints"][0]["key"] == "CriticalAddonsOnly"
    assert "taints" not in by_pool["web"][0]["spec"]
    assert by_pool["web"][0]["metadata"]["labels"]["kubernetes.azure.com/mode"] == "user"
    assert all(n["metadata"]["annotations"] == {"kwok.x-k8s.io/node": "fake"} for n in nodes)


def test_node_names_follow_aks_vmss_naming():
    assert kube.node_name("web", 2) == "aks-web-31415926-vmss000002"


def test_extra_labels_and_taints_for_a_dedicated_pool():
    node = kube.node_manifest("acme", 0, "User", "Standard_E8ds_v5", ("1",), "7820m", "60000Mi",
                              [{"key": "tenant", "value": "acme", "effect": "NoSchedule"}],
                              extra_labels={"odoo-saas/tenant": "acme"})
    assert node["metadata"]["labels"]["odoo-saas/tenant"] == "acme"
    assert node["spec"]["taints"] == [{"key": "tenant", "value": "acme", "effect": "NoSchedule"}]
    assert node["status"]["allocatable"]["cpu"] == "7820m"


def test_kwok_stages_fail_only_the_marked_job_images():
    import yaml

    complete = yaml.safe_dump({"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Stage",
                               "metadata": {"name": "pod-complete"},
                               "spec": {"selector": {"matchExpressions": [{"key": ".status.phase", "operator": "In",
                                                                           "values": ["Running"]}]},
                                        "next": {"statusTemplate": "exitCode: 0\nreason: Completed\nphase: Succeeded"}}})
    ready = yaml.safe_dump({"kind": "Stage", "metadata": {"name": "pod-ready"}, "spec": {}})
    stages = list(yaml.safe_load_all(kube.kwok_stages([ready, complete])))
    names = [s["metadata"]["name"] for s in stages]
    assert names == ["pod-ready", "pod-complete", "odoo-saas-lab-job-pod-fail"]
    assert stages[1]["spec"]["selector"]["matchExpressions"][-1]["operator"] == "NotIn"
    fail = stages[2]
    assert fail["spec"]["selector"]["matchExpressions"][-1]["operator"] == "In"
    assert "phase: Failed" in fail["spec"]["next"]["statusTemplate"]
    assert "exitCode: 1" in fail["spec"]["next"]["statusTemplate"]
