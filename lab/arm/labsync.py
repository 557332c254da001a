"""What the emulated resources do to the lab: kwok nodes for agent pools, a login role for a server admin.

- Agent pools become kwok Nodes in the lab's Kubernetes, named and labelled as AKS names and labels them
  (`aks-<pool>-<8 digits from the cluster id>-vmss<index>`, `kubernetes.azure.com/cluster` set to the node
  resource group), with the pool's zones, taints, labels and VM size. All emulated clusters share the lab's
  one apiserver; the lab's own nodes (`-31415926-`, cluster `odoo-saas-lab`) are never touched.
- A flexible server's administrator becomes a login role in the lab's platform PostgreSQL, with what Azure
  gives its admin: CREATEROLE, CREATEDB, NOSUPERUSER, membership of `azure_pg_admin`, `pg_signal_backend`,
  `pg_read_all_settings` and `pg_read_all_stats`. The role carries a comment that marks it as the emulator's;
  a role that exists without that mark (the lab's own `postgres`, say) is never altered.
"""

import base64
import hashlib
import http.client
import json
import re
import ssl
import time
import urllib.parse

from arm.errors import ArmError
from lablib import kube

FIELD_MANAGER = "odoo-saas-lab-arm"
ROLE_COMMENT = "odoo-saas-lab ARM emulator: flexible server administrator"

# VM size -> (allocatable cpu, allocatable memory): what AKS reports once its reservations are taken off.
VM_SIZES = {
    "standard_b2s": ("1900m", "2200Mi"),
    "standard_b2ms": ("1900m", "5900Mi"),
    "standard_b4ms": ("3860m", "12880Mi"),
    "standard_d2s_v3": ("1900m", "5500Mi"),
    "standard_d4s_v3": ("3860m", "12880Mi"),
    "standard_d2ds_v5": ("1900m", "5500Mi"),
    "standard_d4ds_v5": ("3860m", "12880Mi"),
    "standard_d8ds_v5": ("7820m", "27930Mi"),
    "standard_d16ds_v5": ("15740m", "58060Mi"),
    "standard_d2s_v5": ("1900m", "5500Mi"),
    "standard_d4s_v5": ("3860m", "12880Mi"),
    "standard_d8s_v5": ("7820m", "27930Mi"),
    "standard_e2ds_v5": ("1900m", "12880Mi"),
    "standard_e4ds_v5": ("3860m", "27930Mi"),
    "standard_e8ds_v5": ("7820m", "58060Mi"),
    "standard_e16ds_v5": ("15740m", "119300Mi"),
}
DEFAULT_SIZE = ("1900m", "5500Mi")


def sync_failed(message):
    return ArmError(500, "LabNodeSyncFailed", f"The lab could not update the cluster's kwok nodes: {message}")


# ------------------------------------------------------------------------- names and manifests
def cluster_digits(cluster_id):
    """The 8 digits AKS puts in node names, derived here from the cluster's resource id."""
    return f"{int(hashlib.sha256(cluster_id.lower().encode()).hexdigest(), 16) % 10 ** 8:08d}"


def label_value(text):
    """A valid Kubernetes label value (63 characters of [A-Za-z0-9_.-], alphanumeric at both ends)."""
    value = re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", value)


def parse_taint(text):
    """`key=value:Effect` (or `key:Effect`) -> a Node taint; None when the text is not a taint."""
    match = re.match(r"^([A-Za-z0-9][-A-Za-z0-9_./]*)(?:=([-A-Za-z0-9_.]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$",
                     text or "")
    if not match:
        return None
    taint = {"key": match.group(1), "effect": match.group(3)}
    if match.group(2):
        taint["value"] = match.group(2)
    return taint


def node_count(pool):
    """The node count of a pool: its count, clamped to [minCount, maxCount] when autoscaling is on."""
    count = pool.get("count")
    count = 1 if count is None else count
    if pool.get("enableAutoScaling"):
        low, high = pool.get("minCount") or 0, pool.get("maxCount") or count
        count = max(low, min(high, count))
    return count


def pool_nodes(cluster, pool_name, pool):
    """The kwok Node manifests of one agent pool of an emulated managed cluster."""
    props = cluster.get("properties", {})
    cpu, memory = VM_SIZES.get((pool.get("vmSize") or "").lower(), DEFAULT_SIZE)
    taints = [parse_taint(t) for t in pool.get("nodeTaints") or []]
    labels = dict(pool.get("nodeLabels") or {})
    labels["kubernetes.azure.com/nodepool-type"] = "VirtualMachineScaleSets"
    labels["kubernetes.azure.com/os-sku"] = pool.get("osSKU") or "Ubuntu"
    labels["kubernetes.azure.com/node-image-version"] = "AKSUbuntu-2204gen2containerd-202601.05.0"
    digits = cluster_digits(cluster["id"])
    nodes = []
    for index in range(node_count(pool)):
        node = kube.node_manifest(
            pool_name, index, pool.get("mode") or "User", pool.get("vmSize") or "Standard_D2ds_v5",
            tuple(pool.get("availabilityZones") or ()), cpu, memory, [t for t in taints if t],
            extra_labels=labels, name=kube.node_name(pool_name, index, digits),
            cluster=label_value(props.get("nodeResourceGroup") or ""), region=cluster["location"],
            max_pods=pool.get("maxPods") or 250)
        version = pool.get("currentOrchestratorVersion") or props.get("currentKubernetesVersion") or "1.34.4"
        node["status"]["nodeInfo"]["kubeletVersion"] = "v" + version
        nodes.append(node)
    return nodes


# ------------------------------------------------------------------------------ the apiserver
class KubeApi:
    """A few calls to the lab apiserver, as the lab admin of `config["kubeconfig"]`."""

    def __init__(self, kubeconfig_path):
        with open(kubeconfig_path, encoding="utf-8") as handle:
            config = json.load(handle)
        cluster = config["clusters"][0]["cluster"]
        self.server = urllib.parse.urlsplit(cluster["server"])
        self.context = ssl.create_default_context(cafile=cluster.get("certificate-authority"))
        self.token = config["users"][0]["user"]["token"]

    def call(self, method, path, body=None, content_type="application/json"):
        conn = http.client.HTTPSConnection(self.server.hostname, self.server.port, context=self.context, timeout=15)
        try:
            headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
            payload = None
            if body is not None:
                payload = json.dumps(body).encode()
                headers["Content-Type"] = content_type
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except OSError as exc:
            raise sync_failed(f"{method} {path}: {exc}") from exc
        finally:
            conn.close()
        result = json.loads(data) if data else {}
        if response.status >= 300 and not (method == "DELETE" and response.status == 404):
            raise sync_failed(f"{method} {path} answered {response.status}: {result.get('message', data[:200])}")
        return result

    def nodes(self, cluster_label):
        selector = urllib.parse.quote(f"kubernetes.azure.com/cluster={cluster_label}")
        return self.call("GET", f"/api/v1/nodes?labelSelector={selector}")["items"]


def sync_nodes(kubeconfig, cluster, pools, wait=30.0):
    """Make the lab's nodes of `cluster` exactly those of `pools` ({name: properties}); wait until Ready."""
    api = KubeApi(kubeconfig)
    label = label_value(cluster["properties"].get("nodeResourceGroup") or "")
    if not label:
        raise sync_failed("the cluster has no node resource group")
    desired = {}
    for name, pool in pools.items():
        for node in pool_nodes(cluster, name, pool):
            desired[node["metadata"]["name"]] = node
    for node in api.nodes(label):
        if node["metadata"]["name"] not in desired:
            api.call("DELETE", f"/api/v1/nodes/{node['metadata']['name']}")
    for name, node in desired.items():
        # Server-side apply: the node is created with its status (allocatable), or its labels and taints
        # are brought to the pool's.
        api.call("PATCH", f"/api/v1/nodes/{name}?fieldManager={FIELD_MANAGER}&force=true", node,
                 content_type="application/apply-patch+yaml")
    deadline = time.monotonic() + wait
    while desired:
        ready = set()
        for node in api.nodes(label):
            conditions = {c["type"]: c["status"] for c in node.get("status", {}).get("conditions") or []}
            taints = {t["key"] for t in node.get("spec", {}).get("taints") or []}
            if conditions.get("Ready") == "True" and "node.kubernetes.io/not-ready" not in taints:
                ready.add(node["metadata"]["name"])
        if set(desired) <= ready:
            return sorted(desired)
        if time.monotonic() > deadline:
            raise sync_failed(f"nodes {sorted(set(desired) - ready)} were not Ready after {wait:.0f} s (is kwok up?)")
        time.sleep(0.2)
    return []


def delete_nodes(kubeconfig, cluster):
    sync_nodes(kubeconfig, cluster, {})


# ------------------------------------------------------------------------------- credentials
def cluster_kubeconfig(kubeconfig, cluster_name, user_name, exec_user=None):
    """The lab kubeconfig, renamed for the cluster, with the CA embedded as AKS does; YAML bytes."""
    import yaml  # pylint: disable=import-outside-toplevel

    with open(kubeconfig, encoding="utf-8") as handle:
        source = json.load(handle)
    cluster = dict(source["clusters"][0]["cluster"])
    ca_path = cluster.pop("certificate-authority", None)
    if ca_path:
        with open(ca_path, "rb") as handle:
            cluster["certificate-authority-data"] = base64.b64encode(handle.read()).decode()
    user = exec_user if exec_user is not None else dict(source["users"][0]["user"])
    config = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": cluster_name, "cluster": cluster}],
        "users": [{"name": user_name, "user": user}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": user_name}}],
        "current-context": cluster_name,
    }
    return yaml.safe_dump(config, sort_keys=False).encode()


# -------------------------------------------------------------------------------- PostgreSQL
def _connect(pg):
    import psycopg  # pylint: disable=import-outside-toplevel

    try:
        return psycopg.connect(host=pg["host"], port=pg["port"], user=pg.get("user", "postgres"),
                               password=pg["password"], dbname="postgres", autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise ArmError(500, "LabPostgresUnavailable", f"The lab PostgreSQL could not be reached: {exc}") from exc


def _role_state(conn, login):
    row = conn.execute("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s",
                       (login,)).fetchone()
    if row is None:
        return "missing"
    return "ours" if row[0] == ROLE_COMMENT else "foreign"


def ensure_admin_role(pg, login, password=None):
    """Create or update the admin login role; its password is set when one is given (create, or a change)."""
    from psycopg import sql  # pylint: disable=import-outside-toplevel

    with _connect(pg) as conn:
        state = _role_state(conn, login)
        if state == "foreign":
            raise ArmError(409, "LabRoleConflict",
                           f"The lab PostgreSQL already has a role '{login}' that the emulator does not manage; "
                           "choose another administratorLogin.")
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'azure_pg_admin'").fetchone() is None:
            conn.execute("CREATE ROLE azure_pg_admin NOLOGIN")
        ident = sql.Identifier(login)
        verb = sql.SQL("CREATE ROLE") if state == "missing" else sql.SQL("ALTER ROLE")
        statement = sql.SQL("{} {} LOGIN CREATEROLE CREATEDB NOSUPERUSER INHERIT").format(verb, ident)
        if password is not None:
            statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
        conn.execute(statement)
        conn.execute(sql.SQL("COMMENT ON ROLE {} IS {}").format(ident, sql.Literal(ROLE_COMMENT)))
        conn.execute(sql.SQL("GRANT azure_pg_admin, pg_signal_backend, pg_read_all_settings, pg_read_all_stats "
                             "TO {}").format(ident))


def drop_admin_role(pg, login):
    """Drop the admin role when it is ours and owns nothing; return whether it was dropped."""
    import psycopg  # pylint: disable=import-outside-toplevel
    from psycopg import sql  # pylint: disable=import-outside-toplevel

    with _connect(pg) as conn:
        if _role_state(conn, login) != "ours":
            return False
        try:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))
        except psycopg.Error:
            return False  # it owns objects or holds privileges somewhere: it is left in place
        return True
