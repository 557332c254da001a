"""redis_cache against the lab's real Redis: check mode, the real run, a read-back with redis-cli,
a second run without ACL writes, isolation between tenants, and state=absent."""

import base64
import subprocess
import uuid

import pytest
import redis

from integration.ansible_task import run_task, run_tasks

SECRET = "R3dis-" + uuid.uuid4().hex
# These tests count the server's ACL writes (MONITOR does not show ACL commands), so they run alone.
pytestmark = pytest.mark.serial


@pytest.fixture
def admin(lab):
    r = lab["redis"]
    return {"login_host": r["host"], "login_port": r["port"], "login_user": r["user"], "login_password": r["password"]}


@pytest.fixture
def client(lab):
    r = lab["redis"]
    conn = redis.Redis(host=r["host"], port=r["port"], username=r["user"], password=r["password"],
                       decode_responses=True)
    yield conn
    conn.close()


@pytest.fixture
def tenant(client):
    name = f"t-{uuid.uuid4().hex[:8]}"
    yield name
    client.acl_deluser(name)
    for key in client.scan_iter(match=f"{name}:*"):
        client.delete(key)


def _cli(lab, *args):
    r = lab["redis"]
    out = subprocess.run(["redis-cli", "-h", r["host"], "-p", str(r["port"]), "--user", r["user"], "--pass",
                          r["password"], "--no-auth-warning", *args], capture_output=True, text=True, check=True)
    return out.stdout


def _setuser_calls(client):
    return client.info("commandstats").get("cmdstat_acl|setuser", {}).get("calls", 0)


# In the worker (plugins/plugin_utils/_in_process.py, which tenants use) and as a module (any other host).
@pytest.mark.parametrize("via", ["worker", "module"])
def test_lifecycle(admin, tenant, client, lab, via):
    args = dict(admin, user=tenant, password=SECRET)
    planned = run_task("redis_cache", args, check=True, diff=True, via=via)
    assert planned["changed"] is True and planned["commands"][0].startswith(f"ACL SETUSER {tenant} reset on #****")
    assert client.acl_getuser(tenant) is None

    created = run_task("redis_cache", args, diff=True, verbosity=3, via=via)
    assert created["changed"] is True, created
    assert ("AnsiballZ_redis_cache.py" in created.output) is (via == "module"), created.output
    assert SECRET not in created.output and SECRET not in str(created["commands"])
    assert created["redis"] == {"host": admin["login_host"], "port": admin["login_port"], "tls": False,
                                "user": tenant, "prefix": f"{tenant}:", "db": 0}

    # read back with redis-cli
    acl = _cli(lab, "ACL", "GETUSER", tenant)
    assert f"~{tenant}:*" in acl and f"&{tenant}:*" in acl and "-@dangerous" in acl
    user = redis.Redis(host=admin["login_host"], port=admin["login_port"], username=tenant, password=SECRET)
    assert user.set(f"{tenant}:session:1", "x") and user.get(f"{tenant}:session:1") == b"x"

    calls = _setuser_calls(client)
    again = run_task("redis_cache", args, diff=True, via=via)
    assert again["changed"] is False and again["commands"] == [], again
    assert _setuser_calls(client) == calls  # not one ACL write reached the server

    rotated = run_task("redis_cache", dict(args, password=SECRET + "2"))
    assert rotated["changed"] is True
    assert redis.Redis(host=admin["login_host"], port=admin["login_port"], username=tenant,
                       password=SECRET + "2").ping()

    client.set(f"{tenant}:a", 1)
    client.set(f"{tenant}:b", 2)
    planned_removal = run_task("redis_cache", dict(admin, user=tenant, state="absent", purge_keys=True), check=True)
    assert planned_removal["changed"] and planned_removal["keys_deleted"] == 3
    assert client.acl_getuser(tenant) is not None and client.exists(f"{tenant}:a") == 1
    removed = run_task("redis_cache", dict(admin, user=tenant, state="absent", purge_keys=True))
    assert removed["changed"] is True and removed["keys_deleted"] == 3
    assert client.acl_getuser(tenant) is None and list(client.scan_iter(match=f"{tenant}:*")) == []
    assert run_task("redis_cache", dict(admin, user=tenant, state="absent"))["changed"] is False


def test_isolation_between_tenants(admin, client, lab):
    a, b = f"a-{uuid.uuid4().hex[:6]}", f"b-{uuid.uuid4().hex[:6]}"
    try:
        for name in (a, b):
            assert run_task("redis_cache", dict(admin, user=name, password=SECRET))["changed"]
        client.set(f"{b}:secret", "b's data")
        tenant_a = redis.Redis(host=admin["login_host"], port=admin["login_port"], username=a, password=SECRET)
        for attempt in (lambda: tenant_a.get(f"{b}:secret"), lambda: tenant_a.set(f"{b}:secret", "overwritten"),
                        tenant_a.flushall, tenant_a.flushdb, lambda: tenant_a.keys("*"),
                        lambda: tenant_a.config_get("maxmemory"), lambda: tenant_a.publish(f"{b}:bus", "x")):
            with pytest.raises(redis.exceptions.NoPermissionError):
                attempt()
        assert client.get(f"{b}:secret") == "b's data"
    finally:
        for name in (a, b):
            run_task("redis_cache", dict(admin, user=name, state="absent", purge_keys=True))


def test_server_memory_settings(admin, tenant, client):
    before = client.config_get("maxmemory*")
    try:
        args = dict(admin, user=tenant, password=SECRET, maxmemory="200mb", maxmemory_policy="volatile-lru")
        changed = run_task("redis_cache", args)
        assert changed["changed"] is True
        assert client.config_get("maxmemory")["maxmemory"] == str(200 * 1024 * 1024)
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "volatile-lru"
        assert run_task("redis_cache", args)["changed"] is False
    finally:
        client.config_set("maxmemory", before["maxmemory"])
        client.config_set("maxmemory-policy", before["maxmemory-policy"])


def test_an_endpoint_that_refuses_config_is_reported_clearly(admin, tenant, lab):
    # A tenant user cannot run CONFIG, exactly as a managed Redis refuses it to everyone.
    assert run_task("redis_cache", dict(admin, user=tenant, password=SECRET))["changed"]
    limited = dict(admin, login_user=tenant, login_password=SECRET)
    result = run_task("redis_cache", dict(limited, user=tenant, password=SECRET, maxmemory="100mb"))
    assert result["failed"] and "refuses CONFIG" in result["msg"] and "managed Redis" in result["msg"]


def test_dedicated_objects_are_rendered(admin, tenant):
    result = run_task("redis_cache", dict(admin, user=tenant, password=SECRET,
                                          dedicated={"namespace": "tenant-acme", "persistence": "aof",
                                                     "memory_limit": "2Gi"}))
    kinds = [o["kind"] for o in result["kubernetes_objects"]]
    assert kinds == ["Secret", "Service", "StatefulSet", "PodDisruptionBudget"]
    sts = result["kubernetes_objects"][2]
    args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--appendonly" in args and args[args.index("--maxmemory") + 1] == str(2 * 1024 ** 3 * 8 // 10)
    assert SECRET not in str(result["kubernetes_objects"])


# A user of this run only: the lab's own tenants (acme...) exist once `make demo` ran, and a refused input
# must leave this one absent.
BAD_USER = f"it-refused-{uuid.uuid4().hex[:6]}"
BAD_INPUTS = [
    ({"user": BAD_USER, "prefix": "acme*"}, "is not a usable key prefix"),
    ({"user": BAD_USER, "prefix": "ac?me:"}, "is not a usable key prefix"),
    ({"user": BAD_USER, "prefix": "[a-z]:"}, "is not a usable key prefix"),
    ({"user": "default"}, "is not a valid tenant user"),
    ({"user": "has space"}, "is not a valid tenant user"),
    ({"user": BAD_USER, "maxmemory": "lots"}, "is not a size"),
    ({"user": BAD_USER, "dedicated": {"namespace": "x", "persistence": "tape"}}, "persistence"),
]


def test_bad_input_is_refused_before_any_write(admin, client):
    calls = _setuser_calls(client)
    results = run_tasks("redis_cache", [dict(admin, password=SECRET, **bad) for bad, _message in BAD_INPUTS])
    for (bad, message), result in zip(BAD_INPUTS, results):
        assert result.get("failed") is True and message in result["msg"], (bad, result)
        assert bad["user"] == "default" or client.acl_getuser(bad["user"]) is None
    assert _setuser_calls(client) == calls


def test_dedicated_redis_is_applied_to_the_cluster(admin, lab, kube):
    from kubernetes import client as k8s

    namespace = f"it-redis-{uuid.uuid4().hex[:6]}"
    k8s.CoreV1Api(kube).create_namespace({"metadata": {"name": namespace}})
    try:
        args = dict(admin, user="acme", dedicated={"namespace": namespace, "kubeconfig": lab["kubernetes"]["kubeconfig"],
                                                   "persistence": "none", "memory_limit": "512Mi"})
        refused = run_task("redis_cache", args)
        assert refused["failed"] and "no_log: true" in refused["msg"]
        planned = run_task("redis_cache", args, check=True, no_log=True)
        assert planned["changed"] and k8s.AppsV1Api(kube).list_namespaced_stateful_set(namespace).items == []
        created = run_task("redis_cache", args, no_log=True)
        assert created["changed"] and len(created["generated_password"]) == 32
        assert created["redis"]["host"] == f"acme-redis.{namespace}.svc.cluster.local"
        sts = k8s.AppsV1Api(kube).read_namespaced_stateful_set("acme-redis", namespace)
        assert sts.spec.template.spec.containers[0].resources.limits["memory"] == "512Mi"
        secret = k8s.CoreV1Api(kube).read_namespaced_secret("acme-redis", namespace)
        assert base64.b64decode(secret.data["password"]).decode() == created["generated_password"]
        again = run_task("redis_cache", args, no_log=True)
        assert again["changed"] is False and "generated_password" not in again
        removed = run_task("redis_cache", dict(args, state="absent"))
        assert removed["changed"] and k8s.AppsV1Api(kube).list_namespaced_stateful_set(namespace).items == []
    finally:
        k8s.CoreV1Api(kube).delete_namespace(namespace)
