"""The lab's services: how each one is started, how its readiness is proven, and what it publishes.

Every service listens on 127.0.0.1 only. `Lab.up()` starts what is not running, in dependency
order, and writes `<state>/lab.json` only when every service has answered its readiness check.
"""

import contextlib
import json
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

from . import kube, legacy, versions
from .build import Builder
from .procs import LabError, ProcessTable, ensure_port_free, group_memory, port_open, wait_until

PORTS = {
    "etcd": 23790,
    "etcd-peer": 23800,
    "kube-apiserver": 26443,
    "kube-controller-manager": 26257,
    "kube-scheduler": 26259,
    "kwok": 26260,
    "postgres-platform": 25432,
    "postgres-legacy": 25433,
    "redis": 26379,
    "azurite": 20000,
    "arm": 24443,
    "traefik-web": 28080,
    "traefik-websecure": 28443,
    "traefik-api": 28081,
    "pebble": 24014,  # the ACME server behind Traefik's `letsencrypt` certificate resolver
    "pebble-management": 24015,
    "legacy-vm": 22022,  # the legacy VM's sshd
    "legacy-odoo": 28069,  # the legacy VM's Odoo (its own service, run by odooctl, not by the lab)
}

# The order services start in; lab-down stops them in reverse.
ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "pebble", "traefik",
         "postgres-platform", "postgres-legacy", "redis", "azurite", "arm", "legacy-vm")

PG_BIN = f"/usr/lib/postgresql/{versions.POSTGRESQL}/bin"
STORAGE_ACCOUNT = "odoolab"
ARM_TENANT = "7d1c3a4e-0000-4000-8000-0000000000aa"
ARM_SUBSCRIPTION = "5f0e2b1c-0000-4000-8000-0000000000bb"
ARM_CLIENT_ID = "3a9b8c7d-0000-4000-8000-0000000000cc"
# The Entra groups of the lab's service principal: their object ids go in its tokens' `groups` claim.
ARM_CLIENT_GROUPS = ("0d5e8f2a-0000-4000-8000-0000000000dd",)
# The kube-apiserver's client certificate for the ARM emulator's token-review webhook (AKS's guard).
GUARD_CLIENT = "kube-apiserver-webhook-client"
TIMEOUTS = {"default": 60, "kube-apiserver": 120}
PG_SUFFIX = "postgres.localhost"  # the lab cloud's suffixes.postgresqlServerEndpoint


def default_state_dir():
    if os.environ.get("ODOO_SAAS_LAB_DIR"):
        return os.environ["ODOO_SAAS_LAB_DIR"]
    if os.geteuid() == 0:
        return "/var/lib/odoo-saas-lab"
    return os.path.join(os.path.expanduser("~"), ".local", "state", "odoo-saas-lab")


def default_cache_dir():
    if os.environ.get("ODOO_SAAS_CACHE_DIR"):
        return os.environ["ODOO_SAAS_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "odoo-saas-platform")


def _https_get(url, ca_file, headers=None, timeout=2.0):
    context = ssl.create_default_context(cafile=ca_file)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _http_get(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _write(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


class Lab:
    def __init__(self, state_dir=None, cache_dir=None, out=sys.stdout):
        self.state = state_dir or default_state_dir()
        self.cache = cache_dir or default_cache_dir()
        self.out = out
        os.makedirs(self.state, exist_ok=True)
        os.chmod(self.state, 0o755)  # the postgres user must reach its data directory below
        self.procs = ProcessTable(os.path.join(self.state, "run"), os.path.join(self.state, "logs"))
        self.builder = Builder(self.cache, self.procs.log_dir)
        self.kube_dir = os.path.join(self.state, "kube")
        os.makedirs(self.kube_dir, mode=0o700, exist_ok=True)
        self.bin_dir = os.path.dirname(os.path.abspath(sys.executable))
        self._pki = None
        self._secrets = None

    @property
    def pki(self):
        if self._pki is None:
            from .pki import LabPKI  # pylint: disable=import-outside-toplevel  # needs `cryptography`

            self._pki = LabPKI(os.path.join(self.state, "pki"))
        return self._pki

    @property
    def secrets(self):
        if self._secrets is None:
            from .pki import SecretStore  # pylint: disable=import-outside-toplevel

            self._secrets = SecretStore(os.path.join(self.state, "secrets"))
        return self._secrets

    # ------------------------------------------------------------------ helpers
    def say(self, text):
        print(text, file=self.out, flush=True)

    def _running(self, name):
        return self.procs.recorded(name) is not None

    def _launch(self, name, argv, ready, port=None, env=None, user=None, timeout=None):
        """Start `name` unless it is already running and ready; then wait for `ready()`."""
        log = self.procs.log_path(name)
        if self._running(name):
            wait_until(name, ready, timeout or TIMEOUTS["default"], log)
            self.say(f"  {name:<24} already running")
            return
        if port is not None:
            ensure_port_free(name, port, log)
        proc = self.procs.start(name, argv, env=env, user=user)
        wait_until(name, ready, timeout or TIMEOUTS.get(name, TIMEOUTS["default"]), log, proc=proc)
        self.say(f"  {name:<24} started (pid {proc.pid})")

    # --------------------------------------------------------------- kubernetes
    def _kube_credentials(self):
        tokens = {
            "lab-admin": (self.secrets.get("token-admin"), "system:masters"),
            "system:kube-controller-manager": (self.secrets.get("token-kcm"), ""),
            "system:kube-scheduler": (self.secrets.get("token-scheduler"), ""),
            "traefik": (self.secrets.get("token-traefik"), ""),
        }
        lines = [f'{token},{user},{user},"{groups}"' for user, (token, groups) in tokens.items()]
        _write(os.path.join(self.kube_dir, "tokens.csv"), "\n".join(lines) + "\n")
        for name, user in (("admin", "lab-admin"), ("controller-manager", "system:kube-controller-manager"),
                           ("scheduler", "system:kube-scheduler"), ("traefik", "traefik")):
            self._kubeconfig(os.path.join(self.kube_dir, name + ".kubeconfig"), user, {"token": tokens[user][0]})
        return tokens

    def _kubeconfig(self, path, user, credentials, server=None, cluster="odoo-saas-lab"):
        """A kubeconfig with one cluster (the lab apiserver unless `server`), one user and its credentials."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster, "cluster": {
                "server": server or f"https://127.0.0.1:{PORTS['kube-apiserver']}",
                "certificate-authority": self.pki.ca_cert_path}}],
            "users": [{"name": user, "user": credentials}],
            "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
            "current-context": cluster,
        }
        _write(path, json.dumps(config, indent=2))
        return path

    def _guard_webhook_config(self):
        """The kubeconfig-format file of kube-apiserver's token webhook: AKS validates Entra tokens through its guard
        webhook, and the lab's is the ARM emulator's `/guard/tokenreviews`, called with a client certificate."""
        cert, key = self.pki.client_cert(GUARD_CLIENT)
        return self._kubeconfig(os.path.join(self.kube_dir, "guard-webhook.kubeconfig"), "kube-apiserver",
                                {"client-certificate": cert, "client-key": key},
                                server=f"https://127.0.0.1:{PORTS['arm']}/guard/tokenreviews", cluster="guard")

    def _apiserver_ready(self):
        status, body = _https_get(f"https://127.0.0.1:{PORTS['kube-apiserver']}/readyz", self.pki.ca_cert_path,
                                  {"Authorization": "Bearer " + self.secrets.get("token-admin")})
        return status == 200 and body.strip() == b"ok"

    def _component_healthy(self, port):
        status, body = _https_get(f"https://127.0.0.1:{port}/healthz", self.pki.ca_cert_path, timeout=2)
        return status == 200 and body.strip() == b"ok"

    def _insecure_https_ok(self, port):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # components serve a self-signed cert of their own
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=context, timeout=2) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def start_kubernetes(self):
        binaries = self.builder.control_plane()
        self._kube_credentials()
        sa_key, sa_pub = self.pki.rsa_keypair("service-account")
        api_cert, api_key = self.pki.serving_cert(
            "kube-apiserver",
            ["127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
             "kubernetes.default.svc.cluster.local", "10.0.0.1"])
        etcd_dir = os.path.join(self.state, "etcd")
        self._launch("etcd", [
            binaries["etcd"], "--name", "lab", "--data-dir", etcd_dir,
            "--listen-client-urls", f"http://127.0.0.1:{PORTS['etcd']}",
            "--advertise-client-urls", f"http://127.0.0.1:{PORTS['etcd']}",
            "--listen-peer-urls", f"http://127.0.0.1:{PORTS['etcd-peer']}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{PORTS['etcd-peer']}",
            "--initial-cluster", f"lab=http://127.0.0.1:{PORTS['etcd-peer']}",
            "--listen-metrics-urls", "", "--unsafe-no-fsync", "--quota-backend-bytes", str(4 * 1024 ** 3),
            "--log-level", "warn",
        ], ready=lambda: _http_get(f"http://127.0.0.1:{PORTS['etcd']}/health")[0] == 200, port=PORTS["etcd"])
        admission = ",".join([
            "NamespaceLifecycle", "LimitRanger", "ServiceAccount", "DefaultTolerationSeconds",
            "DefaultStorageClass", "StorageObjectInUseProtection", "PersistentVolumeClaimResize", "RuntimeClass",
            "Priority", "NodeRestriction", "TaintNodesByCondition", "PodSecurity", "CertificateApproval",
            "CertificateSigning", "CertificateSubjectRestriction", "DefaultIngressClass",
            "MutatingAdmissionWebhook", "ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook", "ResourceQuota",
        ])
        self._launch("kube-apiserver", [
            binaries["kube-apiserver"],
            "--etcd-servers", f"http://127.0.0.1:{PORTS['etcd']}",
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(PORTS["kube-apiserver"]),
            "--tls-cert-file", api_cert, "--tls-private-key-file", api_key,
            "--client-ca-file", self.pki.ca_cert_path,
            "--token-auth-file", os.path.join(self.kube_dir, "tokens.csv"),
            # Entra tokens, as on AKS: tokens that no other authenticator knows go to the guard webhook.
            "--authentication-token-webhook-config-file", self._guard_webhook_config(),
            "--authentication-token-webhook-version", "v1",
            "--authorization-mode", "Node,RBAC",
            "--enable-admission-plugins", admission,
            "--allow-privileged=true",
            "--service-cluster-ip-range", "10.0.0.0/16",
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", sa_pub, "--service-account-signing-key-file", sa_key,
            "--anonymous-auth=true", "--profiling=false", "--event-ttl=1h",
            "--endpoint-reconciler-type", "none",
        ], ready=self._apiserver_ready, port=PORTS["kube-apiserver"])
        kcm_cfg = os.path.join(self.kube_dir, "controller-manager.kubeconfig")
        self._launch("kube-controller-manager", [
            binaries["kube-controller-manager"],
            "--kubeconfig", kcm_cfg, "--authentication-kubeconfig", kcm_cfg, "--authorization-kubeconfig", kcm_cfg,
            "--bind-address", "127.0.0.1", "--secure-port", str(PORTS["kube-controller-manager"]),
            "--leader-elect=false", "--use-service-account-credentials=true",
            "--service-account-private-key-file", sa_key, "--root-ca-file", self.pki.ca_cert_path,
            "--cluster-signing-cert-file", self.pki.ca_cert_path,
            "--cluster-signing-key-file", self.pki.ca_key_path,
            "--controllers", "*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route",
            # kwok v0.7.0's node heartbeats stall for every node after it fails one on a node that was just
            # deleted (tests and the ARM emulator delete pools), and resume only on a status change. Once the grace
            # runs out the nodes go NotReady, their pods lose Ready for good (kwok does not set it back), and their
            # Deployments never become Available again. Nodes in the lab never really fail, so the grace is a day.
            "--node-monitor-grace-period=24h",
            "--profiling=false",
        ], ready=lambda: self._insecure_https_ok(PORTS["kube-controller-manager"]),
            port=PORTS["kube-controller-manager"])
        sched_cfg = os.path.join(self.kube_dir, "scheduler.kubeconfig")
        self._launch("kube-scheduler", [
            binaries["kube-scheduler"],
            "--kubeconfig", sched_cfg, "--authentication-kubeconfig", sched_cfg,
            "--authorization-kubeconfig", sched_cfg,
            "--bind-address", "127.0.0.1", "--secure-port", str(PORTS["kube-scheduler"]),
            "--leader-elect=false", "--profiling=false",
        ], ready=lambda: self._insecure_https_ok(PORTS["kube-scheduler"]), port=PORTS["kube-scheduler"])
        kubectl = self.kubectl()
        kubectl.apply(kube.traefik_rbac(), "traefik namespace and RBAC")
        kubectl.apply_file(self.builder.traefik_crds(), "traefik CRDs")
        kubectl.run(["wait", "--for=condition=Established", "--timeout=60s", "crd", "-l", "",
                     "ingressroutes.traefik.io", "middlewares.traefik.io"], what="traefik CRDs established")
        kubectl.apply(kube.default_nodes(), "kwok nodes")
        admin_cfg = os.path.join(self.kube_dir, "admin.kubeconfig")
        stages = os.path.join(self.kube_dir, "kwok-stages.yaml")
        _write(stages, kube.kwok_stages(self.builder.kwok_pod_stages()))
        self._launch("kwok", [
            self.builder.kwok(), "--kubeconfig", admin_cfg, "--config", stages,
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--cidr=10.244.0.0/16", "--node-ip=10.224.0.4",
            "--server-address", f"127.0.0.1:{PORTS['kwok']}",
        ], ready=lambda: _http_get(f"http://127.0.0.1:{PORTS['kwok']}/healthz")[0] == 200, port=PORTS["kwok"])
        wait_until("kwok", self._nodes_ready, 60, self.procs.log_path("kwok"), what="reporting every node Ready")

    def kubectl(self):
        return kube.Kubectl(os.path.join(self.bin_dir, "kubectl"), os.path.join(self.kube_dir, "admin.kubeconfig"),
                            self.procs.log_path("bootstrap"))

    def _nodes_ready(self):
        out = self.kubectl().run(["get", "nodes", "-o", "json"], what="list nodes")
        items = json.loads(out)["items"]
        if len(items) < len(kube.default_nodes()):
            return False
        for node in items:
            conditions = {c["type"]: c["status"] for c in node.get("status", {}).get("conditions", [])}
            if conditions.get("Ready") != "True":
                return False
        return True

    # ------------------------------------------------------------------- pebble
    def start_pebble(self):
        """Pebble, Let's Encrypt's test ACME server, behind Traefik's `letsencrypt` certificate resolver (the
        resolver the tenants' routes name). It serves ACME over HTTPS with a lab certificate. It cannot reach the
        tenants' made-up host names to validate a challenge, so it is told to treat every challenge as valid
        (PEBBLE_VA_ALWAYS_VALID): the order, the issuance and Traefik's use of the certificate are real."""
        binary = self.builder.pebble()
        cert, key = self.pki.serving_cert("pebble", ["127.0.0.1", "localhost"])
        port = PORTS["pebble"]
        config = {"pebble": {
            "listenAddress": f"127.0.0.1:{port}", "managementListenAddress": f"127.0.0.1:{PORTS['pebble-management']}",
            "certificate": cert, "privateKey": key, "httpPort": PORTS["traefik-web"],
            "tlsPort": PORTS["traefik-websecure"], "ocspResponderURL": "", "externalAccountBindingRequired": False,
            "retryAfter": {"authz": 1, "order": 1}, "keyAlgorithm": "ecdsa",
            "profiles": {"default": {"description": "the lab's certificates", "validityPeriod": 7776000}}}}
        path = os.path.join(self.kube_dir, "pebble.json")
        _write(path, json.dumps(config, indent=2))
        if not self._running("pebble"):
            # Pebble keeps its accounts in memory. A new Pebble does not know the account in Traefik's acme.json
            # (urn:ietf:params:acme:error:accountDoesNotExist on every order), and Traefik does not register again
            # while it holds it: the account goes, and a running Traefik restarts without it.
            self.procs.stop("traefik")
            with contextlib.suppress(FileNotFoundError):
                os.remove(self._acme_storage())
        env = dict(os.environ, PEBBLE_VA_ALWAYS_VALID="1", PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
        self._launch("pebble", [binary, "-config", path], env=env, port=port,
                     ready=lambda: _https_get(f"https://127.0.0.1:{port}/dir", self.pki.ca_cert_path)[0] == 200)
        return f"https://127.0.0.1:{port}/dir"

    # ------------------------------------------------------------------ traefik
    def _acme_storage(self):
        return os.path.join(self.state, "traefik", "acme.json")

    def start_traefik(self, acme_directory):
        """Traefik's static configuration goes in a 0600 file, so its API token stays out of argv and logs."""
        api = PORTS["traefik-api"]
        acme_storage = self._acme_storage()
        os.makedirs(os.path.dirname(acme_storage), mode=0o700, exist_ok=True)
        config = {
            "entryPoints": {"web": {"address": f"127.0.0.1:{PORTS['traefik-web']}"},
                            "websecure": {"address": f"127.0.0.1:{PORTS['traefik-websecure']}"},
                            "traefik": {"address": f"127.0.0.1:{api}"}},
            "api": {"insecure": True}, "ping": {}, "log": {"level": "INFO"},
            "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
            "providers": {"kubernetesCRD": {
                "endpoint": f"https://127.0.0.1:{PORTS['kube-apiserver']}",
                "token": self.secrets.get("token-traefik"),
                "certAuthFilePath": self.pki.ca_cert_path,
                "allowCrossNamespace": False, "allowEmptyServices": True}},
            # The resolver the tenants' routes name (tenant_tls.cert_resolver), as in production, on Pebble.
            "certificatesResolvers": {"letsencrypt": {"acme": {
                "email": "platform@lab.test", "storage": acme_storage, "caServer": acme_directory,
                "keyType": "EC256", "tlsChallenge": {}}}},
        }
        path = os.path.join(self.kube_dir, "traefik.yml")
        _write(path, json.dumps(config, indent=2))  # JSON is YAML
        # lego, Traefik's ACME client, trusts the lab's CA for Pebble's HTTPS through LEGO_CA_CERTIFICATES.
        self._launch("traefik", [os.path.join(self.bin_dir, "traefik"), f"--configFile={path}"],
                     env=dict(os.environ, LEGO_CA_CERTIFICATES=self.pki.ca_cert_path),
                     ready=lambda: _http_get(f"http://127.0.0.1:{api}/ping")[0] == 200, port=api)

    # --------------------------------------------------------------- postgresql
    def _pg_user(self):
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam("postgres")
        except KeyError as exc:
            raise LabError("postgres: the `postgres` system user is missing; install Debian's postgresql package "
                           "(make deps does).") from exc

    def start_postgres(self, role):
        name = f"postgres-{role}"
        port = PORTS[name]
        data = os.path.join(self.state, "pg", role)
        log = self.procs.log_path(name)
        user = self._pg_user()
        password = self.secrets.get(f"pg-{role}-superuser")
        if not os.path.exists(os.path.join(data, "PG_VERSION")) and not self._running(name):
            if not os.path.exists(os.path.join(PG_BIN, "initdb")):
                raise LabError(f"{name}: {PG_BIN}/initdb not found; install Debian's postgresql package.")
            shutil.rmtree(data, ignore_errors=True)
            os.makedirs(data, mode=0o700)
            pwfile = os.path.join(os.path.dirname(data), f".pwfile-{role}")
            _write(pwfile, password + "\n")
            if user is not None:
                os.chown(os.path.join(self.state, "pg"), user.pw_uid, user.pw_gid)
                for path in (data, pwfile):
                    os.chown(path, user.pw_uid, user.pw_gid)
            result = subprocess.run(
                [os.path.join(PG_BIN, "initdb"), "-D", data, "-U", "postgres", "--auth=scram-sha-256",
                 "--pwfile", pwfile, "-E", "UTF8", "--locale=C.UTF-8"],
                user=user.pw_name if user else None, capture_output=True, text=True, check=False)
            os.unlink(pwfile)
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(result.stdout + result.stderr)
            if result.returncode != 0:
                raise LabError(f"{name}: initdb failed. Read its log: {log}")
            _write(os.path.join(data, "pg_hba.conf"),
                   "local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n"
                   "host all all ::1/128 scram-sha-256\n")
            if user is not None:
                os.chown(os.path.join(data, "pg_hba.conf"), user.pw_uid, user.pw_gid)
        argv = [os.path.join(PG_BIN, "postgres"), "-D", data, "-c", "listen_addresses=127.0.0.1",
                "-c", f"port={port}", "-c", f"unix_socket_directories={data}", "-c", "fsync=off",
                "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
                "-c", "password_encryption=scram-sha-256", "-c", "logging_collector=off"]
        self._launch(name, argv, user=user.pw_name if user else None, port=port,
                     ready=lambda: subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-q", "-h", "127.0.0.1",
                                                   "-p", str(port)], check=False).returncode == 0)
        info = {"host": "127.0.0.1", "port": port, "user": "postgres", "password": password,
                "version": versions.POSTGRESQL, "bin_dir": PG_BIN}
        if role == "platform":
            info["managed_admin"] = self._managed_admin(port, password)
        return info

    def _managed_admin(self, port, superuser_password):
        """A non-superuser admin, as Azure Flexible Server gives: CREATEROLE, CREATEDB, pg_signal_backend."""
        import psycopg  # pylint: disable=import-outside-toplevel

        name = "odoo_lab_admin"
        password = self.secrets.get("pg-platform-managed-admin")
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", password=superuser_password,
                             dbname="postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f"CREATE ROLE {name} LOGIN CREATEROLE CREATEDB NOSUPERUSER "
                             f"PASSWORD '{password}'")
                conn.execute(f"GRANT pg_signal_backend, pg_read_all_settings, pg_read_all_stats TO {name}")
        return {"user": name, "password": password}

    # -------------------------------------------------------------------- redis
    def start_redis(self):
        data = os.path.join(self.state, "redis")
        os.makedirs(data, mode=0o700, exist_ok=True)
        password = self.secrets.get("redis-default")
        acl = os.path.join(data, "users.acl")
        if not os.path.exists(acl):
            import hashlib

            digest = hashlib.sha256(password.encode()).hexdigest()
            _write(acl, f"user default on #{digest} ~* &* +@all\n")
        conf = os.path.join(data, "redis.conf")
        _write(conf, "\n".join([
            "bind 127.0.0.1", f"port {PORTS['redis']}", "protected-mode yes", "daemonize no",
            f"dir {data}", 'save ""', "appendonly no", f"aclfile {acl}", "maxmemory 256mb",
            "maxmemory-policy allkeys-lru", "databases 16", "",
        ]))
        server = shutil.which("redis-server") or "/usr/bin/redis-server"

        def ready():
            import redis  # pylint: disable=import-outside-toplevel

            return redis.Redis(host="127.0.0.1", port=PORTS["redis"], password=password,
                               socket_timeout=1).ping()

        self._launch("redis", [server, conf], ready=ready, port=PORTS["redis"])
        return {"host": "127.0.0.1", "port": PORTS["redis"], "user": "default", "password": password, "tls": False}

    # ------------------------------------------------------------------ azurite
    def start_azurite(self):
        binary = self.builder.azurite()
        cert, key = self.pki.serving_cert("azurite", ["127.0.0.1", "localhost"])
        data = os.path.join(self.state, "azurite")
        os.makedirs(data, exist_ok=True)
        account_key = self.secrets.get_bytes_b64("azurite-account-key")
        env = dict(os.environ, AZURITE_ACCOUNTS=f"{STORAGE_ACCOUNT}:{account_key}")
        port = PORTS["azurite"]
        self._launch("azurite", [
            binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", data,
            "--skipApiVersionCheck", "--loose", "--disableTelemetry", "--cert", cert, "--key", key,
            "--oauth", "basic",
        ], env=env, port=port,
            ready=lambda: _https_get(f"https://127.0.0.1:{port}/{STORAGE_ACCOUNT}?comp=list",
                                     self.pki.ca_cert_path)[0] in (200, 403))
        endpoint = f"https://127.0.0.1:{port}/{STORAGE_ACCOUNT}"
        return {
            "account_name": STORAGE_ACCOUNT, "account_key": account_key, "blob_endpoint": endpoint,
            "connection_string": (f"DefaultEndpointsProtocol=https;AccountName={STORAGE_ACCOUNT};"
                                  f"AccountKey={account_key};BlobEndpoint={endpoint};"),
        }

    # ---------------------------------------------------------------------- arm
    def start_arm(self):
        cert, key = self.pki.serving_cert("arm", ["127.0.0.1", "localhost"])
        data = os.path.join(self.state, "arm")
        os.makedirs(data, mode=0o700, exist_ok=True)
        secret = self.secrets.get("arm-client-secret")
        config = {
            "tenant_id": ARM_TENANT, "subscription_id": ARM_SUBSCRIPTION,
            "clients": {ARM_CLIENT_ID: secret},
            "groups": {ARM_CLIENT_ID: list(ARM_CLIENT_GROUPS)},
            # The guard webhook answers the kube-apiserver only, known by its client certificate.
            "token_review": {"client_ca": self.pki.ca_cert_path, "clients": [GUARD_CLIENT]},
            "signing_key": self.secrets.get("arm-token-signing-key", 48),
            "kubeconfig": os.path.join(self.kube_dir, "admin.kubeconfig"),
            # A flexible server's admin becomes a role in the platform PostgreSQL, created as its superuser;
            # its FQDN is <server>.<suffix>, which libnss-myhostname resolves to 127.0.0.1.
            "postgres": {"host": "127.0.0.1", "port": PORTS["postgres-platform"], "user": "postgres",
                         "password": self.secrets.get("pg-platform-superuser"), "suffix": PG_SUFFIX},
            "location": kube.REGION,
        }
        _write(os.path.join(data, "config.json"), json.dumps(config, indent=2))
        port = PORTS["arm"]
        lab_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self._launch("arm", [
            sys.executable, os.path.join(lab_dir, "arm", "server.py"), "--port", str(port), "--cert", cert,
            "--key", key, "--state-dir", data,
        ], port=port, ready=lambda: _https_get(
            f"https://127.0.0.1:{port}/metadata/endpoints?api-version=2022-09-01", self.pki.ca_cert_path)[0] == 200)
        endpoint = f"https://127.0.0.1:{port}"
        return {"endpoint": endpoint, "authority": endpoint, "tenant_id": ARM_TENANT,
                "subscription_id": ARM_SUBSCRIPTION, "client_id": ARM_CLIENT_ID, "client_secret": secret,
                "client_groups": list(ARM_CLIENT_GROUPS),
                "ca_bundle": self.pki.ca_cert_path, "location": kube.REGION, "postgres_suffix": PG_SUFFIX}

    # ------------------------------------------------------------------- public
    def up(self):
        self.say(f"lab state: {self.state}")
        state_file = os.path.join(self.state, "lab.json")
        try:
            self.start_kubernetes()
            self.start_traefik(self.start_pebble())
            platform = self.start_postgres("platform")
            legacy = self.start_postgres("legacy")
            redis_info = self.start_redis()
            blob = self.start_azurite()
            arm = self.start_arm()
            legacy_vm = self.legacy_vm().start(legacy)
        except LabError:
            if os.path.exists(state_file):
                os.unlink(state_file)
            raise
        state = {
            "state_dir": self.state,
            "ca_bundle": self.pki.ca_cert_path,
            "versions": versions.as_table(),
            "kubernetes": {
                "server": f"https://127.0.0.1:{PORTS['kube-apiserver']}",
                "kubeconfig": os.path.join(self.kube_dir, "admin.kubeconfig"),
                "context": "odoo-saas-lab",
                "kubectl": os.path.join(self.bin_dir, "kubectl"),
                "node_pools": {pool: spec[2] for pool, spec in kube.DEFAULT_POOLS.items()},
            },
            "traefik": {"api": f"http://127.0.0.1:{PORTS['traefik-api']}",
                        "web": f"http://127.0.0.1:{PORTS['traefik-web']}",
                        "websecure": f"https://127.0.0.1:{PORTS['traefik-websecure']}",
                        "namespace": "traefik", "cert_resolver": "letsencrypt",
                        "acme": {"directory": f"https://127.0.0.1:{PORTS['pebble']}/dir",
                                 "management": f"https://127.0.0.1:{PORTS['pebble-management']}"}},
            "postgres": {"platform": platform, "legacy": legacy},
            "redis": redis_info,
            "blob": blob,
            "arm": arm,
            "legacy_vm": legacy_vm,
        }
        _write(state_file, json.dumps(state, indent=2, sort_keys=True))
        return state

    def legacy_vm(self):
        return legacy.LegacyVM(self, PORTS["legacy-vm"], PORTS["legacy-odoo"])

    def down(self, purge=False):
        stopped = []
        if self.legacy_vm().stop_odoo():  # the VM's own service goes down with the VM
            stopped.append("legacy-odoo")
        for name in reversed(ORDER):
            sig = signal.SIGINT if name.startswith("postgres") else signal.SIGTERM
            if self.procs.stop(name, stop_signal=sig):
                stopped.append(name)
        for name in self.procs.names():  # anything recorded outside ORDER
            if self.procs.stop(name):
                stopped.append(name)
        state_file = os.path.join(self.state, "lab.json")
        if os.path.exists(state_file):
            os.unlink(state_file)
        if purge:
            shutil.rmtree(self.state, ignore_errors=True)
        return stopped

    def status(self):
        """One row per service: (name, pid, port, healthy, rss KiB, peak rss KiB)."""
        rows = []
        for name in ORDER:
            record = self.procs.recorded(name)
            port = PORTS.get(name) or PORTS.get(name + "-api")
            rss, peak = group_memory(record["pid"]) if record else (0, 0)
            rows.append((name, record["pid"] if record else None, port,
                         bool(record) and (port is None or port_open(port)), rss, peak))
        return rows

    def legacy_odoo_status(self):
        """The legacy VM's Odoo is the VM's service, stopped by a migration: shown, not required."""
        return "running" if self.legacy_vm().odoo_running() else "stopped"

    def leftovers(self):
        """Lab ports still listening and processes still running from the lab's state or cache folders."""
        ports = [f"{name}:{port}" for name, port in PORTS.items() if port_open(port)]
        procs = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if (self.state in cmdline or self.cache + "/bin" in cmdline) and "labctl.py" not in cmdline:
                procs.append(f"{entry}: {cmdline.strip()[:120]}")
        return ports, procs
