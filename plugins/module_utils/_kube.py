# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that talks to the Kubernetes API.

A small client on one kept-alive HTTPS connection (the API server is reached many times per task,
and a fleet run starts hundreds of tasks, so start-up cost and round trips matter more than features):

- authentication from a kubeconfig and context, a host with a token and CA, in-cluster credentials,
  or an Entra token fetched through azure-identity for Entra-only AKS (no kubelogin binary);
- server-side apply with the field manager `odoo_saas.platform`, and `dryRun=All` in check mode;
- a converge step that compares the desired objects with the live ones first and applies only
  those that differ, so a run with nothing to do sends no write;
- waits on a monotonic clock; retries of 429, 5xx and conflicts with jittered backoff.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import http.client
import json
import os
import random
import ssl
import tempfile
import time
import urllib.parse

from ansible.module_utils.basic import env_fallback

from ._common import OdooSaasError, ServiceError

FIELD_MANAGER = "odoo_saas.platform"
HASH_ANNOTATION = "odoo-saas.platform/applied-hash"
AKS_ENTRA_SCOPE = "6dae42f8-4368-4678-94ff-3960e28e3630/.default"
# In a pod: the service account's token (rotated by the kubelet) and the cluster CA, as client-go reads them.
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# Entra authority hosts that azure-identity knows; any other AZURE_AUTHORITY_HOST is a custom cloud.
PUBLIC_AUTHORITY_HOSTS = ("login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn")
RETRY_STATUSES = {409, 429, 500, 502, 503, 504}

# kind -> (API prefix, plural, namespaced)
KINDS = {
    "Namespace": ("/api/v1", "namespaces", False),
    "Node": ("/api/v1", "nodes", False),
    "ResourceQuota": ("/api/v1", "resourcequotas", True),
    "LimitRange": ("/api/v1", "limitranges", True),
    "Secret": ("/api/v1", "secrets", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "Service": ("/api/v1", "services", True),
    "Pod": ("/api/v1", "pods", True),
    "PersistentVolumeClaim": ("/api/v1", "persistentvolumeclaims", True),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "StatefulSet": ("/apis/apps/v1", "statefulsets", True),
    "Job": ("/apis/batch/v1", "jobs", True),
    "CronJob": ("/apis/batch/v1", "cronjobs", True),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies", True),
    "PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets", True),
    "HorizontalPodAutoscaler": ("/apis/autoscaling/v2", "horizontalpodautoscalers", True),
    "IngressRoute": ("/apis/traefik.io/v1alpha1", "ingressroutes", True),
    "Middleware": ("/apis/traefik.io/v1alpha1", "middlewares", True),
}


def kube_argument_spec():
    """Connection options shared by the Kubernetes modules; documented in doc_fragments/kubernetes.py."""
    return {
        "kubeconfig": {"type": "path", "fallback": (env_fallback, ["K8S_AUTH_KUBECONFIG", "KUBECONFIG"])},
        "context": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_CONTEXT"])},
        "host": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_HOST"])},
        "api_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["K8S_AUTH_API_KEY"])},
        "ca_cert": {"type": "path", "fallback": (env_fallback, ["K8S_AUTH_SSL_CA_CERT"])},
        "validate_certs": {"type": "bool", "default": True},
        "entra_token": {"type": "bool", "default": False},
        "request_timeout": {"type": "int", "default": 30},
    }


class KubeError(ServiceError):
    def __init__(self, msg, status=None, reason=None, **details):
        super().__init__(msg, **details)
        self.status = status
        self.reason = reason


class Credentials:
    """Where the API server is and how to authenticate, resolved once per task.

    The first source found wins: `host`, then the `kubeconfig` option (or its environment variables), then
    ~/.kube/config, then in-cluster credentials; `entra_token` replaces the token of any of them.
    """

    def __init__(self, params):
        self.server = None
        self.token_file = None
        self._token = None
        self._token_stamp = None
        self.ca_file = None
        self.client_cert = None
        self.verify = params.get("validate_certs", True)
        self._tmp = []
        if params.get("host"):
            self.server = params["host"]
            self.token = params.get("api_key")
            self.ca_file = params.get("ca_cert")
        elif params.get("kubeconfig") or os.path.exists(os.path.expanduser("~/.kube/config")):
            self._from_kubeconfig(params.get("kubeconfig") or os.path.expanduser("~/.kube/config"),
                                  params.get("context"))
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            self._in_cluster()
        else:
            raise OdooSaasError("no Kubernetes credentials: set kubeconfig (or K8S_AUTH_KUBECONFIG), or host with "
                                "api_key, or run inside a cluster.")
        if params.get("ca_cert"):
            self.ca_file = params["ca_cert"]
        if params.get("entra_token"):
            self.token = _entra_token()

    @property
    def token(self):
        """The bearer token; a token file is read again when it changes, as the kubelet rotates it."""
        if self.token_file:
            self._read_token_file()
        return self._token

    @token.setter
    def token(self, value):
        self._token = value
        self.token_file = None

    def _use_token_file(self, path, what):
        self.token_file = path
        self._token_stamp = None
        try:
            self._read_token_file(strict=True)
        except OSError as exc:
            raise OdooSaasError(f"{what} cannot be read: {exc}") from exc

    def _read_token_file(self, strict=False):
        try:
            stat = os.stat(self.token_file)
            stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if stamp != self._token_stamp:
                with open(self.token_file, encoding="utf-8") as handle:
                    self._token = handle.read().strip()
                self._token_stamp = stamp
        except OSError:
            if strict:
                raise  # later, while a rotation swaps the file, the token already read stays in use

    def _in_cluster(self):
        host = os.environ["KUBERNETES_SERVICE_HOST"]
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        self.server = f"https://{host}:{os.environ.get('KUBERNETES_SERVICE_PORT') or '443'}"
        token = os.path.join(SERVICE_ACCOUNT_DIR, "token")
        self._use_token_file(token, f"KUBERNETES_SERVICE_HOST is set (in-cluster credentials), but the service "
                                    f"account token {token!r}")
        self.ca_file = os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt")

    def _from_kubeconfig(self, path, context_name):
        import yaml  # pylint: disable=import-outside-toplevel

        try:
            with open(path, encoding="utf-8") as handle:
                config = yaml.safe_load(handle)
        except OSError as exc:
            raise OdooSaasError(f"kubeconfig={path!r} cannot be read: {exc}. Check the path.") from exc
        name = context_name or config.get("current-context")
        contexts = {c["name"]: c["context"] for c in config.get("contexts") or []}
        if name not in contexts:
            raise OdooSaasError(f"context={name!r} is not in kubeconfig {path!r}; it has "
                                f"{', '.join(sorted(contexts)) or 'no contexts'}.")
        context = contexts[name]
        cluster = {c["name"]: c["cluster"] for c in config.get("clusters") or []}[context["cluster"]]
        user = {u["name"]: u["user"] for u in config.get("users") or []}.get(context.get("user"), {})
        base = os.path.dirname(os.path.abspath(path))
        self.server = cluster["server"]
        if cluster.get("insecure-skip-tls-verify"):
            self.verify = False
        self.ca_file = self._file(cluster, "certificate-authority", base)
        self.token = user.get("token")
        if user.get("tokenFile"):
            token = os.path.join(base, user["tokenFile"])
            self._use_token_file(token, f"the tokenFile {token!r} of kubeconfig {path!r}")
        cert = self._file(user, "client-certificate", base)
        key = self._file(user, "client-key", base)
        if cert and key:
            self.client_cert = (cert, key)

    def _file(self, section, key, base):
        if section.get(key + "-data"):
            handle = tempfile.NamedTemporaryFile("wb", delete=False, prefix="odoo-saas-kube-")  # pylint: disable=consider-using-with
            handle.write(base64.b64decode(section[key + "-data"]))
            handle.close()
            os.chmod(handle.name, 0o600)
            self._tmp.append(handle.name)
            return handle.name
        if section.get(key):
            return os.path.join(base, section[key])
        return None

    def cleanup(self):
        for path in self._tmp:
            try:
                os.unlink(path)
            except OSError:
                pass


def _entra_token():
    """A token for AKS's Entra server application, from azure-identity's default chain.

    The chain reads its environment variables (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET or a workload
    identity, or a managed identity). An AZURE_AUTHORITY_HOST outside Azure's public and sovereign clouds is a
    custom cloud's, which has no instance metadata on login.microsoftonline.com: it is used without instance
    discovery. Its CA comes from REQUESTS_CA_BUNDLE, as for any requests-based client.
    """
    try:
        from azure.core.exceptions import ClientAuthenticationError  # pylint: disable=import-outside-toplevel
        from azure.identity import DefaultAzureCredential  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise OdooSaasError("entra_token needs the azure-identity Python package: pip install azure-identity") \
            from exc
    kwargs = {}
    authority = os.environ.get("AZURE_AUTHORITY_HOST")
    if authority and (urllib.parse.urlsplit(authority).hostname or authority) not in PUBLIC_AUTHORITY_HOSTS:
        kwargs = {"authority": authority, "disable_instance_discovery": True}
    try:
        return DefaultAzureCredential(**kwargs).get_token(AKS_ENTRA_SCOPE).token
    except ClientAuthenticationError as exc:
        raise OdooSaasError(f"entra_token: no Entra token for the AKS server application ({AKS_ENTRA_SCOPE}): "
                            f"{exc.message}") from exc


class Client:
    """Requests to one API server over one kept-alive connection; counts writes."""

    def __init__(self, params):
        self.creds = Credentials(params)
        self.timeout = params.get("request_timeout", 30)
        url = urllib.parse.urlsplit(self.creds.server)
        self.host, self.port = url.hostname, url.port or (443 if url.scheme == "https" else 80)
        self.base_path = url.path.rstrip("/")
        self.https = url.scheme == "https"
        self._conn = None
        self.writes = 0
        self.requests = 0

    def _connection(self):
        if self._conn is None:
            if self.https:
                context = ssl.create_default_context(cafile=self.creds.ca_file)
                if not self.creds.verify:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                if self.creds.client_cert:
                    context.load_cert_chain(*self.creds.client_cert)
                self._conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=context)
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self):
        if self._conn is not None:
            self._conn.close()
        self.creds.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, method, path, body=None, query=None, content_type="application/json", attempts=6):
        """One API call with retries on 429, 5xx and conflicts; returns (status, decoded body)."""
        url = self.base_path + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"Accept": "application/json", "User-Agent": "odoo_saas.platform"}
        if self.creds.token:
            headers["Authorization"] = "Bearer " + self.creds.token
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        delay = 0.2
        for attempt in range(attempts):
            try:
                conn = self._connection()
                conn.request(method, url, body=payload, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                self._conn = None
                if attempt == attempts - 1:
                    raise KubeError(f"cannot reach the Kubernetes API at {self.creds.server}: {exc}") from exc
                time.sleep(random.uniform(0, delay))
                delay *= 2
                continue
            self.requests += 1
            if method in ("POST", "PUT", "PATCH", "DELETE") and "dryRun" not in (query or {}):
                self.writes += 1
            data = json.loads(raw) if raw and raw[:1] in (b"{", b"[") else {}
            if status in RETRY_STATUSES and attempt < attempts - 1 and not (status == 409 and method == "POST"):
                retry_after = response.getheader("Retry-After")
                wait = float(retry_after) if retry_after and retry_after.isdigit() else random.uniform(0, delay)
                time.sleep(min(wait, 10))
                delay *= 2
                continue
            return status, data
        return status, data

    # ------------------------------------------------------------ resources
    @staticmethod
    def path(kind, name=None, namespace=None):
        if kind not in KINDS:
            raise OdooSaasError(f"kind {kind!r} is not known to the Kubernetes helper")
        prefix, plural, namespaced = KINDS[kind]
        path = prefix
        if namespaced and namespace:  # without a namespace: across all namespaces
            path += f"/namespaces/{namespace}"
        path += f"/{plural}"
        if name:
            path += f"/{name}"
        return path

    def get(self, kind, name, namespace=None):
        status, data = self.request("GET", self.path(kind, name, namespace))
        if status == 404:
            return None
        if status != 200:
            raise _error(status, data, f"GET {kind} {namespace + '/' if namespace else ''}{name}")
        return data

    def list(self, kind, namespace=None, label_selector=None):
        query = {"labelSelector": label_selector} if label_selector else None
        status, data = self.request("GET", self.path(kind, None, namespace), query=query)
        if status == 404 and namespace:
            return []
        if status != 200:
            raise _error(status, data, f"LIST {kind}")
        return data.get("items", [])

    def apply(self, obj, dry_run=False, field_manager=FIELD_MANAGER):
        meta = obj["metadata"]
        query = {"fieldManager": field_manager, "force": "true"}
        if dry_run:
            query["dryRun"] = "All"
        status, data = self.request("PATCH", self.path(obj["kind"], meta["name"], meta.get("namespace")), body=obj,
                                    query=query, content_type="application/apply-patch+yaml")
        if status not in (200, 201):
            raise _error(status, data, f"apply {obj['kind']} {meta.get('namespace', '')}/{meta['name']}")
        return data

    def patch_merge(self, kind, name, namespace, body, dry_run=False):
        query = {"fieldManager": FIELD_MANAGER}
        if dry_run:
            query["dryRun"] = "All"
        status, data = self.request("PATCH", self.path(kind, name, namespace), body=body, query=query,
                                    content_type="application/merge-patch+json")
        if status != 200:
            raise _error(status, data, f"patch {kind} {namespace}/{name}")
        return data

    def delete(self, kind, name, namespace=None, dry_run=False, propagation="Background"):
        query = {"propagationPolicy": propagation}
        if dry_run:
            query["dryRun"] = "All"
        status, data = self.request("DELETE", self.path(kind, name, namespace), query=query)
        if status == 404:
            return False
        if status not in (200, 202):
            raise _error(status, data, f"delete {kind} {namespace or ''}/{name}")
        return True


def _error(status, data, what):
    message = data.get("message") if isinstance(data, dict) else None
    return KubeError(f"Kubernetes refused {what}: {status} {message or data}", status=status,
                     reason=(data or {}).get("reason") if isinstance(data, dict) else None)


# ------------------------------------------------------------------ converge
def desired_hash(obj):
    clean = copy.deepcopy(obj)
    clean["metadata"].get("annotations", {}).pop(HASH_ANNOTATION, None)
    return hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()[:16]


def with_hash(obj):
    obj = copy.deepcopy(obj)
    obj["metadata"].setdefault("annotations", {})[HASH_ANNOTATION] = desired_hash(obj)
    return obj


def subset(desired, live):
    """True when every value in `desired` is present and equal in `live` (the server may add more)."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        # The API server drops empty lists and maps, so an empty desired value matches a missing one.
        return all(subset(value, live[key]) if key in live else value in ({}, [], None)
                   for key, value in desired.items())
    if isinstance(desired, list):
        if not isinstance(live, list) or len(desired) != len(live):
            return False
        return all(subset(d, l) for d, l in zip(desired, live))
    return desired == live


def project(desired, live):
    """The part of `live` that `desired` manages: what diff mode shows as before and after."""
    if isinstance(desired, dict) and isinstance(live, dict):
        return {key: project(value, live[key]) for key, value in desired.items() if key in live}
    if isinstance(desired, list) and isinstance(live, list):
        return [project(d, l) for d, l in zip(desired, live)] + live[len(desired):]
    return live


def _redact(obj):
    if obj and obj.get("kind") == "Secret":
        obj = copy.deepcopy(obj)
        for key in ("data", "stringData"):
            if key in obj:
                obj[key] = {k: "********" for k in obj[key]}
    return obj


class Converger:
    """Applies a list of desired objects, writing only those that differ from the live ones."""

    def __init__(self, client, check_mode):
        self.client = client
        self.check_mode = check_mode
        self.changed = []
        self.before = {}
        self.after = {}
        self.live = {}

    def converge(self, obj, live=None, fetch=True):
        """Apply `obj` unless the live object already matches it; returns the live (or dry-run) object."""
        obj = with_hash(obj)
        meta = obj["metadata"]
        key = f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}".replace("//", "/")
        if live is None and fetch:
            live = self.client.get(obj["kind"], meta["name"], meta.get("namespace"))
        if live is not None and live.get("metadata", {}).get("annotations", {}).get(HASH_ANNOTATION) == \
                meta["annotations"][HASH_ANNOTATION] and subset(_comparable(obj), live):
            self.live[key] = live
            return live
        result = self.client.apply(obj, dry_run=self.check_mode)
        self.changed.append(key)
        self.before[key] = _redact(project(obj, live)) if live else None
        self.after[key] = _redact(project(obj, result))
        self.live[key] = result
        return result

    def would_create(self, obj):
        """Check mode, when the object's namespace does not exist yet (an earlier task would create it): there is
        nothing to dry-run against, so record the object as a creation."""
        meta = obj["metadata"]
        key = f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}".replace("//", "/")
        self.changed.append(key)
        self.before[key] = None
        self.after[key] = _redact(obj)

    def delete(self, kind, name, namespace=None):
        key = f"{kind}/{namespace or ''}/{name}".replace("//", "/")
        if self.client.delete(kind, name, namespace, dry_run=self.check_mode):
            self.changed.append(key)
            self.before[key] = {"exists": True}
            self.after[key] = None
            return True
        return False


def converge_result(conv, client, diff, **extra):
    """The result of a Kubernetes module: what changed, how many writes it took, and the diff if asked."""
    result = {"changed": bool(conv.changed), "changed_objects": conv.changed, "api_writes": client.writes}
    result.update(extra)
    if diff:
        result["diff"] = {"before": conv.before, "after": conv.after}
    return result


def _comparable(obj):
    """What can be compared with the live object: Secrets' stringData comes back as base64 data."""
    if obj.get("kind") == "Secret" and "stringData" in obj:
        obj = copy.deepcopy(obj)
        data = obj.setdefault("data", {})
        for key, value in obj.pop("stringData").items():
            data[key] = base64.b64encode(value.encode()).decode()
    return obj


# --------------------------------------------------------------------- waits
def wait_for(check, timeout, what, interval=0.5):
    """Poll `check()` on a monotonic clock; return its value, or raise with the last state seen."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        done, last = check()
        if done:
            return last
        if time.monotonic() >= deadline:
            raise KubeError(f"timed out after {timeout}s waiting for {what}", state=last)
        time.sleep(interval)


def deployment_available(client, name, namespace):
    def check():
        dep = client.get("Deployment", name, namespace)
        if dep is None:
            return False, None
        status = dep.get("status", {})
        conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
        want = dep["spec"].get("replicas", 1)
        done = status.get("observedGeneration", 0) >= dep["metadata"]["generation"] and \
            status.get("updatedReplicas", 0) == want and status.get("availableReplicas", 0) == want and \
            (want == 0 or conditions.get("Available") == "True") and status.get("replicas", 0) == want
        return done, {"replicas": want, "ready": status.get("readyReplicas", 0),
                      "available": status.get("availableReplicas", 0), "updated": status.get("updatedReplicas", 0)}
    return check


def job_finished(client, name, namespace):
    def check():
        job = client.get("Job", name, namespace)
        if job is None:
            return False, None
        conditions = {c["type"]: c["status"] for c in job.get("status", {}).get("conditions", [])}
        state = {"succeeded": job["status"].get("succeeded", 0), "failed": job["status"].get("failed", 0),
                 "complete": conditions.get("Complete") == "True", "failed_condition": conditions.get("Failed") == "True"}
        return state["complete"] or state["failed_condition"], state
    return check


def gone(client, kind, name, namespace=None):
    def check():
        obj = client.get(kind, name, namespace)
        if obj is None:
            return True, None
        meta = obj["metadata"]
        return False, {"phase": obj.get("status", {}).get("phase"), "deletionTimestamp": meta.get("deletionTimestamp"),
                       "finalizers": meta.get("finalizers", [])}
    return check


def namespace_gone(client, name):
    return gone(client, "Namespace", name)
