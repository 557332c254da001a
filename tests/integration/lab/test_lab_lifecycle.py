"""lab-up is idempotent, and refuses clearly when it cannot bring a service up."""

import json
import os
import subprocess
import sys

import pytest
from kubernetes import client

# lab-up writes the legacy VM's odoo.conf again and seeds its database when it is missing: not while a legacy
# migration's test owns the VM (make integration).
pytestmark = pytest.mark.legacy_vm

# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, pebble, traefik, postgres-platform,
# postgres-legacy, redis, azurite, arm, legacy-vm (lablib.services.ORDER)
SERVICES = 13

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LABCTL = os.path.join(REPO, "lab", "labctl.py")


def _labctl(*args, env=None):
    return subprocess.run([sys.executable, LABCTL, *args], capture_output=True, text=True, check=False,
                          env=dict(os.environ, **(env or {})))


def _versions(kube):
    core = client.CoreV1Api(kube)
    ext = client.ApiextensionsV1Api(kube)
    # The lab's own nodes only: the ARM emulator adds and removes those of the AKS clusters that tests make, meanwhile.
    own = core.list_node(label_selector="kubernetes.azure.com/cluster=odoo-saas-lab").items
    return ({n.metadata.name: n.metadata.resource_version for n in own},
            ext.read_custom_resource_definition("ingressroutes.traefik.io").metadata.resource_version,
            client.RbacAuthorizationV1Api(kube).read_cluster_role("odoo-saas-lab:traefik").metadata.resource_version)


def test_lab_up_again_starts_nothing_and_changes_nothing(kube, lab):
    with open(os.path.join(lab["state_dir"], "run", "kube-apiserver.pid"), encoding="utf-8") as handle:
        apiserver_pid = json.load(handle)["pid"]
    nodes_before, crd_before, role_before = _versions(kube)
    result = _labctl("up")
    assert result.returncode == 0, result.stdout + result.stderr
    service_lines = [line for line in result.stdout.splitlines()
                     if "already running" in line or "started (pid" in line]
    assert service_lines and all("already running" in line for line in service_lines), result.stdout
    assert len(service_lines) == SERVICES
    nodes_after, crd_after, role_after = _versions(kube)
    assert crd_after == crd_before and role_after == role_before
    # kwok renews node heartbeats through Leases, so the Node objects themselves stay untouched.
    assert nodes_before and set(nodes_after) == set(nodes_before)
    with open(os.path.join(lab["state_dir"], "run", "kube-apiserver.pid"), encoding="utf-8") as handle:
        assert json.load(handle)["pid"] == apiserver_pid


def test_a_taken_port_fails_lab_up_with_the_service_and_its_log(tmp_path, lab):
    # A second lab in another state folder finds every port taken by the running lab.
    result = _labctl("up", env={"ODOO_SAAS_LAB_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert "lab-up FAILED: etcd: port 23790 on 127.0.0.1 is already taken" in result.stderr
    assert str(tmp_path / "logs" / "etcd.log") in result.stderr
    assert not (tmp_path / "lab.json").exists()
    assert not list((tmp_path / "run").glob("*.pid"))


def test_status_reports_every_service_up():
    result = _labctl("status")
    assert result.returncode == 0, result.stdout
    assert result.stdout.count(" up ") == SERVICES and "lab is up" in result.stdout
