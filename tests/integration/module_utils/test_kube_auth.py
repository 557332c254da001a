"""_kube.py's two other ways to log in, against the lab's real kube-apiserver:

- in-cluster credentials: a real bound service-account token from the TokenRequest API, in a service-account
  folder like the one the kubelet mounts, with KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT;
- `entra_token`: a token for the AKS server application from azure-identity's default chain, which the lab
  apiserver accepts, as AKS does, through a token webhook (the ARM emulator's guard) that checks the token.

Who the API server took the client for is read back from it (SelfSubjectReview), and what it may do is RBAC's
answer to real requests: a permitted read succeeds, a forbidden one is refused naming that user.
"""

import base64
import hashlib
import hmac
import json
import os
import shutil
import time
import urllib.parse
import uuid

import pytest
from azure.identity import ClientSecretCredential
from kubernetes import client

from integration.ansible_task import module_utils, run_task
from integration.helpers import wait_for

AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"


@pytest.fixture(scope="module")
def kube_utils():
    return module_utils("_kube")


def whoami(kube_client):
    """The user the API server authenticated the client as (SelfSubjectReview)."""
    status, body = kube_client.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                       body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    assert status == 201, (status, body)
    return body["status"]["userInfo"]


def refusal(kube_utils, call):
    """The KubeError that `call()` raises."""
    with pytest.raises(kube_utils.KubeError) as caught:
        call()
    return caught.value


def objects_to_read(kube, namespace):
    """A ConfigMap the test principals may read and a Secret they may not."""
    core = client.CoreV1Api(kube)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "readable"}, "data": {"k": "v"}})
    core.create_namespaced_secret(namespace, {"metadata": {"name": "hidden"}, "stringData": {"k": "v"}})
    client.RbacAuthorizationV1Api(kube).create_namespaced_role(namespace, {
        "metadata": {"name": "configmap-reader"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]})


def bind_reader(kube, namespace, subject):
    client.RbacAuthorizationV1Api(kube).create_namespaced_role_binding(namespace, {
        "metadata": {"name": f"reader-{uuid.uuid4().hex[:6]}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "configmap-reader"},
        "subjects": [subject]})


# ------------------------------------------------------------------------------------------------ in-cluster
def service_account_token(kube, namespace, name):
    """A bound token of a new service account, from the TokenRequest API (what the kubelet projects into a pod)."""
    core = client.CoreV1Api(kube)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
    request = core.create_namespaced_service_account_token(name, namespace, {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}})
    return request.status.token


def write_atomically(path, text):
    """Replace a file as the kubelet's atomic writer does: the path names a new file at once."""
    with open(path + ".new", "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(path + ".new", path)


@pytest.fixture
def pod_environment(lab, kube_utils, monkeypatch, tmp_path):
    """A process environment like a pod's: the service-account folder (SERVICE_ACCOUNT_DIR, pointed at a temporary
    folder), KUBERNETES_SERVICE_HOST/PORT naming the lab apiserver, and no kubeconfig anywhere. A HOME without
    ~/.kube/config: one on this machine would take precedence over in-cluster credentials, as it does for client-go."""
    folder = tmp_path / "serviceaccount"
    folder.mkdir()
    shutil.copy(lab["ca_bundle"], folder / "ca.crt")
    server = urllib.parse.urlsplit(lab["kubernetes"]["server"])
    monkeypatch.setattr(kube_utils, "SERVICE_ACCOUNT_DIR", str(folder))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", server.hostname)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("KUBECONFIG", "K8S_AUTH_KUBECONFIG", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert not os.path.exists(os.path.expanduser("~/.kube/config"))
    return folder


def test_in_cluster_service_account(lab, kube, namespace, kube_utils, pod_environment):
    objects_to_read(kube, namespace)
    (pod_environment / "token").write_text(service_account_token(kube, namespace, "reader"))
    (pod_environment / "namespace").write_text(namespace)
    bind_reader(kube, namespace, {"kind": "ServiceAccount", "name": "reader", "namespace": namespace})
    user = f"system:serviceaccount:{namespace}:reader"

    with kube_utils.Client({}) as api:  # no host, no kubeconfig: in-cluster credentials
        assert api.creds.server == lab["kubernetes"]["server"]
        assert api.creds.token_file == str(pod_environment / "token")
        assert api.creds.ca_file == str(pod_environment / "ca.crt")
        identity = whoami(api)
        assert identity["username"] == user, identity
        assert {"system:serviceaccounts", f"system:serviceaccounts:{namespace}"} <= set(identity["groups"])
        readable = wait_for(lambda: _readable(kube_utils, api, namespace), timeout=10, what="the RoleBinding")
        assert readable["data"] == {"k": "v"}
        denied = refusal(kube_utils, lambda: api.get("Secret", "hidden", namespace))
        assert denied.status == 403 and f'User "{user}" cannot get resource "secrets"' in str(denied), str(denied)


def test_in_cluster_token_is_read_again_when_rotated(kube, namespace, kube_utils, pod_environment):
    """The kubelet rotates a projected token in place; one Client (one task) sends the new one from its next request."""
    objects_to_read(kube, namespace)
    write_atomically(str(pod_environment / "token"), service_account_token(kube, namespace, "reader"))
    bind_reader(kube, namespace, {"kind": "ServiceAccount", "name": "reader", "namespace": namespace})
    rotated = service_account_token(kube, namespace, "rotated")  # another account, so the switch shows

    with kube_utils.Client({}) as api:
        assert whoami(api)["username"] == f"system:serviceaccount:{namespace}:reader"
        wait_for(lambda: _readable(kube_utils, api, namespace), timeout=10, what="the RoleBinding")
        write_atomically(str(pod_environment / "token"), rotated)
        assert whoami(api)["username"] == f"system:serviceaccount:{namespace}:rotated"
        denied = refusal(kube_utils, lambda: api.get("ConfigMap", "readable", namespace))
        assert denied.status == 403 and f"system:serviceaccount:{namespace}:rotated" in str(denied)


def _readable(kube_utils, api, namespace):
    try:
        return api.get("ConfigMap", "readable", namespace)
    except kube_utils.KubeError as exc:
        if exc.status == 403:  # the RBAC authorizer's informers have not seen the binding yet
            return None
        raise


# ------------------------------------------------------------------------------------------------------ Entra
@pytest.fixture
def entra_environment(lab, monkeypatch):
    """azure-identity's environment for the lab's service principal: the emulator as a custom cloud's authority,
    its CA for requests. Returns the principal's object id, which is its Kubernetes user name on AKS."""
    arm = lab["arm"]
    for name, value in (("AZURE_CLIENT_ID", arm["client_id"]), ("AZURE_CLIENT_SECRET", arm["client_secret"]),
                        ("AZURE_TENANT_ID", arm["tenant_id"]), ("AZURE_AUTHORITY_HOST", arm["authority"]),
                        ("REQUESTS_CA_BUNDLE", arm["ca_bundle"])):
        monkeypatch.setenv(name, value)
    for name in ("KUBECONFIG", "K8S_AUTH_KUBECONFIG", "K8S_AUTH_API_KEY", "AZURE_USERNAME",
                 "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    return arm["client_id"]


def _host_options(lab, **extra):
    """The API server and its CA, with no token of the lab's: the token can only come from Entra."""
    return dict({"host": lab["kubernetes"]["server"], "ca_cert": lab["ca_bundle"]}, **extra)


def test_entra_token_authenticates_through_the_guard_webhook(lab, kube, namespace, kube_utils, entra_environment):
    objects_to_read(kube, namespace)
    bind_reader(kube, namespace, {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": entra_environment})

    with kube_utils.Client(_host_options(lab, entra_token=True)) as api:
        identity = whoami(api)
        assert identity["username"] == entra_environment, identity
        assert set(lab["arm"]["client_groups"]) <= set(identity["groups"]), identity  # the token's groups claim
        assert identity["extra"]["oid"] == [entra_environment]
        readable = wait_for(lambda: _readable(kube_utils, api, namespace), timeout=10, what="the RoleBinding")
        assert readable["data"] == {"k": "v"}
        denied = refusal(kube_utils, lambda: api.get("Secret", "hidden", namespace))
        assert denied.status == 403 and f'User "{entra_environment}" cannot get resource "secrets"' in str(denied)


def _claims(token):
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _signed(lab, claims):
    """A token signed with the emulator's key (read from its configuration), as Entra would sign it."""
    with open(os.path.join(lab["state_dir"], "arm", "config.json"), encoding="utf-8") as handle:
        key = json.load(handle)["signing_key"]

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest())}"


def test_entra_tokens_the_guard_refuses(lab, kube, namespace, kube_utils, entra_environment):
    """Refused with 401: a token for ARM instead of the AKS server application, an expired one, and one whose
    claims were changed after signing. Each of them would be bound to a user who may read the ConfigMap."""
    arm = lab["arm"]
    objects_to_read(kube, namespace)
    credential = ClientSecretCredential(arm["tenant_id"], arm["client_id"], arm["client_secret"],
                                        authority=arm["authority"], disable_instance_discovery=True,
                                        connection_verify=arm["ca_bundle"])
    good = credential.get_token(f"{AKS_SERVER_APP}/.default").token
    claims = _claims(good)
    assert claims["aud"] == AKS_SERVER_APP
    now = int(time.time())
    forged = dict(claims, oid="00000000-0000-4000-8000-00000000f0f0")
    tampered = ".".join([good.split(".")[0], base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=")
                         .decode(), good.split(".")[2]])
    tokens = {
        "wrong audience": credential.get_token("https://management.azure.com/.default").token,
        "expired": _signed(lab, dict(claims, iat=now - 7200, nbf=now - 7200, exp=now - 3600)),
        "tampered": tampered,
    }
    for subject in (entra_environment, forged["oid"]):
        bind_reader(kube, namespace, {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": subject})
    with kube_utils.Client(_host_options(lab, api_key=good)) as api:  # the untouched token reads
        wait_for(lambda: _readable(kube_utils, api, namespace), timeout=10, what="the RoleBinding")
    for what, token in tokens.items():
        with kube_utils.Client(_host_options(lab, api_key=token)) as api, \
                pytest.raises(kube_utils.KubeError) as refused:
            api.get("ConfigMap", "readable", namespace)
        assert refused.value.status == 401 and refused.value.reason == "Unauthorized", (what, str(refused.value))


def test_module_with_entra_token_and_no_kubeconfig(lab, kube, namespace, entra_environment):
    """traefik_route with `entra_token: true`, the API server and its CA only: refused (403, naming the principal)
    until the principal's Entra group is bound to a ClusterRole, then it converges, and converges again to nothing."""
    name = f"entra-{uuid.uuid4().hex[:6]}"
    rbac = client.RbacAuthorizationV1Api(kube)
    group = lab["arm"]["client_groups"][0]
    args = _host_options(lab, entra_token=True, name=name, namespace=namespace, odoo_version="17.0",
                         hosts=[f"{name}.example.com"], tls={"secret_name": f"{name}-tls"})

    refused = run_task("traefik_route", args)
    assert refused.get("failed") and f'User "{entra_environment}" cannot list resource "ingressroutes"' in \
        refused["msg"], refused.get("msg")
    rbac.create_cluster_role({"metadata": {"name": name}, "rules": [
        {"apiGroups": ["traefik.io"], "resources": ["ingressroutes", "middlewares"],
         "verbs": ["get", "list", "create", "patch", "delete"]},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}]})
    rbac.create_cluster_role_binding({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]})
    try:
        created = wait_for(lambda: _unless_forbidden(run_task("traefik_route", args, verbosity=3)), timeout=20,
                           what="the ClusterRoleBinding")
        assert created["changed"] is True and not created.get("failed"), created.get("msg")
        assert lab["arm"]["client_secret"] not in created.output
        routes = client.CustomObjectsApi(kube).list_namespaced_custom_object(
            "traefik.io", "v1alpha1", namespace, "ingressroutes")["items"]
        assert sorted(r["metadata"]["name"] for r in routes) == ["odoo", "odoo-http"]
        again = run_task("traefik_route", args)
        assert again["changed"] is False and again["api_writes"] == 0, again
        assert run_task("traefik_route", dict(args, state="absent"))["changed"] is True
    finally:
        rbac.delete_cluster_role_binding(name)
        rbac.delete_cluster_role(name)


def _unless_forbidden(result):
    """None while RBAC's informers have not seen a new binding yet; the result otherwise."""
    return None if "forbidden" in result.get("msg", "") else result
