"""Clients and helpers shared by the ARM emulator's integration tests: the real Azure SDK clients, logged
in through the emulator's Entra endpoint, and the emulator's test endpoints (`/_lab/faults`, `/_lab/requests`)."""

import json
import ssl
import urllib.request
import uuid

from azure.identity import ClientSecretCredential

SCOPE = "https://management.azure.com/.default"


def credential(arm):
    return ClientSecretCredential(arm["tenant_id"], arm["client_id"], arm["client_secret"],
                                  authority=arm["authority"], disable_instance_discovery=True,
                                  connection_verify=arm["ca_bundle"])


def client(cls, arm):
    return cls(credential(arm), arm["subscription_id"], base_url=arm["endpoint"], credential_scopes=[SCOPE],
               connection_verify=arm["ca_bundle"])


def lab_call(arm, method, path, body=None, token=None, headers=None):
    """A raw HTTPS call to the emulator; returns (status, headers, parsed body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(arm["endpoint"] + path, data=data, method=method,
                                     headers=dict({"Content-Type": "application/json"}, **(headers or {})))
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    context = ssl.create_default_context(cafile=arm["ca_bundle"])
    try:
        with urllib.request.urlopen(request, context=context) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, dict(exc.headers), json.loads(raw) if raw else None


def inject_fault(arm, match, status, retry_after=None, count=1, method=None):
    lab_call(arm, "POST", "/_lab/faults", {"match": match, "status": status, "retry_after": retry_after,
                                           "count": count, "method": method})


def requests_for(arm, fragment):
    """The (method, path, status) the emulator recorded for paths containing `fragment`."""
    body = lab_call(arm, "GET", "/_lab/requests")[2]
    return [tuple(r) for r in body["requests"] if fragment.lower() in r[1].lower()]


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
