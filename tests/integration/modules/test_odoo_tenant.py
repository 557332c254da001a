"""odoo_tenant and traefik_route against the lab's real control plane and Traefik.

Every check reads back from the API server or from Traefik's API.
"""

import base64
import http.client
import json
import socket
import ssl
import urllib.request
import uuid

import pytest
from kubernetes import client

from integration.ansible_task import run_task, run_tasks

DB_PASSWORD = "Db-" + uuid.uuid4().hex


def _tenant_args(lab, name, version="17.0", **extra):
    args = {"kubeconfig": lab["kubernetes"]["kubeconfig"], "name": name, "odoo_version": version,
            "database": {"host": "10.1.0.4", "port": 5432, "name": name, "user": name, "password": DB_PASSWORD},
            "redis": {"host": "10.1.0.5", "port": 6379, "user": name, "prefix": f"{name}:", "password": "redis-pw"},
            "filestore": {"storage_class": ""}, "wait_timeout": 180}
    args.update(extra)
    return args


@pytest.fixture
def tenant(kube, lab):
    name = f"t{uuid.uuid4().hex[:8]}"
    yield name
    run_task("odoo_tenant", dict(_tenant_args(lab, name), state="absent"))


def _ns(kube, name):
    try:
        return client.CoreV1Api(kube).read_namespace(f"odoo-{name}")
    except client.ApiException as exc:
        assert exc.status == 404
        return None


def test_tenant_lifecycle(kube, lab, tenant):
    args = _tenant_args(lab, tenant)
    planned = run_task("odoo_tenant", args, check=True, diff=True)
    assert planned["changed"] is True and f"Namespace/odoo-{tenant}" in planned["changed_objects"]
    assert planned["api_writes"] == 0 and _ns(kube, tenant) is None
    assert DB_PASSWORD not in json.dumps(planned["diff"])

    created = run_task("odoo_tenant", args, diff=True, verbosity=3)
    assert created["changed"] is True, created.get("msg")
    assert DB_PASSWORD not in created.output and "redis-pw" not in created.output
    status = created["tenant"]
    assert status["web_replicas"] == {"desired": 1, "ready": 1} and status["cron_replicas"]["ready"] == 1
    assert status["jobs"][0]["name"] == "odoo-init-17-0" and status["jobs"][0]["complete"] is True

    # read back from the API server
    core, apps, batch = client.CoreV1Api(kube), client.AppsV1Api(kube), client.BatchV1Api(kube)
    ns = f"odoo-{tenant}"
    labels = _ns(kube, tenant).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["odoo-saas.platform/tenant"] == tenant and labels["odoo-saas.platform/tier"] == "shared"
    assert labels["odoo-saas.platform/cost-centre"] == tenant
    conf = core.read_namespaced_config_map("odoo-conf", ns).data["odoo.conf"]
    for line in ("proxy_mode = True", "list_db = False", f"dbfilter = ^{tenant}$", "gevent_port = 8072",
                 "workers = 2"):
        assert line in conf, line
    assert DB_PASSWORD not in conf and "admin_passwd" not in conf
    secret = core.read_namespaced_secret("odoo-secrets", ns).data
    assert base64.b64decode(secret["db_password"]).decode() == DB_PASSWORD
    admin_passwd = secret["admin_passwd"]
    assert core.read_namespaced_resource_quota("tenant", ns).spec.hard["requests.cpu"] == "4"
    policies = {p.metadata.name for p in client.NetworkingV1Api(kube).list_namespaced_network_policy(ns).items}
    assert policies == {"default-deny", "allow-traefik", "allow-egress"}
    assert batch.read_namespaced_job("odoo-init-17-0", ns).status.succeeded == 1
    web = apps.read_namespaced_deployment("odoo-web", ns)
    assert web.spec.template.spec.containers[0].args == ["-c", "/etc/odoo/odoo.conf", "--max-cron-threads=0"]
    assert web.spec.template.spec.containers[0].readiness_probe.http_get.path == "/web/health"
    assert web.spec.template.spec.containers[0].liveness_probe.http_get.path == "/web/health"
    assert status["image"] == "odoo:17.0" and f"Deployment/{ns}/odoo-web" in status["objects"]
    service = core.read_namespaced_service("odoo", ns)
    assert {(p.name, p.port) for p in service.spec.ports} == {("http", 8069), ("websocket", 8072)}
    assert service.spec.selector == {"app.kubernetes.io/instance": tenant, "app.kubernetes.io/component": "web"}
    limits = core.read_namespaced_limit_range("tenant", ns).spec.limits[0]
    assert limits.type == "Container" and limits.default_request == {"cpu": "100m", "memory": "256Mi"}
    # what we apply is ours: server-side apply under our field manager
    managers = {(m.manager, m.operation) for m in core.read_namespaced_config_map("odoo-conf", ns).metadata.managed_fields}
    assert ("odoo_saas.platform", "Apply") in managers
    cron = apps.read_namespaced_deployment("odoo-cron", ns)
    assert "--no-http" in cron.spec.template.spec.containers[0].args
    for pod in core.list_namespaced_pod(ns, label_selector="app.kubernetes.io/component=web").items:
        assert pod.spec.node_name.startswith("aks-web-")
    for pod in core.list_namespaced_pod(ns, label_selector="app.kubernetes.io/component=cron").items:
        assert pod.spec.node_name.startswith("aks-worker-")

    # a second run: nothing to do, and not one write reaches the API server
    again = run_task("odoo_tenant", args, diff=True)
    assert again["changed"] is False and again["api_writes"] == 0 and again["changed_objects"] == []
    assert core.read_namespaced_secret("odoo-secrets", ns).data["admin_passwd"] == admin_passwd

    # the quota it wrote is enforced, and so is Pod Security restricted
    def pod(name, cpu, **security):
        context = {"runAsNonRoot": True, "runAsUser": 1000, "allowPrivilegeEscalation": False,
                   "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
        context.update(security)
        return {"metadata": {"name": name}, "spec": {"containers": [{
            "name": "c", "image": "busybox", "securityContext": context,
            "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}, "limits": {"cpu": cpu, "memory": "64Mi"}}}]}}

    with pytest.raises(client.ApiException) as over_quota:
        core.create_namespaced_pod(ns, pod("too-big", "5"))
    assert over_quota.value.status == 403 and "exceeded quota: tenant" in json.loads(over_quota.value.body)["message"]
    with pytest.raises(client.ApiException) as privileged:
        core.create_namespaced_pod(ns, pod("privileged", "10m", privileged=True, allowPrivilegeEscalation=True))
    assert privileged.value.status == 403
    assert 'violates PodSecurity "restricted:latest"' in json.loads(privileged.value.body)["message"]

    # check mode and diff mode on a change: the API server's dry run, the managed fields only, nothing written
    planned = run_task("odoo_tenant", dict(args, workers=3), check=True, diff=True)
    assert planned["changed"] is True and planned["api_writes"] == 0
    assert f"ConfigMap/{ns}/odoo-conf" in planned["changed_objects"]
    before, after = (planned["diff"][k][f"ConfigMap/{ns}/odoo-conf"] for k in ("before", "after"))
    assert "workers = 2" in before["data"]["odoo.conf"] and "workers = 3" in after["data"]["odoo.conf"]
    web_after = planned["diff"]["after"][f"Deployment/{ns}/odoo-web"]
    assert "status" not in web_after and "managedFields" not in web_after["metadata"]
    assert "workers = 2" in core.read_namespaced_config_map("odoo-conf", ns).data["odoo.conf"]

    # suspended: scaled to 0, everything else kept; present again brings it back
    suspended = run_task("odoo_tenant", dict(args, state="suspended"))
    assert suspended["changed"] and suspended["tenant"]["web_replicas"]["desired"] == 0
    assert apps.read_namespaced_deployment("odoo-cron", ns).spec.replicas == 0
    assert core.read_namespaced_config_map("odoo-conf", ns)
    resumed = run_task("odoo_tenant", args)
    assert resumed["changed"] and resumed["tenant"]["web_replicas"] == {"desired": 1, "ready": 1}

    # absent: the namespace is deleted and the task waits until it is gone
    planned_removal = run_task("odoo_tenant", dict(args, state="absent"), check=True)
    assert planned_removal["changed"] and _ns(kube, tenant) is not None
    removed = run_task("odoo_tenant", dict(args, state="absent"))
    assert removed["changed"] is True and _ns(kube, tenant) is None
    assert run_task("odoo_tenant", dict(args, state="absent"))["changed"] is False


def test_a_migrated_database_is_not_initialised_again(kube, lab, tenant):
    """init_database: false (a migration or a restore): no init Job, the namespace is marked initialised."""
    args = _tenant_args(lab, tenant, version="16.0", init_database=False)
    created = run_task("odoo_tenant", args)
    assert created["changed"] and created["tenant"]["jobs"] == [], created.get("msg")
    ns = f"odoo-{tenant}"
    assert client.BatchV1Api(kube).list_namespaced_job(ns).items == []
    annotations = _ns(kube, tenant).metadata.annotations
    assert annotations["odoo-saas.platform/initialised-version"] == "16.0"
    assert client.AppsV1Api(kube).read_namespaced_deployment("odoo-web", ns).status.ready_replicas == 1
    again = run_task("odoo_tenant", args)
    assert again["changed"] is False and again["api_writes"] == 0


def test_a_timeout_fails_with_what_was_written(kube, lab, tenant):
    """Web pods no node can hold stay Pending: the wait times out, and the failure says what was written."""
    big = {"requests": {"cpu": "60", "memory": "1Gi"}, "limits": {"cpu": "60", "memory": "1Gi"}}
    quota = {"cpu": "80", "memory": "8Gi", "limits.cpu": "80", "limits.memory": "16Gi", "pods": "20"}
    args = _tenant_args(lab, tenant, web_resources=big, quota=quota, wait_timeout=15)
    failed = run_task("odoo_tenant", args)
    assert failed["failed"] is True and "timed out after 15s waiting for Deployment" in failed["msg"], failed.get("msg")
    assert failed["state"]["replicas"] == 1 and failed["state"]["ready"] == 0 and failed["state"]["available"] == 0
    assert failed["changed"] is True and failed["api_writes"] > 0
    assert f"Deployment/odoo-{tenant}/odoo-web" in failed["changed_objects"]
    assert failed["jobs"][0]["name"] == "odoo-init-17-0" and failed["jobs"][0]["complete"] is True
    pods = client.CoreV1Api(kube).list_namespaced_pod(f"odoo-{tenant}", label_selector="app.kubernetes.io/component=web")
    assert [p.status.phase for p in pods.items] == ["Pending"]


def test_version_upgrade_runs_the_upgrade_job_in_order(kube, lab, tenant):
    args = _tenant_args(lab, tenant, version="16.0")
    assert run_task("odoo_tenant", args)["changed"]
    conf = client.CoreV1Api(kube).read_namespaced_config_map("odoo-conf", f"odoo-{tenant}").data["odoo.conf"]
    assert "gevent_port = 8072" in conf
    upgraded = run_task("odoo_tenant", dict(args, odoo_version="17.0"))
    assert upgraded["changed"] is True, upgraded.get("msg")
    order = upgraded["changed_objects"]
    cron_stop = order.index(f"Deployment/odoo-{tenant}/odoo-cron")
    job = order.index(f"Job/odoo-{tenant}/odoo-upgrade-17-0")
    web = order.index(f"Deployment/odoo-{tenant}/odoo-web")
    assert cron_stop < job < web < len(order) - 1 - order[::-1].index(f"Deployment/odoo-{tenant}/odoo-cron")
    apps = client.AppsV1Api(kube)
    assert apps.read_namespaced_deployment("odoo-web", f"odoo-{tenant}").spec.template.spec.containers[0].image \
        == "odoo:17.0"
    assert apps.read_namespaced_deployment("odoo-cron", f"odoo-{tenant}").spec.replicas == 1
    job = client.BatchV1Api(kube).read_namespaced_job("odoo-upgrade-17-0", f"odoo-{tenant}")
    assert job.status.succeeded == 1 and "-u" in job.spec.template.spec.containers[0].args
    # read back from the API server too: the 17.0 web pods were created after the upgrade Job had finished
    sets = apps.list_namespaced_replica_set(f"odoo-{tenant}", label_selector="app.kubernetes.io/component=web").items
    new_set = next(r for r in sets if r.spec.template.spec.containers[0].image == "odoo:17.0")
    assert new_set.metadata.creation_timestamp >= job.status.completion_time
    # The re-run checks writes only: the web pod's readiness after the roll was checked above, and in this lab
    # a rolled kwok pod has at times been reported unready again later (an open question, see the README).
    again = run_task("odoo_tenant", dict(args, odoo_version="17.0", wait=False))
    assert again.get("api_writes") == 0 and again["changed"] is False, again.get("msg")
    # Odoo moves a database forward only: back to 16.0 is refused, before any write
    back = run_task("odoo_tenant", dict(args, wait=False))
    assert back["failed"] and "odoo_version='16.0' is older than the 17.0 the tenant runs" in back["msg"]
    jobs = [j.metadata.name for j in client.BatchV1Api(kube).list_namespaced_job(f"odoo-{tenant}").items]
    assert not back.get("api_writes") and "odoo-upgrade-16-0" not in jobs
    assert apps.read_namespaced_deployment("odoo-web", f"odoo-{tenant}").spec.template.spec.containers[0].image \
        == "odoo:17.0"


def test_failed_upgrade_leaves_the_old_version_serving(kube, lab, tenant):
    # The lab's kwok fails Job pods whose image tag ends in -failing-upgrade (see lab/lablib/kube.py).
    args = _tenant_args(lab, tenant, version="16.0")
    assert run_task("odoo_tenant", args)["changed"]
    failed = run_task("odoo_tenant", dict(args, odoo_version="17.0", image_tag="17.0-failing-upgrade"))
    assert failed["failed"] is True and "odoo-upgrade-17-0" in failed["msg"] and "failed" in failed["msg"]
    assert failed["jobs"][-1]["failed"] == 1
    apps = client.AppsV1Api(kube)
    web = apps.read_namespaced_deployment("odoo-web", f"odoo-{tenant}")
    assert web.spec.template.spec.containers[0].image == "odoo:16.0" and web.status.ready_replicas == 1
    cron = apps.read_namespaced_deployment("odoo-cron", f"odoo-{tenant}")
    assert cron.spec.replicas == 1 and cron.spec.template.spec.containers[0].image == "odoo:16.0"

    # Fixed (a good image): the re-run runs the upgrade again instead of finding the failed Job and giving up.
    planned = run_task("odoo_tenant", dict(args, odoo_version="17.0"), check=True)
    assert planned["changed"] and planned["api_writes"] == 0 and planned["tenant"]["jobs"][-1]["rerun_of_failed"]
    batch = client.BatchV1Api(kube)
    assert batch.read_namespaced_job("odoo-upgrade-17-0", f"odoo-{tenant}").status.failed == 1
    retried = run_task("odoo_tenant", dict(args, odoo_version="17.0"))
    assert retried["changed"] is True, retried.get("msg")
    assert retried["tenant"]["jobs"][-1]["rerun_of_failed"] is True and retried["tenant"]["jobs"][-1]["complete"]
    job = batch.read_namespaced_job("odoo-upgrade-17-0", f"odoo-{tenant}")
    assert job.status.succeeded == 1 and job.spec.template.spec.containers[0].image == "odoo:17.0"
    web = apps.read_namespaced_deployment("odoo-web", f"odoo-{tenant}")
    assert web.spec.template.spec.containers[0].image == "odoo:17.0"
    assert apps.read_namespaced_deployment("odoo-cron", f"odoo-{tenant}").spec.replicas == 1


def test_dedicated_tenant_lands_on_its_pool(kube, lab, tenant):
    core = client.CoreV1Api(kube)
    pool = "d" + tenant[1:9]
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": f"aks-{pool}-31415926-vmss000000", "annotations": {"kwok.x-k8s.io/node": "fake"},
                         "labels": {"kubernetes.azure.com/agentpool": pool, "kubernetes.azure.com/mode": "user",
                                    "kubernetes.io/os": "linux", "type": "kwok"}},
            "spec": {"taints": [{"key": "odoo-saas.platform/tenant", "value": tenant, "effect": "NoSchedule"}]},
            "status": {"allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                       "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"}}}
    missing = run_task("odoo_tenant", _tenant_args(lab, tenant, tier="dedicated", node_pool=pool))
    assert missing["failed"] and f"node_pool='{pool}' has no nodes" in missing["msg"] and _ns(kube, tenant) is None
    core.create_node(node)
    try:
        apps = client.AppsV1Api(kube)

        def replicas():
            return apps.read_namespaced_deployment("odoo-web", f"odoo-{tenant}").spec.replicas

        fixed = _tenant_args(lab, tenant, tier="dedicated", node_pool=pool, web_replicas=3)
        result = run_task("odoo_tenant", fixed)
        assert result["changed"], result.get("msg")
        assert replicas() == 3
        # The HPA takes the count over from web_replicas without a drop to the default of 1 on the way.
        args = dict(fixed, autoscale={"min": 2, "max": 3})
        result = run_task("odoo_tenant", args)
        assert result["changed"], result.get("msg")
        assert replicas() == 3
        hpa = client.AutoscalingV2Api(kube).read_namespaced_horizontal_pod_autoscaler("odoo-web", f"odoo-{tenant}")
        assert hpa.spec.min_replicas == 2 and hpa.spec.max_replicas == 3
        assert client.PolicyV1Api(kube).read_namespaced_pod_disruption_budget("odoo-web", f"odoo-{tenant}")
        # A re-run leaves the HPA's count alone: no write, no scaling back to web_replicas.
        again = run_task("odoo_tenant", args)
        assert again["changed"] is False and again["api_writes"] == 0, again.get("changed_objects")
        assert replicas() == 3
        # Suspended, then resumed: back at autoscale.min (an HPA leaves a Deployment at 0 alone), with no write on
        # the re-run after it.
        assert run_task("odoo_tenant", dict(args, state="suspended"))["changed"] and replicas() == 0
        assert run_task("odoo_tenant", args)["changed"] and replicas() == 2
        assert run_task("odoo_tenant", args)["api_writes"] == 0 and replicas() == 2
        pods = core.list_namespaced_pod(f"odoo-{tenant}", label_selector="app.kubernetes.io/instance=" + tenant).items
        assert len(pods) >= 3 and all(p.spec.node_name == node["metadata"]["name"] for p in pods)
    finally:
        run_task("odoo_tenant", dict(_tenant_args(lab, tenant), state="absent"))
        core.delete_node(node["metadata"]["name"])


def _https_status(lab, host, path):
    """The status Traefik's websecure entry point answers for `host` (SNI and Host header) and `path`."""
    address, port = lab["traefik"]["websecure"].rsplit("/", 1)[1].split(":")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the tenant's TLS secret does not exist in the lab: Traefik's default cert
    with socket.create_connection((address, int(port)), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            return int(tls.recv(64).split(b" ")[1])


def _routers(lab, namespace):
    with urllib.request.urlopen(lab["traefik"]["api"] + "/api/http/routers", timeout=5) as response:
        return [r for r in json.load(response) if r["name"].startswith(namespace + "-")]


def test_routes_lifecycle_and_host_claims(kube, lab, tenant):
    from integration.helpers import wait_for

    assert run_task("odoo_tenant", _tenant_args(lab, tenant))["changed"]
    host = f"{tenant}.example.com"
    args = {"kubeconfig": lab["kubernetes"]["kubeconfig"], "name": tenant, "odoo_version": "17.0",
            "hosts": [host], "tls": {"secret_name": f"{tenant}-tls"}}
    planned = run_task("traefik_route", args, check=True, diff=True)
    assert planned["changed"] and planned["api_writes"] == 0
    custom = client.CustomObjectsApi(kube)
    assert custom.list_namespaced_custom_object("traefik.io", "v1alpha1", f"odoo-{tenant}", "ingressroutes")[
        "items"] == []
    created = run_task("traefik_route", args)
    assert created["changed"] is True and created["api_writes"] == 8
    routes = custom.list_namespaced_custom_object("traefik.io", "v1alpha1", f"odoo-{tenant}", "ingressroutes")["items"]
    main = next(r for r in routes if r["metadata"]["name"] == "odoo")
    rules = {r["priority"]: r for r in main["spec"]["routes"]}
    assert rules[200]["match"].endswith("PathPrefix(`/websocket`)") and rules[200]["services"][0]["port"] == 8072
    assert rules[100]["services"][0]["port"] == 8069
    assert {"name": "buffering"} in rules[100]["middlewares"] and {"name": "buffering"} not in rules[200]["middlewares"]
    assert "/web/database" in rules[300]["match"]

    def enabled():
        routers = _routers(lab, f"odoo-{tenant}")
        return len(routers) == 4 and all(r["status"] == "enabled" and "error" not in r for r in routers) and routers

    wait_for(enabled, timeout=60, what="Traefik to enable the tenant's four routers")
    # Through the real Traefik: the database manager is refused to every client, loopback included, before Odoo;
    # plain HTTP on the same host is redirected to HTTPS.
    assert _https_status(lab, host, "/web/database/manager") == 403
    assert _https_status(lab, host, "/web/database/selector") == 403
    plain = http.client.HTTPConnection(*lab["traefik"]["web"].rsplit("/", 1)[1].split(":"), timeout=10)
    plain.request("GET", "/web/login", headers={"Host": host})
    answer = plain.getresponse()
    assert answer.status in (301, 308) and answer.getheader("Location") == f"https://{host}/web/login"
    plain.close()
    again = run_task("traefik_route", args)
    assert again["changed"] is False and again["api_writes"] == 0

    # another tenant may not claim the same host; nothing of it is written
    other = dict(args, name=tenant + "x", hosts=[host])
    refused = run_task("traefik_route", other)
    assert refused["failed"] and f"already claimed by tenant '{tenant}'" in refused["msg"]
    assert not refused.get("api_writes") and _routers(lab, f"odoo-{tenant}x") == []

    removed = run_task("traefik_route", dict(args, state="absent"))
    assert removed["changed"] is True
    assert custom.list_namespaced_custom_object("traefik.io", "v1alpha1", f"odoo-{tenant}", "ingressroutes")[
        "items"] == []
    wait_for(lambda: _routers(lab, f"odoo-{tenant}") == [], timeout=60, what="Traefik to drop the routers")


TENANT_BAD = [
    ({"name": "Bad_Name"}, "is not a DNS label"),
    ({"name": "a" * 41}, "longer than 40 characters"),
    ({"odoo_version": "14.0"}, "value of odoo_version must be one of"),
    ({"workers": 0}, "workers=0 is invalid"),
    ({"web_replicas": 0}, "web_replicas=0 is invalid"),
    ({"cron_replicas": -1}, "cron_replicas=-1 is negative"),
    ({"web_resources": {"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}},
     "the cpu request 2 is above its limit 1"),
    ({"cron_resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}},
     "the memory request 2Gi is above its limit 1Gi"),
    ({"tier": "dedicated"}, "tier=dedicated needs node_pool"),
    ({"tier": "dedicated", "node_pool": "Bad-Pool"}, "is not an AKS pool name"),
    ({"quota": {"cpu": "lots"}}, "is not a Kubernetes quantity"),
    ({"web_resources": {"requests": {"cpu": "1x"}, "limits": {"cpu": "2"}}}, "is not a Kubernetes quantity"),
    ({"autoscale": {"min": 2, "max": 4}}, "only dedicated tenants get an HPA"),
    ({"tier": "dedicated", "node_pool": "pool1", "autoscale": {"min": 3, "max": 2}}, "autoscale min=3, max=2 is invalid"),
]

ROUTE_BAD = [
    ({"hosts": ["not a host"]}, "is not a DNS name"),
    ({"hosts": ["*.example.com"]}, "is a wildcard"),
    ({"hosts": ["a.example.com", "a.example.com"]}, "lists a host twice"),
    ({"hosts": []}, "hosts is empty"),
    ({"tls": {"cert_resolver": "le", "secret_name": "x"}}, "mutually exclusive"),
    ({"rate_limit": {"average": 0, "burst": 1}}, "rate_limit.average=0 must be at least 1"),
    ({"name": "nosuchtenant"}, "does not exist: converge the tenant with odoo_tenant first"),
]


def test_routes_in_check_mode_before_the_namespace_exists(kube, lab):
    """A playbook in check mode: odoo_tenant would create the namespace, so traefik_route plans every object."""
    name = f"t{uuid.uuid4().hex[:8]}"
    args = {"kubeconfig": lab["kubernetes"]["kubeconfig"], "name": name, "odoo_version": "17.0",
            "hosts": [f"{name}.example.com"], "tls": {"cert_resolver": "le"}}
    planned = run_task("traefik_route", args, check=True, diff=True)
    assert planned["changed"] is True and planned["api_writes"] == 0, planned.get("msg")
    assert len(planned["changed_objects"]) == 8 and f"IngressRoute/odoo-{name}/odoo" in planned["changed_objects"]
    assert planned["diff"]["before"][f"IngressRoute/odoo-{name}/odoo"] is None
    assert _ns(kube, name) is None


def test_bad_input_is_refused_before_any_write(kube, lab):
    name = f"bad{uuid.uuid4().hex[:6]}"
    results = run_tasks("odoo_tenant", [dict(_tenant_args(lab, name), **bad) for bad, _m in TENANT_BAD])
    for (bad, message), result in zip(TENANT_BAD, results):
        assert result.get("failed") is True and message in result["msg"], (bad, result.get("msg"))
        assert not result.get("api_writes")
    namespaces = [n.metadata.name for n in client.CoreV1Api(kube).list_namespace().items]
    assert not [n for n in namespaces if name in n or "a" * 41 in n]
    base = {"kubeconfig": lab["kubernetes"]["kubeconfig"], "name": name, "odoo_version": "17.0",
            "hosts": [f"{name}.example.com"], "tls": {"cert_resolver": "le"}}
    results = run_tasks("traefik_route", [dict(base, **bad) for bad, _m in ROUTE_BAD])
    for (bad, message), result in zip(ROUTE_BAD, results):
        assert result.get("failed") is True and message in result["msg"], (bad, result.get("msg"))
    routes = client.CustomObjectsApi(kube).list_cluster_custom_object("traefik.io", "v1alpha1", "ingressroutes")
    assert not [r for r in routes["items"] if name in r["metadata"]["namespace"]]


def test_tenant_info_reads_what_the_api_server_holds(kube, lab, tenant):
    info_args = {"kubeconfig": lab["kubernetes"]["kubeconfig"], "name": tenant}
    before = run_task("odoo_tenant_info", info_args)
    planned = run_task("odoo_tenant_info", info_args, check=True)
    for result in (before, planned):
        assert result["changed"] is False and result["exists"] is False, result.get("msg")
        assert result["version"] == "" and result["namespace"] == f"odoo-{tenant}"
        assert result["workloads"]["web"]["exists"] is False

    created = run_task("odoo_tenant", _tenant_args(lab, tenant))
    assert created["changed"] is True, created.get("msg")
    apps = client.AppsV1Api(kube)
    cron = apps.read_namespaced_deployment("odoo-cron", f"odoo-{tenant}")
    apps.patch_namespaced_deployment_scale("odoo-cron", f"odoo-{tenant}", {"spec": {"replicas": 0}})

    info = run_task("odoo_tenant_info", info_args, check=True, verbosity=3)
    assert info["changed"] is False and info["exists"] is True, info.get("msg")
    annotations = _ns(kube, tenant).metadata.annotations
    assert info["annotations"] == annotations and info["version"] == "17.0"
    assert annotations["odoo-saas.platform/initialised-version"] == "17.0"
    web = apps.read_namespaced_deployment("odoo-web", f"odoo-{tenant}")
    assert info["workloads"]["web"] == {"exists": True, "replicas": 1, "ready_replicas": web.status.ready_replicas,
                                        "image": web.spec.template.spec.containers[0].image, "odoo_version": "17.0"}
    assert web.status.ready_replicas == 1
    assert info["workloads"]["cron"]["replicas"] == 0  # scaled down through the API above
    assert info["workloads"]["cron"]["image"] == cron.spec.template.spec.containers[0].image
    # The same read as a module (any host but a local one with the controller's Python), and the worker's run
    # started none.
    as_module = run_task("odoo_tenant_info", info_args, check=True, verbosity=3, via="module")
    assert "AnsiballZ_odoo_tenant_info.py" in as_module.output and "AnsiballZ_odoo_tenant_info" not in info.output
    assert {key: value for key, value in as_module.items() if key != "invocation"} == info

    for via in ("worker", "module"):
        missing = run_task("odoo_tenant_info", dict(info_args, kubeconfig="/nonexistent/kubeconfig"), via=via)
        assert missing.get("failed") is True and "/nonexistent/kubeconfig" in missing["msg"], via
    unknown = run_task("odoo_tenant_info", dict(info_args, replicas=2))
    assert unknown.get("failed") is True and "replicas" in unknown["msg"], unknown
