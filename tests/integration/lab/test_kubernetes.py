"""The lab's Kubernetes is a real control plane: scheduling, controllers, admission and finalisation.

Each test reads the outcome back from the API server.
"""

import uuid

import pytest
from kubernetes import client

from integration.helpers import wait_for

RESTRICTED_CONTEXT = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _pod_spec(pool="web", **container):
    spec = {
        "nodeSelector": {"kubernetes.azure.com/agentpool": pool},
        "containers": [dict({"name": "app", "image": "registry.invalid/odoo:17.0",
                             "securityContext": RESTRICTED_CONTEXT}, **container)],
    }
    return spec


def test_nodes_are_labelled_as_aks_pools(kube, lab):
    # The lab's own nodes only (`-31415926-`): emulated AKS clusters, made by tests running alongside, add theirs.
    nodes = [n for n in client.CoreV1Api(kube).list_node().items if "-31415926-vmss" in n.metadata.name]
    pools = {}
    for node in nodes:
        labels = node.metadata.labels
        pools.setdefault(labels["kubernetes.azure.com/agentpool"], []).append(labels["topology.kubernetes.io/zone"])
        ready = {c.type: c.status for c in node.status.conditions}["Ready"]
        assert ready == "True", node.metadata.name
        assert node.status.allocatable["cpu"] and node.status.allocatable["memory"]
    assert len(pools["system"]) == 3 and len(pools["web"]) == 3 and len(pools["worker"]) == 2
    assert sorted(pools["system"]) == ["westeurope-1", "westeurope-2", "westeurope-3"]
    assert lab["kubernetes"]["node_pools"] == {"system": 3, "web": 3, "worker": 2}


def test_deployment_becomes_available_on_the_requested_pool(kube, namespace):
    apps = client.AppsV1Api(kube)
    body = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": _pod_spec("web")}},
    }
    apps.create_namespaced_deployment(namespace, body)

    def available():
        dep = apps.read_namespaced_deployment(
            "web", namespace)
        conditions = {c.type: c.status for c in (dep.status.conditions or [])}
        return conditions.get("Available") == "True" and dep.status.available_replicas == 2

    wait_for(available, timeout=90, what="Deployment web to be Available")
    pods = client.CoreV1Api(kube).list_namespaced_pod(namespace, label_selector="app=web").items
    assert len(pods) == 2
    for pod in pods:
        assert pod.spec.node_name.startswith("aks-web-"), pod.spec.node_name
        assert pod.status.phase == "Running"
        assert pod.status.pod_ip


def test_job_completes(kube, namespace):
    batch = client.BatchV1Api(kube)
    body = {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "init"},
        "spec": {"backoffLimit": 0, "template": {"spec": dict(_pod_spec("worker"), restartPolicy="Never")}},
    }
    batch.create_namespaced_job(namespace, body)

    def complete():
        job = batch.read_namespaced_job("init", namespace)
        return any(c.type == "Complete" and c.status == "True" for c in (job.status.conditions or []))

    wait_for(complete, timeout=90, what="Job init to complete")
    assert batch.read_namespaced_job("init", namespace).status.succeeded == 1


def test_resource_quota_rejects_a_pod_over_quota(kube, namespace):
    core = client.CoreV1Api(kube)
    core.create_namespaced_resource_quota(namespace, {
        "metadata": {"name": "tenant"},
        "spec": {"hard": {"requests.cpu": "500m", "requests.memory": "512Mi", "limits.cpu": "1",
                          "limits.memory": "1Gi"}},
    })
    wait_for(lambda: core.read_namespaced_resource_quota("tenant", namespace).status.hard,
             what="the quota controller to publish the quota status")
    resources = {"requests": {"cpu": "2", "memory": "256Mi"}, "limits": {"cpu": "2", "memory": "256Mi"}}
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_pod(namespace, {"metadata": {"name": "big"}, "spec": _pod_spec(resources=resources)})
    assert caught.value.status == 403
    assert "exceeded quota" in caught.value.body
    small = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}
    core.create_namespaced_pod(namespace, {"metadata": {"name": "small"}, "spec": _pod_spec(resources=small)})
    wait_for(lambda: core.read_namespaced_resource_quota("tenant", namespace).status.used.get("requests.cpu")
             == "100m", what="quota usage to count the admitted pod")


def test_privileged_pod_is_rejected_under_pod_security_restricted(kube, namespace):
    core = client.CoreV1Api(kube)
    core.patch_namespace(namespace, {"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}}})
    privileged = {"privileged": True, "runAsUser": 0}
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_pod(namespace, {"metadata": {"name": "root"},
                                               "spec": _pod_spec(securityContext=privileged)})
    assert caught.value.status == 403
    assert "violates PodSecurity" in caught.value.body and "restricted" in caught.value.body
    # A pod that follows the restricted profile is admitted in the same namespace.
    core.create_namespaced_pod(namespace, {"metadata": {"name": "ok"}, "spec": _pod_spec()})
    assert core.read_namespaced_pod("ok", namespace).metadata.name == "ok"


def test_deleting_a_namespace_finalises(kube):
    core = client.CoreV1Api(kube)
    name = f"it-finalise-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": name}})
    client.AppsV1Api(kube).create_namespaced_deployment(name, {
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": _pod_spec()}},
    })
    core.create_namespaced_config_map(name, {"metadata": {"name": "settings"}, "data": {"a": "b"}})
    wait_for(lambda: [p for p in core.list_namespaced_pod(name).items if p.status.phase == "Running"],
             timeout=90, what="a running pod in the namespace")
    core.delete_namespace(name)

    def gone():
        try:
            core.read_namespace(name)
            return False
        except client.ApiException as exc:
            return exc.status == 404

    wait_for(gone, timeout=120, what=f"namespace {name} to be finalised")
