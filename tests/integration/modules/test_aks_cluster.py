"""aks_cluster against the lab's ARM emulator, which turns agent pools into kwok nodes of the lab cluster.

The pattern: check mode, the real run, an independent GET (and the nodes through kubectl), a second run that makes
exactly one GET and the credential call, updates of the pools, and state=absent. Pool names here are not the lab's
default pool names (web, worker), so that other tests' pods are never placed on nodes these tests delete.
"""

import json
import os
import stat
import subprocess
import uuid

import pytest

from integration.ansible_task import run_task, run_tasks
from integration.arm import emulator, module_args  # noqa: F401  pylint: disable=unused-import

API = "2026-08-01"
SYSTEM = {"name": "sysit", "mode": "System", "vm_size": "Standard_D4ds_v5", "count": 1, "zones": ["1", "2", "3"],
          "node_taints": ["CriticalAddonsOnly=true:NoSchedule"]}
APP = {"name": "appit", "vm_size": "Standard_D8ds_v5", "count": 2, "zones": ["1", "2"],
       "node_labels": {"odoo-saas.platform/tier": "shared"}}


def _nodes(kubectl, pool, cluster_label):
    out = kubectl("get", "nodes", "-l", f"kubernetes.azure.com/agentpool={pool},"
                  f"kubernetes.azure.com/cluster={cluster_label}", "-o", "json").stdout
    return json.loads(out)["items"]


def _label(group, name, location):
    return f"MC_{group}_{name}_{location}"


@pytest.fixture
def cluster(lab, resource_group, tmp_path):  # noqa: F811  pylint: disable=redefined-outer-name
    name = f"aks-{uuid.uuid4().hex[:6]}"
    args = dict(module_args(lab), resource_group=resource_group, name=name, location=lab["arm"]["location"],
                kubernetes_version="1.34", sku_tier="Standard", tags={"env": "lab"},
                network_profile={"network_plugin": "azure", "network_plugin_mode": "overlay",
                                 "network_policy": "cilium", "pod_cidr": "10.244.0.0/16",
                                 "service_cidr": "10.0.0.0/16", "dns_service_ip": "10.0.0.10"},
                node_pools=[SYSTEM, APP], kubeconfig={"path": str(tmp_path / "kube" / "config")})
    yield args
    run_task("aks_cluster", dict(args, state="absent"))


def test_lifecycle(lab, cluster, emulator, kubectl):  # noqa: F811  pylint: disable=redefined-outer-name
    group, name = cluster["resource_group"], cluster["name"]
    rid = f"/subscriptions/{lab['arm']['subscription_id']}/resourceGroups/{group}/providers/" \
          f"Microsoft.ContainerService/managedClusters/{name}"
    label = _label(group, name, lab["arm"]["location"])

    # 1. Check mode reports the creation, writes nothing and does not write the kubeconfig.
    planned = run_task("aks_cluster", cluster, check=True, diff=True)
    assert planned["changed"] is True and planned["actions"] == ["create cluster"], planned
    assert planned["diff"]["before"] is None and set(planned["diff"]["after"]["node_pools"]) == {"sysit", "appit"}
    assert emulator.get(rid, API)[0] == 404 and emulator.writes(name) == []
    assert not os.path.exists(cluster["kubeconfig"]["path"])

    # 2. The real run creates the cluster, its nodes, and a private kubeconfig that works.
    created = run_task("aks_cluster", cluster, verbosity=3)
    assert created["changed"] is True, created
    assert "AnsiballZ_aks_cluster.py" not in created.output  # run in the worker (plugins/plugin_utils/_in_process.py)
    facts = created["aks_cluster"]
    assert facts["provisioning_state"] == "Succeeded" and facts["kubernetes_version"] == "1.34"
    assert {p["name"]: p["count"] for p in facts["node_pools"]} == {"sysit": 1, "appit": 2}
    path = cluster["kubeconfig"]["path"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and facts["kubeconfig"] == path
    with open(path, encoding="utf-8") as handle:
        kubeconfig = handle.read()
    assert "client-key-data" not in created.output and kubeconfig[-40:] not in created.output
    nodes = subprocess.run([lab["kubernetes"]["kubectl"], "--kubeconfig", path, "get", "nodes", "-o", "name"],
                           capture_output=True, text=True, check=True).stdout
    assert "node/" in nodes

    # 3. An independent GET, and the nodes in the lab cluster.
    status, body = emulator.get(rid, API)
    assert status == 200 and body["properties"]["provisioningState"] == "Succeeded"
    assert body["sku"]["tier"] == "Standard" and body["tags"] == {"env": "lab"}
    assert body["properties"]["networkProfile"]["networkPluginMode"] == "overlay"
    system_nodes, app_nodes = _nodes(kubectl, "sysit", label), _nodes(kubectl, "appit", label)
    assert len(system_nodes) == 1 and len(app_nodes) == 2
    assert system_nodes[0]["spec"]["taints"][0]["key"] == "CriticalAddonsOnly"
    assert {n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in app_nodes} == {
        "westeurope-1", "westeurope-2"}
    assert all(n["metadata"]["labels"]["odoo-saas.platform/tier"] == "shared" for n in app_nodes)

    # 4. A second run changes nothing: one GET of the cluster, the credential call, and no write. This one as a
    # module process, as on a host that is not this controller with its Python.
    before = len(emulator.requests(name))
    again = run_task("aks_cluster", cluster, verbosity=3, via="module")
    assert again["changed"] is False and again["actions"] == [], again
    assert "AnsiballZ_aks_cluster.py" in again.output and kubeconfig[-40:] not in again.output
    made = emulator.requests(name)[before:]
    assert [r[0] for r in made] == ["GET", "POST"], made
    assert made[1][1].endswith("/listClusterUserCredential")

    # 5. Updates in place: scale a pool, add a tainted dedicated pool, turn autoscaling on.
    dedicated = {"name": "dedit", "vm_size": "Standard_E4ds_v5", "count": 1,
                 "node_labels": {"odoo-saas.platform/tenant": "acme"},
                 "node_taints": ["odoo-saas.platform/tenant=acme:NoSchedule"]}
    scaled = dict(cluster, node_pools=[SYSTEM, dict(APP, count=3), dedicated])
    updated = run_task("aks_cluster", scaled, diff=True)
    assert updated["changed"] is True and updated["actions"] == ["update pool appit: count", "add pool dedit"]
    assert updated["diff"]["before"]["node_pools"]["appit"]["count"] == 2
    assert updated["diff"]["after"]["node_pools"]["appit"]["count"] == 3
    assert len(_nodes(kubectl, "appit", label)) == 3
    ded_nodes = _nodes(kubectl, "dedit", label)
    assert len(ded_nodes) == 1 and ded_nodes[0]["spec"]["taints"][0]["value"] == "acme"
    pools = {p["name"]: p for p in emulator.get(rid, API)[1]["properties"]["agentPoolProfiles"]}
    assert pools["appit"]["count"] == 3 and pools["dedit"]["nodeTaints"] == dedicated["node_taints"]

    autoscaled = dict(scaled, node_pools=[SYSTEM, dict(APP, count=None, enable_auto_scaling=True, min_count=2,
                                                       max_count=6), dedicated])
    assert run_task("aks_cluster", autoscaled)["changed"] is True
    pool = emulator.get(f"{rid}/agentPools/appit", API)[1]["properties"]
    assert pool["enableAutoScaling"] is True and pool["count"] == 3  # the live count is kept
    assert run_task("aks_cluster", autoscaled)["changed"] is False

    # 6. A fixed field is refused without a write; with allow_pool_replacement the pool is replaced.
    writes = len(emulator.writes(name))
    bigger = dict(autoscaled, node_pools=[SYSTEM, autoscaled["node_pools"][1],
                                          dict(dedicated, vm_size="Standard_E8ds_v5")])
    refused = run_task("aks_cluster", bigger)
    assert refused.get("failed") and "node_pools[dedit].vm_size" in refused["msg"], refused
    assert len(emulator.writes(name)) == writes
    replaced = run_task("aks_cluster", dict(bigger, allow_pool_replacement=True))
    assert replaced["actions"] == ["add pool deditrp to stand in for dedit", "delete pool dedit (replaced: vm_size)",
                                   "add pool dedit with its new vm_size", "delete stand-in pool deditrp"], replaced
    pools = {p["name"]: p for p in emulator.get(rid, API)[1]["properties"]["agentPoolProfiles"]}
    assert pools["dedit"]["vmSize"] == "Standard_E8ds_v5" and "deditrp" not in pools
    assert [n["metadata"]["labels"]["node.kubernetes.io/instance-type"] for n in _nodes(kubectl, "dedit", label)] \
        == ["Standard_E8ds_v5"]

    # 7. Purge removes the pool that is no longer listed, and its nodes.
    purged = run_task("aks_cluster", dict(autoscaled, node_pools=autoscaled["node_pools"][:2], purge_node_pools=True))
    assert purged["actions"] == ["delete pool dedit (not in node_pools)"], purged
    assert _nodes(kubectl, "dedit", label) == []

    # 8. state=absent: check mode first, then the real deletion; the nodes go with the cluster.
    gone = dict(cluster, state="absent")
    assert run_task("aks_cluster", gone, check=True)["changed"] is True and emulator.get(rid, API)[0] == 200
    assert run_task("aks_cluster", gone)["changed"] is True
    assert emulator.get(rid, API)[0] == 404 and _nodes(kubectl, "sysit", label) == []
    assert run_task("aks_cluster", gone)["changed"] is False


BAD = [
    ({"name": "bad_name-"}, "name='bad_name-'"),
    ({"kubernetes_version": "v1.34"}, "kubernetes_version='v1.34'"),
    ({"node_pools": [dict(SYSTEM, name="System1")]}, "'System1'"),
    ({"node_pools": [dict(SYSTEM, name="averylongpoolname")]}, "'averylongpoolname'"),
    ({"node_pools": [dict(SYSTEM, count=0)]}, "count=0"),
    ({"node_pools": [SYSTEM, dict(APP, count=1001)]}, "count=1001"),
    ({"node_pools": [SYSTEM, dict(APP, count=None, enable_auto_scaling=True, min_count=4, max_count=2)]},
     "min_count=4"),
    ({"node_pools": [SYSTEM, dict(APP, node_taints=["no-effect"])]}, "'no-effect'"),
    ({"node_pools": [SYSTEM, dict(APP, zones=["5"])]}, "'5'"),
    ({"node_pools": [APP]}, "mode=System"),
    ({"location": None}, "location is required"),
    ({"api_server": {"authorized_ip_ranges": ["10.0.0.0/33"]}}, "'10.0.0.0/33'"),
    ({"disable_local_accounts": True}, "needs entra"),
    ({"network_profile": {"pod_cidr": "10.0.0.0/8", "service_cidr": "10.0.0.0/16"}}, "overlaps"),
]


def test_bad_input_is_refused_before_any_write(lab, resource_group, emulator):  # noqa: F811  pylint: disable=redefined-outer-name
    base = dict(module_args(lab), resource_group=resource_group, name=f"aks-bad-{uuid.uuid4().hex[:6]}",
                location="westeurope", node_pools=[SYSTEM])
    # One playbook, one task per bad input (each task fails on its own, ignore_errors): one Ansible start-up.
    results = run_tasks("aks_cluster", [dict(base, **overrides) for overrides, _needle in BAD])
    for (overrides, needle), result in zip(BAD, results):
        assert result.get("failed") and needle in result["msg"], (overrides, result)
    for name in {base["name"]} | {overrides["name"] for overrides, _needle in BAD if overrides.get("name")}:
        assert emulator.writes(name) == [], name


def test_throttling_is_retried_and_a_permanent_error_carries_arms_code(lab, resource_group, emulator):  # noqa: F811  pylint: disable=redefined-outer-name
    name = f"aks-flt-{uuid.uuid4().hex[:6]}"
    args = dict(module_args(lab), resource_group=resource_group, name=name, location="westeurope",
                node_pools=[SYSTEM])
    emulator.fault(f"/managedClusters/{name}", 429, count=1, method="GET", retry_after=1)
    planned = run_task("aks_cluster", args, check=True)
    assert planned["changed"] is True and not planned.get("failed"), planned
    assert [r[2] for r in emulator.requests(name) if r[0] == "GET"][:2] == [429, 404]

    emulator.fault(f"/managedClusters/{name}", 400, count=1, method="PUT", code="InvalidTemplateDeployment")
    failed = run_task("aks_cluster", args)
    assert failed.get("failed") and "InvalidTemplateDeployment" in failed["msg"], failed
    assert failed["resource_id"].endswith(f"/managedClusters/{name}") and failed["status_code"] == 400
    assert [r[2] for r in emulator.requests(name) if r[0] == "PUT"] == [400]  # not retried


def test_entra_only_cluster_wait_false_and_maintenance_window(lab, resource_group, emulator, tmp_path):  # noqa: F811  pylint: disable=redefined-outer-name
    import base64  # pylint: disable=import-outside-toplevel
    import yaml  # pylint: disable=import-outside-toplevel

    name = f"aks-ent-{uuid.uuid4().hex[:6]}"
    rid = f"/subscriptions/{lab['arm']['subscription_id']}/resourceGroups/{resource_group}/providers/" \
          f"Microsoft.ContainerService/managedClusters/{name}"
    path = str(tmp_path / "entra.kubeconfig")
    args = dict(module_args(lab), resource_group=resource_group, name=name, location="westeurope",
                node_pools=[SYSTEM], entra={"admin_group_object_ids": ["00000000-0000-4000-8000-000000000001"],
                                            "azure_rbac": True},
                disable_local_accounts=True, kubeconfig={"path": path, "credential": "entra_token"})

    # wait=false returns at once, with the operation still running.
    started = run_task("aks_cluster", dict(args, wait=False, kubeconfig=None))
    assert started["changed"] is True and started["aks_cluster"]["provisioning_state"] == "Creating", started

    # The next run finds nothing to change and writes a kubeconfig with an Entra token instead of kubelogin.
    settled = run_task("aks_cluster", args)
    assert settled["changed"] is True and settled["actions"] == [], settled  # only the kubeconfig was written
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    user = config["users"][0]["user"]
    assert set(user) == {"token"} and "exec" not in str(config)
    claims = user["token"].split(".")[1]
    claims = yaml.safe_load(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert claims["aud"] == "6dae42f8-4368-4678-94ff-3960e28e3630"
    assert user["token"] not in settled.output
    # The lab apiserver checks Entra tokens through the guard webhook, as AKS does: the kubeconfig logs in as the
    # module's service principal (its object id).
    whoami = subprocess.run([lab["kubernetes"]["kubectl"], "--kubeconfig", path, "auth", "whoami", "-o", "json"],
                            capture_output=True, text=True, check=True)
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == lab["arm"]["client_id"]
    again = run_task("aks_cluster", args)
    assert again["changed"] is False, again  # the token is kept while it is valid for 15 more minutes

    # The admin credential is refused before any call: local accounts are off.
    refused = run_task("aks_cluster", dict(args, kubeconfig={"path": path, "credential": "admin"}))
    assert refused.get("failed") and "credential=admin" in refused["msg"]

    # The auto-upgrade maintenance window: set once, then left alone.
    window = {"day_of_week": "Sunday", "start_time": "02:00", "duration_hours": 4}
    updated = run_task("aks_cluster", dict(args, maintenance_window=window))
    assert updated["actions"] == ["set maintenance_window"], updated
    status, body = emulator.get(f"{rid}/maintenanceConfigurations/aksManagedAutoUpgradeSchedule", API)
    assert status == 200 and body["properties"]["maintenanceWindow"]["startTime"] == "02:00"
    assert body["properties"]["maintenanceWindow"]["schedule"]["weekly"]["dayOfWeek"] == "Sunday"
    writes = len(emulator.writes(name))
    assert run_task("aks_cluster", dict(args, maintenance_window=window))["changed"] is False
    assert len(emulator.writes(name)) == writes
    assert run_task("aks_cluster", dict(args, state="absent"))["changed"] is True
