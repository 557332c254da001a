# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that talks to Azure Resource Manager: credentials, clouds, clients, retries and waits.

- Credentials come from azure-identity: a service principal with a secret or a certificate, a
  managed identity, the Azure CLI's login, or the default chain.
- A cloud is AzureCloud, AzureChinaCloud, AzureUSGovernment, or a custom one given by its ARM
  endpoint, its authority host and a CA bundle (Azure Stack, a sovereign cloud, or the lab).
- Retries: 429 and 5xx only, honouring Retry-After, otherwise jittered exponential backoff.
- Long-running operations go through azure-core's pollers, waited for on a monotonic clock.
- Every ARM error becomes one ServiceError carrying ARM's code, its message and the resource id.

The resource logic lives beside this file, in _azure_aks.py and _azure_pg.py.
"""

from __future__ import annotations

import importlib
import random
import re
import time
from contextlib import contextmanager

from ansible.module_utils.basic import env_fallback

from ._common import InputError, OdooSaasError, ServiceError

# cloud -> (ARM endpoint, authority host, ARM token scope)
CLOUDS = {
    "AzureCloud": ("https://management.azure.com", "https://login.microsoftonline.com",
                   "https://management.azure.com/.default"),
    "AzureChinaCloud": ("https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn",
                        "https://management.chinacloudapi.cn/.default"),
    "AzureUSGovernment": ("https://management.usgovcloudapi.net", "https://login.microsoftonline.us",
                          "https://management.usgovcloudapi.net/.default"),
}
RETRY_STATUSES = frozenset([429, 500, 502, 503, 504])
TAG_KEY = re.compile(r"^[^<>%&\\?/]{1,512}$")


def azure_argument_spec():
    """Options shared by the Azure modules; documented in doc_fragments/azure.py."""
    return {
        "auth_source": {"type": "str", "default": "auto",
                        "choices": ["auto", "service_principal", "managed_identity", "cli", "default"],
                        "fallback": (env_fallback, ["AZURE_AUTH_SOURCE"])},
        "subscription_id": {"type": "str", "fallback": (env_fallback, ["AZURE_SUBSCRIPTION_ID"])},
        "tenant": {"type": "str", "fallback": (env_fallback, ["AZURE_TENANT", "AZURE_TENANT_ID"])},
        "client_id": {"type": "str", "fallback": (env_fallback, ["AZURE_CLIENT_ID"])},
        "secret": {"type": "str", "no_log": True, "fallback": (env_fallback, ["AZURE_SECRET", "AZURE_CLIENT_SECRET"])},
        "certificate_path": {"type": "path", "fallback": (env_fallback, ["AZURE_CLIENT_CERTIFICATE_PATH"])},
        "certificate_password": {"type": "str", "no_log": True,
                                 "fallback": (env_fallback, ["AZURE_CLIENT_CERTIFICATE_PASSWORD"])},
        "cloud_environment": {"type": "str", "default": "AzureCloud",
                              "choices": ["AzureCloud", "AzureChinaCloud", "AzureUSGovernment", "custom"],
                              "fallback": (env_fallback, ["AZURE_CLOUD_ENVIRONMENT"])},
        "resource_manager_endpoint": {"type": "str", "fallback": (env_fallback, ["AZURE_RESOURCE_MANAGER_ENDPOINT"])},
        "authority_host": {"type": "str", "fallback": (env_fallback, ["AZURE_AUTHORITY_HOST"])},
        "credential_scope": {"type": "str", "fallback": (env_fallback, ["AZURE_CREDENTIAL_SCOPE"])},
        "ca_bundle": {"type": "path", "fallback": (env_fallback, ["AZURE_CA_BUNDLE", "REQUESTS_CA_BUNDLE"])},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 1800},
    }


def azure_required_if():
    return [("cloud_environment", "custom", ("resource_manager_endpoint", "authority_host"))]


class Cloud:
    """Where ARM and Entra are, and which CA bundle proves them."""

    def __init__(self, params):
        name = params.get("cloud_environment") or "AzureCloud"
        if name == "custom":
            endpoint, authority = params["resource_manager_endpoint"], params["authority_host"]
            for option, value in (("resource_manager_endpoint", endpoint), ("authority_host", authority)):
                if not re.match(r"^https://[^/\s]+", value or ""):
                    raise InputError(f"{option}={value!r} is not an https URL: ARM and Entra only accept "
                                     "bearer tokens over TLS. Give the endpoint as https://host[:port].")
            scope = params.get("credential_scope") or CLOUDS["AzureCloud"][2]
        else:
            endpoint, authority, scope = CLOUDS[name]
            endpoint = params.get("resource_manager_endpoint") or endpoint
            authority = params.get("authority_host") or authority
            scope = params.get("credential_scope") or scope
        self.name = name
        self.endpoint = endpoint.rstrip("/")
        self.authority = authority.rstrip("/")
        self.scope = scope
        self.ca_bundle = params.get("ca_bundle")
        self.custom = name == "custom"

    @property
    def verify(self):
        return self.ca_bundle or True


def _identity():
    try:
        import azure.identity  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise OdooSaasError("the Azure modules need the azure-identity Python package on the controller: "
                            "pip install -r requirements.txt from this collection") from exc
    return azure.identity


def credential(params, cloud):
    """An azure-identity credential for `params`, in `cloud`."""
    identity = _identity()
    source = params.get("auth_source") or "auto"
    has_sp = params.get("client_id") and (params.get("secret") or params.get("certificate_path"))
    if source == "auto":
        source = "service_principal" if has_sp else "default"
    common = {"authority": cloud.authority, "connection_verify": cloud.verify}
    if cloud.custom:
        common["disable_instance_discovery"] = True
    if source == "service_principal":
        missing = [o for o in ("tenant", "client_id") if not params.get(o)]
        if not (params.get("secret") or params.get("certificate_path")):
            missing.append("secret or certificate_path")
        if missing:
            raise InputError(f"auth_source=service_principal needs {', '.join(missing)}: set them, or the "
                             "AZURE_TENANT, AZURE_CLIENT_ID and AZURE_SECRET environment variables.")
        if params.get("secret"):
            return identity.ClientSecretCredential(params["tenant"], params["client_id"], params["secret"], **common)
        return identity.CertificateCredential(params["tenant"], params["client_id"], params["certificate_path"],
                                              password=params.get("certificate_password"), **common)
    if source == "managed_identity":
        return identity.ManagedIdentityCredential(client_id=params.get("client_id"),
                                                  connection_verify=cloud.verify)
    if source == "cli":
        return identity.AzureCliCredential(tenant_id=params.get("tenant"))
    return identity.DefaultAzureCredential(**common)


def _retry_policy():
    from azure.core.pipeline.policies import RetryPolicy  # pylint: disable=import-outside-toplevel

    class JitteredRetry(RetryPolicy):
        """Retry 429 and 5xx only, whatever the method; honour Retry-After, else back off with jitter."""

        def is_retry(self, settings, response):
            return bool(settings["total"]) and response.http_response.status_code in RETRY_STATUSES

        def get_backoff_time(self, settings):
            base = super().get_backoff_time(settings) or settings["backoff"]
            return base / 2 + random.uniform(0, base / 2)

    return JitteredRetry(retry_total=6, retry_backoff_factor=1.0, retry_backoff_max=60)


class Session:
    """A credential and the management clients of one subscription, created on first use."""

    def __init__(self, params):
        if not params.get("subscription_id"):
            raise InputError("subscription_id is not set: give it, or set AZURE_SUBSCRIPTION_ID.")
        self.params = params
        self.cloud = Cloud(params)
        self.subscription_id = params["subscription_id"]
        self._credential = None
        self._clients = {}

    @property
    def credential(self):
        if self._credential is None:
            self._credential = credential(self.params, self.cloud)
        return self._credential

    # What each client needs: (module, class, the pip package it comes from, the module that uses it).
    CLIENTS = {
        "containerservice": ("azure.mgmt.containerservice", "ContainerServiceClient", "azure-mgmt-containerservice",
                             "aks_cluster"),
        "postgres": ("azure.mgmt.postgresqlflexibleservers", "PostgreSQLManagementClient",
                     "azure-mgmt-postgresqlflexibleservers", "pg_server"),
        "resources": ("azure.mgmt.resource.resources", "ResourceManagementClient", "azure-mgmt-resource",
                      "resource_group"),
    }

    def _client(self, key):
        """The management client `key` of CLIENTS, made once per session, on the lab or any cloud alike."""
        if key not in self._clients:
            module, cls, package, user = self.CLIENTS[key]
            try:
                factory = getattr(importlib.import_module(module), cls)
            except ImportError as exc:
                raise OdooSaasError(f"{user} needs {package}: pip install -r requirements.txt from this "
                                    "collection") from exc
            self._clients[key] = factory(self.credential, self.subscription_id, base_url=self.cloud.endpoint,
                                         credential_scopes=[self.cloud.scope], connection_verify=self.cloud.verify,
                                         retry_policy=_retry_policy(), polling_interval=5)
        return self._clients[key]

    def containerservice(self):
        return self._client("containerservice")

    def postgres(self):
        return self._client("postgres")

    def resources(self):
        return self._client("resources")

    def token(self, scope):
        """An access token for another audience (an AKS cluster's Entra server app), from the same identity."""
        return self.credential.get_token(scope)

    def close(self):
        for client in self._clients.values():
            client.close()
        if self._credential is not None and hasattr(self._credential, "close"):
            self._credential.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def resource_id(subscription, group, provider, kind, name, *children):
    rid = f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{provider}/{kind}/{name}"
    for index in range(0, len(children), 2):
        rid += f"/{children[index]}/{children[index + 1]}"
    return rid


@contextmanager
def arm_errors(what, rid):
    """Turn azure-core's exceptions into one ServiceError: ARM's code, its message, and the resource id."""
    from azure.core import exceptions  # pylint: disable=import-outside-toplevel

    try:
        yield
    except exceptions.ClientAuthenticationError as exc:
        raise ServiceError(f"{what} {rid}: authentication failed: {_first_line(exc)}. Check tenant, client_id "
                           "and secret (or the identity of auth_source), and that it may act on the "
                           "subscription.", resource_id=rid, error_code="AuthenticationFailed") from None
    except exceptions.HttpResponseError as exc:
        code = getattr(getattr(exc, "error", None), "code", None) or str(exc.status_code or "")
        message = getattr(getattr(exc, "error", None), "message", None) or _first_line(exc)
        raise ServiceError(f"{what} {rid} failed: {code}: {message}", resource_id=rid, error_code=code,
                           status_code=exc.status_code) from None
    except exceptions.ServiceRequestError as exc:
        raise ServiceError(f"{what} {rid}: cannot reach Azure Resource Manager: {_first_line(exc)}. Check "
                           "resource_manager_endpoint, the network, and ca_bundle.", resource_id=rid) from None


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def dig(data, path):
    """data[path[0]][path[1]]..., or None where any step is missing."""
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def put_path(data, path, value):
    for key in path[:-1]:
        data = data.setdefault(key, {})
    data[path[-1]] = value


def fetch(call, rid):
    """GET a resource as ARM's JSON; None when ARM answers 404."""
    found = get_or_none(call, "GET", rid)
    return found.as_dict() if found is not None else None


def execute_arm(params, check_mode, diff, runner_cls, validate, key):
    """The execute() of an Azure module: validate, run the runner in a session, shape the result."""
    validate(params)  # what can be refused without asking Azure, before any call
    with Session(params) as session:
        runner = runner_cls(session, params, check_mode)
        outcome = runner.run()
    result = {"changed": outcome["changed"], key: outcome["facts"], "actions": runner.actions,
              "pending": runner.pending}
    if diff:
        result["diff"] = outcome["diff"]
    return result


def get_or_none(call, what, rid):
    """GET a resource; None when ARM answers 404."""
    from azure.core.exceptions import ResourceNotFoundError  # pylint: disable=import-outside-toplevel

    with arm_errors(what, rid):
        try:
            return call()
        except ResourceNotFoundError:
            return None


class Operation:
    """A long-running ARM operation: waited for on a monotonic clock when `wait` is on."""

    def __init__(self, poller, what, rid):
        self.poller = poller
        self.what = what
        self.rid = rid

    def finish(self, wait, timeout):
        """The final resource when waited for; None when `wait` is off (the operation runs on)."""
        if not wait:
            return None
        deadline = time.monotonic() + timeout
        with arm_errors(self.what, self.rid):
            while not self.poller.done():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ServiceError(f"{self.what} {self.rid} did not finish within wait_timeout={timeout}s; "
                                       f"ARM still reports it {self.poller.status()}. It goes on in Azure: run "
                                       "again later, or raise wait_timeout.", resource_id=self.rid,
                                       operation_status=self.poller.status())
                self.poller.wait(min(left, 5))
            return self.poller.result()

    def status(self):
        return self.poller.status()


def begin(call, what, rid):
    with arm_errors(what, rid):
        return Operation(call(), what, rid)


def as_wire(model):
    """A model (or a dict) as ARM's JSON, camelCase names and all."""
    if model is None:
        return None
    if isinstance(model, dict):
        return model
    return model.as_dict()


def check_tags(tags):
    if tags is None:
        return
    if len(tags) > 50:
        raise InputError(f"tags has {len(tags)} entries; Azure allows at most 50 per resource. Merge or drop some.")
    for key, value in tags.items():
        if not TAG_KEY.match(str(key)) or len(str(value)) > 256:
            raise InputError(f"tags[{key!r}] breaks Azure's rules: a name is 1-512 characters without < > % & \\ ? "
                             "/, and a value at most 256 characters.")


def merged_tags(current, desired, purge):
    """The tags a resource should end with: `desired` replaces (purge) or extends the current ones."""
    if desired is None:
        return dict(current or {})
    if purge:
        return {k: str(v) for k, v in desired.items()}
    result = dict(current or {})
    result.update({k: str(v) for k, v in desired.items()})
    return result
