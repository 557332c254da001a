"""What the Azure module tests share: the lab as a custom Azure cloud, a resource group per test, and the
emulator's request log and fault injection (the only lab-side hooks; the modules know nothing of them)."""

import json
import ssl
import urllib.request

import pytest
from azure.identity import ClientSecretCredential

SCOPE = "https://management.azure.com/.default"
WRITES = ("PUT", "PATCH", "DELETE", "POST")


def module_args(lab):
    """The options a playbook gives for the lab: a custom cloud, its CA bundle and a service principal."""
    arm = lab["arm"]
    return {"cloud_environment": "custom", "resource_manager_endpoint": arm["endpoint"],
            "authority_host": arm["authority"], "ca_bundle": arm["ca_bundle"], "tenant": arm["tenant_id"],
            "client_id": arm["client_id"], "secret": arm["client_secret"], "subscription_id": arm["subscription_id"]}


def credential(lab):
    arm = lab["arm"]
    return ClientSecretCredential(arm["tenant_id"], arm["client_id"], arm["client_secret"], authority=arm["authority"],
                                  disable_instance_discovery=True, connection_verify=arm["ca_bundle"])


def client(lab, factory):
    arm = lab["arm"]
    return factory(credential(lab), arm["subscription_id"], base_url=arm["endpoint"], credential_scopes=[SCOPE],
                   connection_verify=arm["ca_bundle"])


class Emulator:
    """Raw HTTPS to the emulator: independent GETs, its request log, and injected faults."""

    def __init__(self, lab):
        self.lab = lab
        self.base = lab["arm"]["endpoint"]
        self.context = ssl.create_default_context(cafile=lab["ca_bundle"])

    def _call(self, method, path, body=None, token=False):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + credential(self.lab).get_token(SCOPE).token
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, context=self.context) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else None

    def get(self, resource_id, api_version):
        """An independent GET of an ARM resource; (status, body)."""
        return self._call("GET", f"{resource_id}?api-version={api_version}", token=True)

    def requests(self, needle):
        """(method, path, status) of the ARM requests whose path holds `needle` (case-insensitive)."""
        _status, body = self._call("GET", "/_lab/requests")
        return [tuple(r) for r in body["requests"] if needle.lower() in r[1].lower()]

    def writes(self, needle):
        return [r for r in self.requests(needle) if r[0] in WRITES and "/operations" not in r[1].lower()
                and "credential" not in r[1].lower()]

    def fault(self, match, status, count=1, method=None, code=None, retry_after=None):
        self._call("POST", "/_lab/faults", {"match": match, "status": status, "count": count, "method": method,
                                            "code": code, "retry_after": retry_after})


@pytest.fixture
def emulator(lab):
    return Emulator(lab)
