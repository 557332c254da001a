"""An Azure Resource Manager and Entra ID emulator for the offline lab.

It speaks the protocol the Azure SDKs speak, over HTTPS with the lab CA:

- Entra ID: `/<tenant>/v2.0/.well-known/openid-configuration` and the client-credentials token
  endpoint `/<tenant>/oauth2/v2.0/token`, which is what azure-identity uses with a custom authority;
- cloud metadata: `/metadata/endpoints`;
- AKS's guard: `POST /guard/tokenreviews`, the token-review webhook through which the lab kube-apiserver
  (`--authentication-token-webhook-config-file`) accepts the Entra tokens issued here, as AKS does;
- ARM: subscriptions and resource groups, with the ARM error shape, `api-version` checks,
  bearer-token checks, and asynchronous deletes polled through a `Location` header;
- resource providers, each in `arm/providers/` on top of the generic mechanics of `arm/resources.py`:
  AKS managed clusters with their agent pools and credentials (`providers/aks.py`), and PostgreSQL
  flexible servers with their databases, firewall rules and configurations (`providers/postgres.py`).
  Their side effects on the lab (kwok nodes, PostgreSQL roles) live in `arm/labsync.py`.

Faults can be injected for tests through `POST /_lab/faults`; `GET /_lab/requests` lists every ARM
request as (method, path, status).
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from arm import providers  # noqa: E402  pylint: disable=wrong-import-position
from arm.errors import ArmError  # noqa: E402  pylint: disable=wrong-import-position
from arm.providers.aks import AKS_SERVER_APP_ID  # noqa: E402  pylint: disable=wrong-import-position
from arm.store import Store  # noqa: E402  pylint: disable=wrong-import-position
from arm.validate import BodyError, validate  # noqa: E402  pylint: disable=wrong-import-position

AUDIENCES = ("https://management.azure.com/", "https://management.core.windows.net/")
RG_NAME = re.compile(r"^[-\w._()]{1,90}$", re.UNICODE)


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Emulator:
    def __init__(self, state_dir, base_url):
        with open(os.path.join(state_dir, "config.json"), encoding="utf-8") as handle:
            self.config = json.load(handle)
        self.base_url = base_url
        self.store = Store(os.path.join(state_dir, "resources.json"))
        self.faults = []
        self.fault_lock = threading.Lock()
        self.operations = {}
        self.request_log = []
        self.lock = threading.RLock()  # writes and operation completions run one at a time

    def require_subscription(self, sub):
        if sub.lower() != self.config["subscription_id"].lower():
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")

    def delete_tree(self, resource_id):
        """Delete a resource and everything below it, running the providers' delete side effects first."""
        prefix = resource_id.lower()
        with self.store.lock:
            doomed = [r for k, r in self.store.resources.items() if k == prefix or k.startswith(prefix + "/")]
        hooked = [r for r in doomed if r.get("type", "").lower() in providers.DELETE_HOOKS]
        roots = {r["id"].lower() for r in hooked}
        for resource in hooked:
            if any(resource["id"].lower().startswith(root + "/") for root in roots):
                continue  # a cluster's hook takes care of its pools
            providers.DELETE_HOOKS[resource["type"].lower()](self, resource)
        return self.store.delete_tree(resource_id)

    # ---------------------------------------------------------------- tokens
    def issue_token(self, tenant, client_id, scope):
        now = int(time.time())
        header = {"alg": "HS256", "typ": "JWT"}
        audience = scope[: -len(".default")] if scope.endswith("/.default") else scope
        if "://" not in audience:  # an application id: Entra's audience is the bare GUID
            audience = audience.rstrip("/")
        claims = {"aud": audience,
                  "iss": f"https://sts.windows.net/{tenant}/", "iat": now, "nbf": now, "exp": now + 3600,
                  "appid": client_id, "oid": client_id, "sub": client_id, "tid": tenant, "ver": "1.0"}
        groups = self.config.get("groups", {}).get(client_id)
        if groups:
            claims["groups"] = list(groups)
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self.config["signing_key"].encode(), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    def check_token(self, authorization):
        challenge = {"WWW-Authenticate": f'Bearer authorization_uri="{self.base_url}/{self.config["tenant_id"]}", '
                                         f'error="invalid_token", error_description="The access token is invalid."'}
        if not authorization or not authorization.startswith("Bearer "):
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is "
                           "missing.", challenge)
        try:
            claims = self.verified_claims(authorization[len("Bearer "):])
        except (ValueError, TypeError) as exc:
            raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.", challenge) from exc
        if claims["exp"] < time.time():
            raise ArmError(401, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than "
                           "current UTC time.", challenge)
        if claims["aud"] not in AUDIENCES:
            raise ArmError(401, "InvalidAuthenticationTokenAudience",
                           f"The access token has been obtained for wrong audience or resource '{claims['aud']}'.",
                           challenge)
        return claims

    def verified_claims(self, token):
        """The claims of a token signed here; ValueError when it is not one."""
        head, body, signature = token.split(".")
        expected = hmac.new(self.config["signing_key"].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_b64(expected), signature):
            raise ValueError("bad signature")
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        if not isinstance(claims, dict):
            raise ValueError("the token's payload is not a claims object")
        return claims

    def review_token(self, token):
        """What AKS's guard answers for a bearer token: (user info, None), or (None, why it is refused).

        Like guard in Entra mode, it accepts a token of this tenant for the AKS server application only;
        the user name is the `upn` of a user, else the object id of a service principal, and the groups are
        the token's `groups` claim (group object ids)."""
        try:
            claims = self.verified_claims(token)
        except (ValueError, TypeError):
            return None, "the token is not a valid Entra ID token of this tenant (malformed or bad signature)"
        tenant = self.config["tenant_id"]
        now = time.time()
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < now:
            return None, "the token has expired"
        if claims.get("nbf", 0) > now + 300:
            return None, "the token is not valid yet (nbf)"
        if claims.get("aud") not in (AKS_SERVER_APP_ID, f"spn:{AKS_SERVER_APP_ID}"):
            return None, (f"the token's audience {claims.get('aud')!r} is not the AKS server application "
                          f"{AKS_SERVER_APP_ID}")
        if claims.get("tid") != tenant or claims.get("iss") not in (f"https://sts.windows.net/{tenant}/",
                                                                    f"{self.base_url}/{tenant}/v2.0"):
            return None, f"the token was not issued by tenant {tenant}"
        if not claims.get("oid"):
            return None, "the token has no oid claim"
        user = {"username": claims.get("upn") or claims["oid"], "groups": list(claims.get("groups") or []),
                "extra": {"oid": [claims["oid"]]}}
        return user, None

    # ---------------------------------------------------------------- faults
    def add_fault(self, fault):
        with self.fault_lock:
            self.faults.append({"match": fault.get("match", ""), "method": fault.get("method"),
                                "status": int(fault["status"]), "count": int(fault.get("count", 1)),
                                "code": fault.get("code"), "retry_after": fault.get("retry_after")})

    def take_fault(self, method, path):
        with self.fault_lock:
            for fault in self.faults:
                if fault["count"] > 0 and fault["match"].lower() in path.lower() and \
                        fault["method"] in (None, method):
                    fault["count"] -= 1
                    return dict(fault)
        return None

    # ----------------------------------------------------------- operations
    def start_operation(self, resource_id, finish, delay=0.3, op_id=None):
        """Record an asynchronous operation; `finish()` runs `delay` seconds later (on a timer, or when
        the operation is polled or another write on the same resource settles it first)."""
        op_id = op_id or str(uuid.uuid4())
        self.operations[op_id] = {"id": op_id, "resource": resource_id, "status": "InProgress",
                                  "ready_at": time.monotonic() + delay, "finish": finish,
                                  "startTime": _now()}
        timer = threading.Timer(delay, self.complete_operation, (op_id,))
        timer.daemon = True
        timer.start()
        return op_id

    def complete_operation(self, op_id):
        with self.lock:
            op = self.operations.get(op_id)
            if op is None or op["status"] != "InProgress":
                return
            try:
                op["finish"]()
                op["status"] = "Succeeded"
            except ArmError as exc:
                op["status"] = "Failed"
                op["error"] = {"code": exc.code, "message": exc.message}
            except Exception as exc:  # pylint: disable=broad-except  # reported through the operation
                op["status"] = "Failed"
                op["error"] = {"code": "InternalServerError", "message": f"{type(exc).__name__}: {exc}"}
            op["endTime"] = _now()

    def settle(self, resource_id):
        """Complete now every pending operation on `resource_id` or below it, before a new write."""
        if not resource_id:
            return
        prefix = resource_id.lower()
        for op in list(self.operations.values()):
            key = op["resource"].lower()
            if op["status"] == "InProgress" and (key == prefix or key.startswith(prefix + "/")):
                self.complete_operation(op["id"])

    def poll_operation(self, op_id):
        op = self.operations.get(op_id)
        if op is None:
            raise ArmError(404, "OperationNotFound", f"The operation '{op_id}' could not be found.")
        if op["status"] == "InProgress" and time.monotonic() >= op["ready_at"]:
            self.complete_operation(op_id)
        return op


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ---------------------------------------------------------------- ARM handlers
def _rg_id(sub, name):
    return f"/subscriptions/{sub}/resourceGroups/{name}"


def _require_subscription(emu, sub):
    emu.require_subscription(sub)


def resource_group(emu, method, match, body, query, headers=None):
    sub, name = match.group("sub"), urllib.parse.unquote(match.group("rg"))
    _require_subscription(emu, sub)
    rid = _rg_id(sub, name)
    current = emu.store.get(rid)
    if method in ("GET", "HEAD"):
        if current is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
        return (204 if method == "HEAD" else 200), current, {}
    if method == "PUT":
        if not RG_NAME.match(name) or name.endswith("."):
            raise ArmError(400, "InvalidResourceGroup", f"The provided resource group name '{name}' has these "
                           "invalid characters or length: it must be 1-90 characters of letters, digits, "
                           "underscores, parentheses, hyphens and periods, and must not end in a period.")
        from azure.mgmt.resource.resources.models import ResourceGroup  # pylint: disable=import-outside-toplevel

        try:
            validate(ResourceGroup, body)
        except BodyError as exc:
            raise ArmError(400, "InvalidRequestContent", f"The request content was invalid: {exc}") from exc
        if current is not None and current["location"].lower() != body["location"].lower():
            raise ArmError(409, "InvalidResourceGroupLocation",
                           f"Invalid resource group location '{body['location']}'. The Resource group already "
                           f"exists in location '{current['location']}'.")
        resource = {"id": rid, "name": current["name"] if current else name,
                    "type": "Microsoft.Resources/resourceGroups",
                    "location": body["location"].lower().replace(" ", ""),
                    "tags": body.get("tags") or {}, "properties": {"provisioningState": "Succeeded"}}
        if body.get("managedBy"):
            resource["managedBy"] = body["managedBy"]
        emu.store.put(rid, resource)
        return (200 if current else 201), resource, {}
    if method == "PATCH":
        if current is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
        if "tags" in body:
            current["tags"] = body["tags"] or {}
        emu.store.put(rid, current)
        return 200, current, {}
    if method == "DELETE":
        if current is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
        current["properties"]["provisioningState"] = "Deleting"
        emu.store.put(rid, current)
        op_id = emu.start_operation(rid, lambda: emu.delete_tree(rid))
        location = f"{emu.base_url}/subscriptions/{sub}/operationresults/{op_id}?api-version={query['api-version']}"
        return 202, None, {"Location": location, "Retry-After": "1"}
    raise ArmError(405, "MethodNotAllowed", f"The method {method} is not allowed for resource groups.")


def resource_groups(emu, method, match, body, query, headers=None):
    _require_subscription(emu, match.group("sub"))
    if method != "GET":
        raise ArmError(405, "MethodNotAllowed", f"The method {method} is not allowed here.")
    prefix = f"/subscriptions/{match.group('sub')}/resourcegroups/"
    value = [r for k, r in sorted(emu.store.resources.items()) if k.startswith(prefix) and "/" not in k[len(prefix):]]
    return 200, {"value": value}, {}


def subscription(emu, method, match, body, query, headers=None):
    _require_subscription(emu, match.group("sub"))
    sub = emu.config["subscription_id"]
    return 200, {"id": f"/subscriptions/{sub}", "subscriptionId": sub, "tenantId": emu.config["tenant_id"],
                 "displayName": "odoo-saas lab", "state": "Enabled"}, {}


def operation_result(emu, method, match, body, query, headers=None):
    op = emu.poll_operation(match.group("op"))
    if op["status"] == "InProgress":
        return 202, None, {"Location": f"{emu.base_url}{match.group(0)}?api-version={query['api-version']}",
                           "Retry-After": "1"}
    if op["status"] == "Failed":
        raise ArmError(400, op["error"]["code"], op["error"]["message"])
    return 200, None, {}


def async_operation(emu, method, match, body, query, headers=None):
    op = emu.poll_operation(match.group("op"))
    result = {"id": op["id"], "name": op["id"], "status": op["status"], "startTime": op["startTime"]}
    headers = {}
    if op["status"] == "InProgress":
        headers["Retry-After"] = "1"
    else:
        result["endTime"] = op.get("endTime", op["startTime"])
        result["percentComplete"] = 100.0
    if "error" in op:
        result["error"] = op["error"]
    return 200, result, headers


ROUTES = [
    (re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)$", re.I), resource_group),
    (re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups$", re.I), resource_groups),
    (re.compile(r"^/subscriptions/(?P<sub>[^/]+)/operationresults/(?P<op>[^/]+)$", re.I), operation_result),
    (re.compile(r"^/subscriptions/(?P<sub>[^/]+)/providers/[^/]+/locations/[^/]+/"
                r"(?:operations|operationStatuses|azureAsyncOperation)/(?P<op>[^/]+)$", re.I),
     async_operation),
    (re.compile(r"^/subscriptions/(?P<sub>[^/]+)/providers/[^/]+/locations/[^/]+/operationresults/"
                r"(?P<op>[^/]+)$", re.I), operation_result),
    (re.compile(r"^/subscriptions/(?P<sub>[^/]+)$", re.I), subscription),
]
# The resource providers' (regex, handler) pairs; see lab/arm/providers/.
PROVIDERS = providers.routes()


class Handler(BaseHTTPRequestHandler):
    server_version = "odoo-saas-lab-arm/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), format % args))

    @property
    def emu(self):
        return self.server.emulator

    def _send(self, status, body=None, headers=None):
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        request_id = str(uuid.uuid4())
        self.send_header("x-ms-request-id", request_id)
        self.send_header("x-ms-correlation-request-id", self.headers.get("x-ms-correlation-request-id", request_id))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return raw

    def _dispatch(self):
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path.rstrip("/") or "/"
        query = dict(urllib.parse.parse_qsl(parsed.query))
        raw = self._body()
        try:
            if path.startswith("/_lab/"):
                return self._lab(path, raw)
            if path == "/metadata/endpoints":
                return self._send(200, self._metadata())
            if path == "/guard/tokenreviews" and self.command == "POST":
                return self._token_review(raw)
            match = re.match(r"^/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration$", path)
            if match:
                return self._send(200, self._openid(match.group("tenant")))
            match = re.match(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token$", path)
            if match and self.command == "POST":
                return self._token(match.group("tenant"), raw)
            fault = self.emu.take_fault(self.command, path)
            if fault:
                headers = {"Retry-After": str(fault["retry_after"])} if fault["retry_after"] is not None else {}
                code = fault["code"] or ("TooManyRequests" if fault["status"] == 429 else "InternalServerError")
                raise ArmError(fault["status"], code, f"Injected fault {fault['status']} for {path}.", headers)
            self.emu.check_token(self.headers.get("Authorization"))
            if "api-version" not in query:
                raise ArmError(400, "MissingApiVersionParameter",
                               "The api-version query parameter (?api-version=) is required for all requests.")
            try:
                body = json.loads(raw) if raw else {}
            except ValueError as exc:
                raise ArmError(400, "InvalidRequestContent", f"The request content was not valid JSON: {exc}") \
                    from exc
            for regex, handler in PROVIDERS + ROUTES:
                match = regex.match(path)
                if match:
                    status, result, headers = handler(self.emu, self.command, match, body, query,
                                                      dict(self.headers.items()))
                    self.emu.request_log.append((self.command, path, status))
                    return self._send(status, result, headers)
            raise ArmError(404, "InvalidResourceType" if "/providers/" in path else "NotFound",
                           f"The resource path '{path}' is not served by this emulator.")
        except ArmError as exc:
            self.emu.request_log.append((self.command, path, exc.status))
            return self._send(exc.status, exc.body(default_target=path), exc.headers)
        except Exception as exc:  # pylint: disable=broad-except  # a bug answers 500 in the ARM shape
            import traceback  # pylint: disable=import-outside-toplevel

            traceback.print_exc()
            self.emu.request_log.append((self.command, path, 500))
            return self._send(500, {"error": {"code": "InternalServerError",
                                              "message": f"{type(exc).__name__}: {exc}", "target": path}})

    def _metadata(self):
        base = self.emu.base_url
        return {
            "name": "OdooSaasLab", "portal": base, "resourceManager": base + "/",
            "authentication": {"loginEndpoint": base + "/", "audiences": list(AUDIENCES), "tenant": "common",
                               "identityProvider": "AAD"},
            "suffixes": {"storage": "core.windows.net",
                         "postgresqlServerEndpoint": self.emu.config.get("postgres", {}).get(
                             "suffix", "postgres.localhost")},
        }

    def _openid(self, tenant):
        base = f"{self.emu.base_url}/{tenant}"
        return {
            "issuer": f"{base}/v2.0", "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{base}/discovery/v2.0/keys", "response_types_supported": ["code", "id_token", "token"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "tenant_region_scope": "EU", "cloud_instance_name": "odoo-saas-lab",
        }

    def _token(self, tenant, raw):
        form = dict(urllib.parse.parse_qsl(raw.decode()))
        if tenant != self.emu.config["tenant_id"]:
            return self._send(400, {"error": "invalid_request", "error_description":
                                    f"AADSTS90002: Tenant '{tenant}' not found."})
        if form.get("grant_type") != "client_credentials":
            return self._send(400, {"error": "unsupported_grant_type", "error_description":
                                    "AADSTS70003: The lab supports the client_credentials grant only."})
        client_id, secret = form.get("client_id"), form.get("client_secret")
        expected = self.emu.config["clients"].get(client_id or "")
        if expected is None:
            return self._send(400, {"error": "unauthorized_client", "error_description":
                                    f"AADSTS700016: Application with identifier '{client_id}' was not found."})
        if secret is None or not hmac.compare_digest(secret, expected):
            return self._send(401, {"error": "invalid_client", "error_description":
                                    "AADSTS7000215: Invalid client secret provided."})
        scope = form.get("scope", "https://management.azure.com/.default").split()[0]
        token = self.emu.issue_token(tenant, client_id, scope)
        return self._send(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                "access_token": token})

    def _token_review(self, raw):
        """An authentication.k8s.io/v1 TokenReview, answered as kube-apiserver's token webhook expects."""
        peer = self.connection.getpeercert() or {}  # verified against the lab CA during the handshake
        names = {value for rdn in peer.get("subject", ()) for key, value in rdn if key == "commonName"}
        allowed = set(self.emu.config.get("token_review", {}).get("clients", ()))
        if not names & allowed:
            status, reason = (403, "Forbidden") if names else (401, "Unauthorized")
            return self._send(status, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": status,
                                       "reason": reason, "message": "token reviews are answered for the "
                                       "kube-apiserver's client certificate only"})
        try:
            review = json.loads(raw)
            token = review["spec"]["token"]
            if review.get("apiVersion") != "authentication.k8s.io/v1" or review.get("kind") != "TokenReview" or \
                    not isinstance(token, str):
                raise ValueError("not an authentication.k8s.io/v1 TokenReview")
        except (ValueError, KeyError, TypeError) as exc:
            return self._send(400, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 400,
                                    "reason": "BadRequest", "message": f"the body is not a TokenReview: {exc}"})
        user, error = self.emu.review_token(token)
        status = {"authenticated": True, "user": user} if user else {"authenticated": False, "error": error}
        return self._send(200, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                                "metadata": {"creationTimestamp": None}, "spec": {}, "status": status})

    def _lab(self, path, raw):
        if path == "/_lab/faults" and self.command == "POST":
            self.emu.add_fault(json.loads(raw))
            return self._send(201, {"faults": self.emu.faults})
        if path == "/_lab/faults" and self.command == "DELETE":
            self.emu.faults.clear()
            return self._send(200, {"faults": []})
        if path == "/_lab/requests" and self.command == "GET":
            return self._send(200, {"requests": self.emu.request_log})
        if path == "/_lab/requests" and self.command == "DELETE":
            self.emu.request_log.clear()
            return self._send(200, {"requests": []})
        return self._send(404, {"error": {"code": "NotFound", "message": path}})

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST = do_HEAD = _dispatch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--state-dir", required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.emulator = Emulator(args.state_dir, f"https://127.0.0.1:{args.port}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    client_ca = server.emulator.config.get("token_review", {}).get("client_ca")
    if client_ca:  # the guard webhook's caller shows a client certificate; the SDKs show none
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(client_ca)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"ARM emulator listening on https://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
