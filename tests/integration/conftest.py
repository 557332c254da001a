"""Fixtures shared by the integration tests: the lab's endpoints and credentials, read from lab.json.

The tests need the lab (`make lab-up`). Without it they fail; they are never skipped.
"""

import json
import os
import subprocess
import uuid

import pytest


def _lab_dir():
    if os.environ.get("ODOO_SAAS_LAB_DIR"):
        return os.environ["ODOO_SAAS_LAB_DIR"]
    if os.geteuid() == 0:
        return "/var/lib/odoo-saas-lab"
    return os.path.join(os.path.expanduser("~"), ".local", "state", "odoo-saas-lab")


@pytest.fixture(scope="session")
def lab():
    path = os.path.join(_lab_dir(), "lab.json")
    if not os.path.exists(path):
        pytest.fail(f"the lab is not up: {path} is missing. Run `make lab-up` first.", pytrace=False)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="session")
def kube(lab):
    """A kubernetes.client.ApiClient logged in as the lab admin."""
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=lab["kubernetes"]["kubeconfig"], client_configuration=configuration)
    return client.ApiClient(configuration)


@pytest.fixture(scope="session")
def kubectl(lab):
    def run(*args, stdin=None, check=True):
        argv = [lab["kubernetes"]["kubectl"], "--kubeconfig", lab["kubernetes"]["kubeconfig"], *args]
        result = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} failed: {result.stderr}")
        return result

    return run


@pytest.fixture
def resource_group(lab):
    """A fresh resource group in the ARM emulator, deleted (with what is left in it) afterwards."""
    from azure.identity import ClientSecretCredential
    from azure.mgmt.resource.resources import ResourceManagementClient

    arm = lab["arm"]
    credential = ClientSecretCredential(arm["tenant_id"], arm["client_id"], arm["client_secret"],
                                        authority=arm["authority"], disable_instance_discovery=True,
                                        connection_verify=arm["ca_bundle"])
    groups = ResourceManagementClient(credential, arm["subscription_id"], base_url=arm["endpoint"],
                                      credential_scopes=["https://management.azure.com/.default"],
                                      connection_verify=arm["ca_bundle"]).resource_groups
    name = f"rg-it-{uuid.uuid4().hex[:8]}"
    groups.create_or_update(name, {"location": arm["location"]})
    yield name
    groups.begin_delete(name).result()


@pytest.fixture
def namespace(kube):
    """A fresh namespace for one test, deleted afterwards."""
    from kubernetes import client

    core = client.CoreV1Api(kube)
    name = f"it-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"lab-test": "true"})))
    yield name
    try:
        core.delete_namespace(name)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
