"""The tenant renderer and the converge logic, without a cluster."""

import copy

import pytest

from ansible_collections.odoo_saas.platform.plugins.module_utils import _kube, _odoo
from ansible_collections.odoo_saas.platform.plugins.module_utils._common import InputError

SPEC = {
    "name": "acme", "namespace": None, "tier": "shared", "node_pool": None, "cost_centre": "retail",
    "odoo_version": "17.0", "image": "odoo", "image_tag": None, "workers": 2, "max_cron_threads": 1,
    "db_maxconn": 8, "web_replicas": 2, "cron_replicas": 1,
    "web_resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1536Mi"}},
    "cron_resources": {"requests": {"cpu": "100m", "memory": "384Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    "quota": {"cpu": "4", "memory": "8Gi"}, "limit_memory_soft": 1, "limit_memory_hard": 2, "limit_time_cpu": 60,
    "limit_time_real": 120, "database": {"host": "pg", "port": 5432, "name": "acme", "user": "acme",
                                         "password": "secret-db"},
    "redis": {"host": "redis", "port": 6379, "user": "acme", "prefix": "acme:", "password": "secret-redis"},
    "admin_passwd": None, "filestore": {"storage_class": "azurefile-csi-premium", "size": "10Gi"},
    "autoscale": None, "upgrade_modules": "all", "ingress_namespace": "traefik",
    "hosts": ["acme.example.com"], "tls": {"cert_resolver": "le"}, "entry_point": "websecure",
    "http_entry_point": "web", "rate_limit": {"average": 50, "burst": 100}, "max_body_bytes": 1 << 27,
}


@pytest.mark.parametrize("version, path, key", [("15.0", "/longpolling/", "longpolling_port"),
                                                ("16.0", "/websocket", "gevent_port"),
                                                ("19.0", "/websocket", "gevent_port")])
def test_version_table_drives_ports_and_routes(version, path, key):
    spec = dict(SPEC, odoo_version=version)
    conf = next(o for o in _odoo.render(spec, version) if o["metadata"]["name"] == "odoo-conf")
    assert f"{key} = 8072" in conf["data"]["odoo.conf"]
    route = next(o for o in _odoo.routes(spec, version) if o["metadata"]["name"] == "odoo")
    assert any(f"PathPrefix(`{path}`)" in r["match"] and r["services"][0]["port"] == 8072
               for r in route["spec"]["routes"])


def test_no_secret_in_the_configmaps_and_deployments():
    text = str(_odoo.render(SPEC, "17.0"))
    assert "secret-db" not in text and "secret-redis" not in text


def test_shared_and_dedicated_placement():
    objects = _odoo.render(SPEC, "17.0")
    web = next(o for o in objects if o["metadata"]["name"] == "odoo-web")
    assert web["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.azure.com/agentpool": "web"}
    dedicated = dict(SPEC, tier="dedicated", node_pool="acme", autoscale={"min": 2, "max": 4, "cpu": 70})
    objects = _odoo.render(dedicated, "17.0")
    web = next(o for o in objects if o["metadata"]["name"] == "odoo-web")
    assert web["spec"]["template"]["spec"]["tolerations"][0]["value"] == "acme"
    assert any(o["kind"] == "HorizontalPodAutoscaler" for o in objects)


def _kinds(objects):
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def test_the_hpa_owns_the_web_replica_count():
    dedicated = dict(SPEC, tier="dedicated", node_pool="acme", web_replicas=1, autoscale={"min": 2, "max": 4, "cpu": 70})
    objects = _kinds(_odoo.render(dedicated, "17.0"))
    assert "replicas" not in objects["Deployment", "odoo-web"]["spec"]
    assert objects["Deployment", "odoo-cron"]["spec"]["replicas"] == 1
    assert ("PodDisruptionBudget", "odoo-web") in objects  # the HPA keeps at least 2 web pods
    suspended = _kinds(_odoo.render(dedicated, "17.0", replicas_override={"web": 0, "cron": 0}))
    assert suspended["Deployment", "odoo-web"]["spec"]["replicas"] == 0
    shared = _kinds(_odoo.render(dict(SPEC, web_replicas=1), "17.0"))
    assert shared["Deployment", "odoo-web"]["spec"]["replicas"] == 1
    assert ("PodDisruptionBudget", "odoo-web") not in shared and ("HorizontalPodAutoscaler", "odoo-web") not in shared


def test_the_database_manager_is_refused_to_every_client():
    middlewares = _kinds(_odoo.routes(SPEC, "17.0"))
    allow = middlewares["Middleware", "block-database-manager"]["spec"]["ipAllowList"]
    assert allow == {"sourceRange": ["255.255.255.255/32"], "rejectStatusCode": 403}


def test_init_job_skips_demo_data_where_the_version_needs_it():
    assert "--without-demo=all" in _odoo.job(SPEC, "17.0", "init")["spec"]["template"]["spec"]["containers"][0]["args"]
    args19 = _odoo.job(dict(SPEC, odoo_version="19.0"), "19.0", "init")["spec"]["template"]["spec"]["containers"][0]
    assert "--without-demo=all" not in args19["args"] and "-i" in args19["args"]


@pytest.mark.parametrize("change, fragment", [
    ({"odoo_version": "14.0"}, "is not supported"),
    ({"name": "Acme"}, "is not a DNS label"),
    ({"workers": 0}, "workers=0 is invalid"),
    ({"tier": "dedicated"}, "needs node_pool"),
    ({"web_resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "500m"}}}, "above its limit"),
    ({"autoscale": {"min": 2, "max": 4, "cpu": 70}}, "only dedicated tenants get an HPA"),
    ({"tier": "dedicated", "node_pool": "acme", "autoscale": {"min": 3, "max": 2, "cpu": 70}},
     "autoscale min=3, max=2 is invalid"),
    ({"tier": "dedicated", "node_pool": "acme", "autoscale": {"min": 0, "max": 2, "cpu": 70}},
     "autoscale min=0, max=2 is invalid"),
    ({"tier": "dedicated", "node_pool": "acme", "autoscale": {"min": 1, "max": 2, "cpu": 0}},
     "autoscale.cpu=0 is out of range"),
])
def test_validation(change, fragment):
    with pytest.raises(InputError) as caught:
        _odoo.validate(dict(SPEC, **change))
    assert fragment in caught.value.msg


@pytest.mark.parametrize("hosts, fragment", [(["*.acme.com"], "wildcard"), (["a..b"], "not a DNS name"),
                                             (["x.com", "x.com"], "twice"), ([], "empty")])
def test_hosts(hosts, fragment):
    with pytest.raises(InputError) as caught:
        _odoo.check_hosts(hosts)
    assert fragment in caught.value.msg


def test_subset_compare_ignores_server_defaults_but_not_drift():
    desired = {"spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "odoo", "image": "odoo:17.0"}]}}}}
    live = copy.deepcopy(desired)
    live["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-log"
    live["status"] = {"replicas": 1}
    assert _kube.subset(desired, live)
    live["spec"]["replicas"] = 3
    assert not _kube.subset(desired, live)


def test_hash_annotation_changes_with_the_desired_object():
    obj = {"kind": "ConfigMap", "metadata": {"name": "x", "namespace": "n"}, "data": {"a": "1"}}
    first = _kube.with_hash(obj)["metadata"]["annotations"][_kube.HASH_ANNOTATION]
    assert _kube.with_hash(obj)["metadata"]["annotations"][_kube.HASH_ANNOTATION] == first
    obj["data"]["a"] = "2"
    assert _kube.with_hash(obj)["metadata"]["annotations"][_kube.HASH_ANNOTATION] != first


def test_secret_values_are_masked_in_diffs():
    obj = {"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"db_password": "hunter2"}}
    assert _kube._redact(obj)["stringData"] == {"db_password": "********"}  # pylint: disable=protected-access


@pytest.mark.parametrize("running, wanted", [(None, "15.0"), ("16.0", "16.0"), ("16.0", "17.0"), ("9.0", "15.0"),
                                             ("17.0", "19.0")])
def test_a_tenant_moves_to_the_same_or_a_newer_version(running, wanted):
    _odoo.check_not_older(running, wanted)


def test_a_tenant_never_moves_to_an_older_version():
    with pytest.raises(InputError, match=r"odoo_version='16.0' is older than the 17.0 the tenant runs"):
        _odoo.check_not_older("17.0", "16.0")
