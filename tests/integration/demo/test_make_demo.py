"""`make demo`, as a newcomer runs it, on the lab that CI has just started from nothing: site.yml on
inventories/lab (the shared environment, the dedicated one, the legacy migration, the backup check) and its
summary table. Then `make demo` again, which must change nothing. The table's rows are checked against the
inventory, and what they say is read back from the API server and from Blob storage.

It runs alone, before the other integration tests (make test), while the lab is still fresh."""

import json
import os
import re
import subprocess
import sys

import pytest
from azure.storage.blob import BlobServiceClient

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV_BIN = os.path.dirname(os.path.abspath(sys.executable))
pytestmark = pytest.mark.demo
COLUMNS = ["TENANT", "TIER", "VERSION", "HOSTS", "DATABASE", "PODS", "LAST VERIFIED BACKUP", "DOWNTIME"]


def _make_demo():
    env = dict(os.environ, PATH=VENV_BIN + ":" + os.environ["PATH"])
    result = subprocess.run(["make", "demo"], cwd=REPO, capture_output=True, text=True, env=env, check=False,
                            timeout=1800)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result.stdout


def _table(stdout):
    """The summary's rows, by tenant: the debug task prints the table as a list of quoted lines."""
    lines = re.findall(r'^\s+"(.*)",?$', stdout.split("TASK [Print the table]")[-1], re.MULTILINE)
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["TENANT", "TIER"])
    rows = {}
    for line in lines[header + 1:]:
        cells = line.split()
        # Every column is one word but LAST VERIFIED BACKUP's header; DOWNTIME is "<seconds> s" or "-".
        rows[cells[0]] = dict(zip(COLUMNS, cells[:7] + [" ".join(cells[7:])]))
    return rows


def _recap(stdout):
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", stdout.split("PLAY RECAP")[-1], re.MULTILINE)}


def _hosts(inventory, group):
    own = inventory.get(group, {})
    return set(own.get("hosts", [])).union(*(_hosts(inventory, child) for child in own.get("children", [])))


@pytest.fixture(scope="module")
def inventory():
    out = subprocess.run([os.path.join(VENV_BIN, "ansible-inventory"), "-i", os.path.join(REPO, "inventories/lab"),
                          "--list"], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_make_demo_twice(lab, inventory):
    first = _make_demo()
    rows = _table(first)
    hostvars = inventory["_meta"]["hostvars"]
    tenants = sorted(_hosts(inventory, "tenants"))
    assert sorted(rows) == tenants, first[-3000:]

    kubectl = [lab["kubernetes"]["kubectl"], "--kubeconfig", lab["kubernetes"]["kubeconfig"]]
    blobs = BlobServiceClient.from_connection_string(lab["blob"]["connection_string"],
                                                     connection_verify=lab["ca_bundle"])
    migrated = {v["legacy_tenant"] for v in hostvars.values() if "legacy_tenant" in v}
    for tenant in tenants:
        row, own = rows[tenant], hostvars[tenant]
        environment = hostvars[own["tenant_environment"]]
        assert row["TIER"] == environment["platform_tier"], row
        assert row["VERSION"] == str(own["tenant_odoo_version"]), row
        assert row["HOSTS"] == ",".join(own["tenant_hosts"]), row
        # Read back: the tenant's web Deployment, as the API server has it.
        web = json.loads(subprocess.run(kubectl + ["-n", f"odoo-{tenant}", "get", "deployment", "odoo-web", "-o",
                                                   "json"], capture_output=True, text=True, check=True).stdout)
        ready, wanted = web["status"].get("readyReplicas", 0), web["spec"]["replicas"]
        assert wanted >= 1 and ready == wanted and row["PODS"] == f"{ready}/{wanted}", (row, web["status"])
        # Read back: the verified backup is a complete one in Blob (its manifest is written last).
        assert re.fullmatch(r"\d{8}T\d{6}Z", row["LAST VERIFIED BACKUP"]), row
        manifest = f"{tenant}/{row['LAST VERIFIED BACKUP']}/manifest.json"
        container = blobs.get_container_client(environment["platform_backup_container"])
        assert container.get_blob_client(manifest).exists(), manifest
        if tenant in migrated:
            assert re.fullmatch(r"\d+(\.\d+)? s", row["DOWNTIME"]), row
        else:
            assert row["DOWNTIME"] == "-", row

    second = _make_demo()
    recap = _recap(second)
    assert recap and all(counts["failed"] == 0 and counts["unreachable"] == 0 for counts in recap.values()), recap
    assert {host: counts["changed"] for host, counts in recap.items() if counts["changed"]} == {}, second[-4000:]
    assert _table(second) == rows
