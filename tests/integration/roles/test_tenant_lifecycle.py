"""The tenant role through playbooks/tenant.yml on the lab, as AWX runs it (--limit <tenant> -e tenant_state=...):
one tenant of the test's own, onboarded (check mode first), upgraded from 16.0 to 17.0, suspended, resumed and
offboarded, each step run twice. Every outcome is read back from the API server, PostgreSQL, Redis, Azurite and
Traefik's API. Bad input fails before any change.

The tenant is added to the lab inventory by a second inventory file (-i inventories/lab -i <file>): the lab's
group_vars (tenants.yml, all/lab.yml) apply to it as to the lab's own tenants. Its name is new on every run, so the
test runs beside the others."""

import datetime
import importlib
import json
import os
import socket
import ssl
import subprocess
import sys
import urllib.request
import uuid

import psycopg
import pytest
import redis
import yaml
from azure.storage.blob import BlobServiceClient
from kubernetes import client

from integration.helpers import wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV_BIN = os.path.dirname(os.path.abspath(sys.executable))
CONTAINER = "odoo-backups-lab"  # the lab environments' platform_backup_container
INITIALISED = "odoo-saas.platform/initialised-version"


def _playbook(playbook, collections, inventories=(), extra=None, limit=None, check=False):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=collections,
               PATH=VENV_BIN + ":" + os.environ["PATH"])
    argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", os.path.join(REPO, "inventories/lab")]
    for inventory in inventories:
        argv += ["-i", inventory]
    argv.append(os.path.join(REPO, playbook))
    if extra:
        argv += ["-e", json.dumps(extra)]
    if limit:
        argv += ["--limit", limit]
    if check:
        argv.append("--check")
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=900)


def _recap(result, host):
    for line in result.stdout.splitlines():
        if line.startswith(host + " ") and "ok=" in line:
            return {key: int(value) for key, value in (part.split("=") for part in line.split(":", 1)[1].split())}
    raise AssertionError(f"no PLAY RECAP line for {host}:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")


@pytest.fixture(scope="module")
def websocket_paths(collections):
    """The version table of plugins/module_utils/_odoo.py: version -> websocket path."""
    ours = collections.split(":")[0]
    sys.path.insert(0, ours)
    try:
        odoo = importlib.import_module("ansible_collections.odoo_saas.platform.plugins.module_utils._odoo")
    finally:
        sys.path.remove(ours)
    return {version: facts["websocket_path"] for version, facts in odoo.VERSIONS.items()}


class Tenant:
    """One tenant of this test's own: its inventory file, its playbook runs, and readers of its real state."""

    def __init__(self, lab, kube, collections, folder):
        self.lab, self.collections = lab, collections
        self.name = f"lc{uuid.uuid4().hex[:8]}"
        self.host = f"{self.name}.odoo.lab.test"
        self.ns = f"odoo-{self.name}"
        self.inventory = str(folder / "tenant.yml")
        self.core, self.apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
        self.batch, self.custom = client.BatchV1Api(kube), client.CustomObjectsApi(kube)
        self.blob = BlobServiceClient.from_connection_string(
            lab["blob"]["connection_string"], connection_verify=lab["ca_bundle"]).get_container_client(CONTAINER)
        r = lab["redis"]
        self.redis = redis.Redis(host=r["host"], port=r["port"], username=r["user"], password=r["password"],
                                 decode_responses=True)
        self.secret_dir = os.path.join(lab["state_dir"], "secrets", "inventory")
        self.write_inventory("16.0")

    def write_inventory(self, version):
        """The tenant's inventory entry, as host_vars/<tenant>.yml would hold it for a lab tenant."""
        host = {"tenant_environment": "env-shared", "tenant_odoo_version": version, "tenant_hosts": [self.host]}
        with open(self.inventory, "w", encoding="utf-8") as handle:
            yaml.safe_dump({"all": {"children": {"tenants": {"hosts": {self.name: host}}}}}, handle)

    def run(self, extra=None, check=False):
        return _playbook("playbooks/tenant.yml", self.collections, [self.inventory], extra, self.name, check)

    # ------------------------------------------------------------------ real state
    def namespace(self):
        try:
            return self.core.read_namespace(self.ns)
        except client.ApiException as exc:
            assert exc.status == 404, exc
            return None

    def deployment(self, name):
        return self.apps.read_namespaced_deployment(name, self.ns)

    def connect(self, dbname="postgres", **login):
        pg = self.lab["postgres"]["platform"]
        params = {"host": pg["host"], "port": pg["port"], "user": pg["user"], "password": pg["password"]}
        params.update(login)
        return psycopg.connect(dbname=dbname, autocommit=True, connect_timeout=10, **params)

    def database(self):
        """(database owner or None, whether the login role exists)."""
        with self.connect() as conn:
            owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                                 (self.name,)).fetchone()
            role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.name,)).fetchone()
        return (owner[0] if owner else None), role is not None

    def password(self, kind):
        with open(os.path.join(self.secret_dir, f"{self.name}-{kind}"), encoding="utf-8") as handle:
            return handle.read().split()[0]

    def redis_user(self):
        return self.redis.acl_getuser(self.name)

    def backups(self):
        """Backup id -> its parts, under <tenant>/ in the environment's container."""
        found = {}
        if not self.blob.exists():  # a fresh lab: the first backup of any tenant creates the container
            return found
        for blob in self.blob.list_blobs(name_starts_with=self.name + "/"):
            _tenant, bid, part = blob.name.split("/", 2)
            found.setdefault(bid, set()).add(part)
        return found

    def manifest(self, bid):
        return json.loads(self.blob.download_blob(f"{self.name}/{bid}/manifest.json").readall())

    def ingress_routes(self):
        try:
            return self.custom.list_namespaced_custom_object("traefik.io", "v1alpha1", self.ns,
                                                             "ingressroutes")["items"]
        except client.ApiException as exc:
            assert exc.status == 404, exc
            return []

    def routers(self):
        with urllib.request.urlopen(self.lab["traefik"]["api"] + "/api/http/routers?per_page=1000",
                                    timeout=5) as response:
            return [r for r in json.load(response) if f"`{self.host}`" in r.get("rule", "")]

    def nothing_exists(self):
        assert self.namespace() is None
        assert self.database() == (None, False)
        assert self.redis_user() is None
        assert self.backups() == {}
        assert self.routers() == []

    # ------------------------------------------------------------------ cleanup
    def remove(self):
        """Whatever the test left, however far it got (the offboard step normally leaves only the backups)."""
        try:
            self.core.delete_namespace(self.ns)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.name,)).fetchone():
                conn.execute(f'DROP OWNED BY "{self.name}"')
                conn.execute(f'DROP ROLE "{self.name}"')
        self.redis.acl_deluser(self.name)
        for key in self.redis.scan_iter(match=f"{self.name}:*"):
            self.redis.delete(key)
        self.redis.close()
        for blob in list(self.blob.list_blobs(name_starts_with=self.name + "/")) if self.blob.exists() else []:
            self.blob.delete_blob(blob.name)
        for kind in ("db", "redis"):
            path = os.path.join(self.secret_dir, f"{self.name}-{kind}")
            if os.path.exists(path):
                os.remove(path)


@pytest.fixture(scope="module")
def foundation(collections):
    # The tenant lives in env-shared: its cluster, server and kubeconfig come from the platform role.
    result = _playbook("playbooks/shared_environment.yml", collections, limit="env-shared")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


@pytest.fixture
def tenant(lab, kube, collections, tmp_path):
    created = Tenant(lab, kube, collections, tmp_path)
    yield created
    created.remove()


def _websocket_rule(tenant):
    route = next(r for r in tenant.ingress_routes() if r["metadata"]["name"] == "odoo")
    return next(r["match"] for r in route["spec"]["routes"] if r["priority"] == 200)


def _routers_enabled(tenant, websocket_path):
    routers = tenant.routers()
    websocket = [r for r in routers if f"PathPrefix(`{websocket_path}`)" in r["rule"]]
    return len(routers) == 4 and len(websocket) == 1 and all(r["status"] == "enabled" for r in routers) and routers


def _certificate_from_pebble(tenant):
    """The certificate Traefik serves for the tenant's host, when it verifies against the root of the lab's ACME
    server (Pebble), host name included; None while Traefik still serves its default certificate."""
    lab = tenant.lab
    with urllib.request.urlopen(lab["traefik"]["acme"]["management"] + "/roots/0", timeout=5,
                                context=ssl.create_default_context(cafile=lab["ca_bundle"])) as response:
        root = response.read().decode()
    address, port = lab["traefik"]["websecure"].rsplit("/", 1)[1].split(":")
    try:
        with socket.create_connection((address, int(port)), timeout=10) as raw:
            with ssl.create_default_context(cadata=root).wrap_socket(raw, server_hostname=tenant.host) as tls:
                return tls.getpeercert()
    except ssl.SSLCertVerificationError:
        return None


def _replicas(tenant):
    return {name: (tenant.deployment(f"odoo-{name}").spec.replicas,
                   tenant.deployment(f"odoo-{name}").status.ready_replicas or 0) for name in ("web", "cron")}


def _task_outcomes(result, host):
    """(task name, outcome for `host`: changed, ok or skipping), in the order of the playbook's output."""
    outcomes, task = [], None
    for line in result.stdout.splitlines():
        if line.startswith("TASK ["):
            task = line[line.index("[") + 1:line.rindex("]")].split(" : ", 1)[-1]
        elif task and line.split(":")[0] in ("ok", "changed", "skipping") and f"[{host}]" in line:
            outcomes.append((task, line.split(":")[0]))
    return outcomes


def test_tenant_lifecycle(tenant, foundation, websocket_paths):
    name = tenant.name

    # --- an upgrade of a tenant that is not onboarded is refused, before any change
    refused = tenant.run({"tenant_state": "upgrade", "tenant_odoo_version": "17.0"})
    assert refused.returncode != 0 and "it is not onboarded" in refused.stdout, refused.stdout[-3000:]
    tenant.nothing_exists()

    # --- onboard, in check mode: changes reported, nothing written
    planned = tenant.run(check=True)
    assert planned.returncode == 0, planned.stdout[-3000:]
    assert _recap(planned, name)["changed"] > 0
    tenant.nothing_exists()

    # --- onboard
    onboarded = tenant.run()
    assert onboarded.returncode == 0, onboarded.stdout[-3000:]
    namespace = tenant.namespace()
    assert namespace.metadata.labels["odoo-saas.platform/tenant"] == name
    assert namespace.metadata.annotations[INITIALISED] == "16.0"
    assert tenant.batch.read_namespaced_job("odoo-init-16-0", tenant.ns).status.succeeded == 1
    assert tenant.deployment("odoo-web").spec.template.spec.containers[0].image == "odoo:16.0"
    assert _replicas(tenant) == {"web": (1, 1), "cron": (1, 1)}
    assert tenant.core.read_namespaced_secret("odoo-secrets", tenant.ns).data["db_password"]
    assert tenant.batch.read_namespaced_cron_job("odoo-backup", tenant.ns).spec.schedule == "30 2 * * *"
    assert tenant.database() == (name, True)
    with tenant.connect(name, user=name, password=tenant.password("db")) as conn:  # the inventory's password works
        assert conn.execute("SELECT current_user").fetchone()[0] == name
    assert tenant.redis_user()["keys"] == [f"~{name}:*"], tenant.redis_user()
    as_tenant = redis.Redis(host=tenant.lab["redis"]["host"], port=tenant.lab["redis"]["port"], username=name,
                            password=tenant.password("redis"), decode_responses=True)
    try:
        as_tenant.set(f"{name}:session", "1")  # its own prefix only
        with pytest.raises(redis.exceptions.NoPermissionError):
            as_tenant.set("someone-else:session", "1")
    finally:
        as_tenant.close()
    first = tenant.backups()
    assert list(first.values()) == [{"db.dump", "manifest.json"}], first
    assert _websocket_rule(tenant).endswith(f"PathPrefix(`{websocket_paths['16.0']}`)")
    wait_for(lambda: _routers_enabled(tenant, websocket_paths["16.0"]), timeout=60,
             what="Traefik to enable the tenant's four routers")
    # TLS through the certResolver the inventory names (letsencrypt): Traefik's ACME client orders the tenant's
    # certificate from the lab's ACME server and serves it for the tenant's host
    served = wait_for(lambda: _certificate_from_pebble(tenant), timeout=90,
                      what="Traefik to serve a certificate for the tenant's host from the letsencrypt resolver")
    assert ("DNS", tenant.host) in served["subjectAltName"], served

    again = tenant.run()
    assert again.returncode == 0 and _recap(again, name)["changed"] == 0, again.stdout[-3000:]
    assert tenant.backups() == first

    # --- a fresh runner (an AWX execution environment) lacks the environment's kubeconfig: the role fetches it
    # from AKS (the lab's ARM) into a folder that does not exist yet, in check mode too, and reports no change
    fresh = os.path.join(os.path.dirname(tenant.inventory), "fresh-runner", ".kube", "env-shared.kubeconfig")
    checked = tenant.run({"platform_kubeconfig": fresh}, check=True)
    assert checked.returncode == 0 and _recap(checked, name)["changed"] == 0, checked.stdout[-3000:]
    fetch = "Fetch the environment's kubeconfig from AKS (a fresh runner, such as an AWX execution environment)"
    assert (fetch, "ok") in _task_outcomes(checked, name), _task_outcomes(checked, name)
    assert os.stat(fresh).st_mode & 0o777 == 0o600
    with open(fresh, encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["clusters"][0]["cluster"]["server"] == tenant.lab["kubernetes"]["server"]
    from_fresh = tenant.run({"platform_kubeconfig": fresh})
    assert from_fresh.returncode == 0 and _recap(from_fresh, name)["changed"] == 0, from_fresh.stdout[-3000:]
    assert (fetch, "skipping") in _task_outcomes(from_fresh, name)

    # --- upgrade 16.0 -> 17.0: a backup first, then the upgrade Job, then 17.0 serving
    upgraded = tenant.run({"tenant_state": "upgrade", "tenant_odoo_version": "17.0"})
    assert upgraded.returncode == 0, upgraded.stdout[-3000:]
    backups = tenant.backups()
    [before_upgrade] = set(backups) - set(first)
    assert backups[before_upgrade] == {"db.dump", "manifest.json"}
    job = tenant.batch.read_namespaced_job("odoo-upgrade-17-0", tenant.ns)
    assert job.status.succeeded == 1 and "-u" in job.spec.template.spec.containers[0].args
    assert job.spec.template.spec.containers[0].image == "odoo:17.0"
    finished = datetime.datetime.fromisoformat(tenant.manifest(before_upgrade)["finished_at"])
    assert finished.replace(microsecond=0) <= job.metadata.creation_timestamp, (finished, job.metadata)
    for deployment in ("odoo-web", "odoo-cron"):
        live = tenant.deployment(deployment)
        assert live.spec.template.spec.containers[0].image == "odoo:17.0"
        assert live.metadata.annotations["odoo-saas.platform/odoo-version"] == "17.0"
    assert _replicas(tenant) == {"web": (1, 1), "cron": (1, 1)}
    assert tenant.namespace().metadata.annotations[INITIALISED] == "17.0"
    assert _websocket_rule(tenant).endswith(f"PathPrefix(`{websocket_paths['17.0']}`)")
    wait_for(lambda: _routers_enabled(tenant, websocket_paths["17.0"]), timeout=60,
             what="Traefik to keep the tenant's four routers")

    again = tenant.run({"tenant_state": "upgrade", "tenant_odoo_version": "17.0"})
    assert again.returncode == 0 and _recap(again, name)["changed"] == 0, again.stdout[-3000:]
    assert tenant.backups() == backups

    # --- the inventory still says 16.0: any step but offboard refuses it, before any change
    stale = tenant.run()
    assert stale.returncode != 0 and _recap(stale, name)["changed"] == 0
    message = " ".join(stale.stdout.split())
    assert f"tenant {name} runs Odoo 17.0, and tenant_odoo_version is 16.0" in message, stale.stdout[-3000:]
    assert "Odoo cannot move a database back to an older version" in message
    assert tenant.deployment("odoo-web").spec.template.spec.containers[0].image == "odoo:17.0"
    assert [j.metadata.name for j in tenant.batch.list_namespaced_job(tenant.ns).items if "16" in j.metadata.name] \
        == ["odoo-init-16-0"]
    tenant.write_inventory("17.0")  # as the operator records the upgrade in the tenant's host_vars

    # --- suspend: web and cron at 0, everything else kept
    suspended = tenant.run({"tenant_state": "suspend"})
    assert suspended.returncode == 0 and _recap(suspended, name)["changed"] > 0, suspended.stdout[-3000:]
    wait_for(lambda: _replicas(tenant) == {"web": (0, 0), "cron": (0, 0)}, timeout=60,
             what="web and cron to scale to 0")
    assert tenant.namespace() is not None and tenant.database() == (name, True)
    assert tenant.core.read_namespaced_secret("odoo-secrets", tenant.ns).data["db_password"]
    assert tenant.redis_user() is not None and tenant.backups() == backups
    assert {r["metadata"]["name"] for r in tenant.ingress_routes()} == {"odoo", "odoo-http"}
    assert _routers_enabled(tenant, websocket_paths["17.0"])

    again = tenant.run({"tenant_state": "suspend"})
    assert again.returncode == 0 and _recap(again, name)["changed"] == 0, again.stdout[-3000:]

    # --- onboard again: resumed
    resumed = tenant.run()
    assert resumed.returncode == 0 and _recap(resumed, name)["changed"] > 0, resumed.stdout[-3000:]
    assert _replicas(tenant) == {"web": (1, 1), "cron": (1, 1)}
    assert tenant.deployment("odoo-web").spec.template.spec.containers[0].image == "odoo:17.0"
    assert tenant.backups() == backups

    # --- offboard, in check mode: changes reported, nothing written
    planned = tenant.run({"tenant_state": "offboard"}, check=True)
    assert planned.returncode == 0 and _recap(planned, name)["changed"] > 0, planned.stdout[-3000:]
    assert _replicas(tenant) == {"web": (1, 1), "cron": (1, 1)}
    assert tenant.database() == (name, True) and tenant.redis_user() is not None
    assert tenant.backups() == backups and len(tenant.ingress_routes()) == 2

    # --- offboard: stopped, a final backup verified, then everything removed but the backups
    offboarded = tenant.run({"tenant_state": "offboard"})
    assert offboarded.returncode == 0, offboarded.stdout[-3000:]
    outcomes = _task_outcomes(offboarded, name)
    steps = [task for task, _outcome in outcomes]
    stop = steps.index("Stop web and cron, so that the final backup is the tenant's last state")
    backup = steps.index("Back up now, final, before offboarding")
    verify = steps.index("Verify the tenant's backup restores")
    assert outcomes[stop][1] == "changed" and outcomes[verify][1] == "ok" and stop < backup < verify
    final = tenant.backups()
    [last] = set(final) - set(backups)
    assert final[last] == {"db.dump", "manifest.json"} and tenant.manifest(last)["database"] == name
    assert tenant.namespace() is None
    assert tenant.database() == (None, False)
    assert tenant.redis_user() is None and not list(tenant.redis.scan_iter(match=f"{name}:*"))
    assert tenant.ingress_routes() == []
    wait_for(lambda: tenant.routers() == [], timeout=60, what="Traefik to drop the tenant's routers")

    again = tenant.run({"tenant_state": "offboard"})
    assert again.returncode == 0 and _recap(again, name)["changed"] == 0, again.stdout[-3000:]
    assert tenant.backups() == final  # the backups, the final one included, outlive the tenant


@pytest.mark.parametrize("extra, message", [
    ({"tenant_state": "resume"},
     "value of tenant_state must be one of: onboard, upgrade, suspend, offboard, got: resume"),
    ({"tenant_state": "upgrade", "tenant_odoo_version": "17"},
     "value of tenant_odoo_version must be one of: 15.0, 16.0, 17.0, 18.0, 19.0, got: 17"),
])
def test_bad_input_fails_before_any_change(tenant, extra, message):
    result = tenant.run(extra)
    assert result.returncode != 0 and message in result.stdout, result.stdout[-3000:]
    assert _recap(result, tenant.name) == {"ok": 0, "changed": 0, "unreachable": 0, "failed": 1, "skipped": 0,
                                           "rescued": 0, "ignored": 0}
    tenant.nothing_exists()


def test_offboarding_without_a_limit_is_refused(collections, lab):
    """Without --limit, tenant.yml targets every tenant of the inventory: offboarding them all is refused before
    any change (in check mode, so that a broken guard could not offboard the lab's tenants either)."""
    result = _playbook("playbooks/tenant.yml", collections, extra={"tenant_state": "offboard"}, check=True)
    assert result.returncode != 0, result.stdout[-2000:]
    assert "tenant_state=offboard without --limit would offboard all" in result.stdout.replace("\n", " ")
    assert "changed=1" not in result.stdout and "Lifecycle step offboard" not in result.stdout
