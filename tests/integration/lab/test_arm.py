"""The ARM emulator: azure-identity gets a token from its Entra endpoint with a custom authority, and
azure-mgmt-resource manages resource groups through it over HTTPS."""

import json
import ssl
import urllib.request
import uuid

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.resource.resources import ResourceManagementClient

SCOPE = "https://management.azure.com/.default"


def _credential(arm, secret=None):
    return ClientSecretCredential(arm["tenant_id"], arm["client_id"], secret or arm["client_secret"],
                                  authority=arm["authority"], disable_instance_discovery=True,
                                  connection_verify=arm["ca_bundle"])


@pytest.fixture
def resources(lab):
    arm = lab["arm"]
    return ResourceManagementClient(_credential(arm), arm["subscription_id"], base_url=arm["endpoint"],
                                    credential_scopes=[SCOPE], connection_verify=arm["ca_bundle"])


def test_token_from_the_emulator(lab):
    token = _credential(lab["arm"]).get_token(SCOPE)
    assert token.token.count(".") == 2 and token.expires_on > 0
    with pytest.raises(ClientAuthenticationError) as caught:
        _credential(lab["arm"], secret="wrong").get_token(SCOPE)
    assert "AADSTS7000215" in str(caught.value)


def test_resource_group_create_read_delete(resources, lab):
    name = f"rg-it-{uuid.uuid4().hex[:6]}"
    created = resources.resource_groups.create_or_update(name, {"location": "westeurope",
                                                                "tags": {"env": "lab"}})
    assert created.properties.provisioning_state == "Succeeded"
    # An independent GET, straight over HTTPS, sees what the SDK created.
    token = _credential(lab["arm"]).get_token(SCOPE).token
    url = f"{lab['arm']['endpoint']}/subscriptions/{lab['arm']['subscription_id']}/resourcegroups/{name}" \
          "?api-version=2024-03-01"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    context = ssl.create_default_context(cafile=lab["ca_bundle"])
    with urllib.request.urlopen(request, context=context) as response:
        body = json.load(response)
    assert body["name"] == name and body["location"] == "westeurope" and body["tags"] == {"env": "lab"}
    assert name in [rg.name for rg in resources.resource_groups.list()]
    resources.resource_groups.begin_delete(name).result()
    with pytest.raises(ResourceNotFoundError) as caught:
        resources.resource_groups.get(name)
    assert caught.value.error.code == "ResourceGroupNotFound"


def test_arm_errors_use_the_arm_shape(resources, lab):
    with pytest.raises(HttpResponseError) as caught:
        resources.resource_groups.create_or_update("rg-bad", {"location": 42})
    assert caught.value.status_code == 400 and caught.value.error.code == "InvalidRequestContent"
    request = urllib.request.Request(
        f"{lab['arm']['endpoint']}/subscriptions/{lab['arm']['subscription_id']}/resourcegroups?api-version=2024-03-01")
    context = ssl.create_default_context(cafile=lab["ca_bundle"])
    with pytest.raises(urllib.error.HTTPError) as unauthenticated:
        urllib.request.urlopen(request, context=context)
    assert unauthenticated.value.code == 401
    assert json.load(unauthenticated.value)["error"]["code"] == "AuthenticationFailed"


def _token_review(lab, token, client_cert=True):
    """POST an authentication.k8s.io/v1 TokenReview to the emulator's guard webhook, as the kube-apiserver does."""
    context = ssl.create_default_context(cafile=lab["ca_bundle"])
    if client_cert:
        pki = f"{lab['state_dir']}/pki/kube-apiserver-webhook-client"
        context.load_cert_chain(pki + ".crt", pki + ".key")
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    request = urllib.request.Request(f"{lab['arm']['endpoint']}/guard/tokenreviews", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, context=context) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_guard_webhook_reviews_entra_tokens_for_the_apiserver(lab):
    """AKS's guard: an Entra token for the AKS server application is the principal's object id and its groups;
    a token for another audience is not authenticated; a caller without the apiserver's certificate gets 401."""
    arm = lab["arm"]
    aks_token = _credential(arm).get_token("6dae42f8-4368-4678-94ff-3960e28e3630/.default").token
    status, review = _token_review(lab, aks_token)
    assert status == 200 and review["kind"] == "TokenReview", review
    assert review["status"] == {"authenticated": True, "user": {
        "username": arm["client_id"], "groups": arm["client_groups"], "extra": {"oid": [arm["client_id"]]}}}
    status, review = _token_review(lab, _credential(arm).get_token(SCOPE).token)
    assert status == 200 and review["status"]["authenticated"] is False
    assert "is not the AKS server application" in review["status"]["error"]
    status, refused = _token_review(lab, aks_token, client_cert=False)
    assert status == 401 and refused["reason"] == "Unauthorized"
