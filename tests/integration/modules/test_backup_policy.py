"""backup_policy against the lab's real PostgreSQL, Azurite and Kubernetes control plane.

Every check reads the state back from the service itself: psql (psycopg) for databases, a Blob listing and
downloads (azure-storage-blob) for backups, the API server (kubectl) for the CronJob.
"""

import datetime
import hashlib
import json
import os
import socket
import threading
import uuid

import pytest
from azure.storage.blob import BlobServiceClient

from integration.ansible_task import run_task
from integration.helpers import wait_for
from integration.modules import backup_seed as seed

DB_PASSWORD = "Tenant-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def blob_service(lab):
    return BlobServiceClient.from_connection_string(lab["blob"]["connection_string"],
                                                    connection_verify=lab["ca_bundle"])


@pytest.fixture(scope="module")
def container(blob_service):
    name = f"it-backup-{uuid.uuid4().hex[:8]}"
    yield name
    try:
        blob_service.delete_container(name)
    except Exception:  # pylint: disable=broad-except
        pass


@pytest.fixture(scope="module")
def source(lab, tmp_path_factory):
    """A seeded Odoo-shaped database and its filestore, shared by the tests of this module."""
    name = f"bk_{uuid.uuid4().hex[:8]}"
    filestore = str(tmp_path_factory.mktemp("filestore") / name)
    db_uuid = seed.seed(lab, name, filestore)
    yield {"database": name, "filestore": filestore, "uuid": db_uuid}
    seed.drop(lab, name)


def base_args(lab, container, tenant, source):
    server = lab["postgres"]["platform"]
    return {"tenant": tenant, "database": source["database"], "container": container,
            "login_host": server["host"], "login_port": server["port"], "login_user": server["user"],
            "login_password": server["password"], "pg_bin_dir": server["bin_dir"],
            "connection_string": lab["blob"]["connection_string"], "ca_bundle": lab["ca_bundle"],
            "filestore_path": source["filestore"], "block_size_mib": 1}


def blobs(blob_service, container, prefix):
    client = blob_service.get_container_client(container)
    if not client.exists():
        return {}
    return {b.name: b.size for b in client.list_blobs(name_starts_with=prefix)}


def databases(lab, pattern):
    with seed.connect(lab) as conn:
        return [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,))]


def test_round_trip(lab, blob_service, container, source, tmp_path):
    tenant = f"rt-{uuid.uuid4().hex[:6]}"
    args = dict(base_args(lab, container, tenant, source), action="run")
    secret = lab["blob"]["account_key"]

    planned = run_task("backup_policy", args, check=True)
    assert planned["changed"] is True, planned.get("msg")
    assert planned["backup"]["parts"] == ["db.dump", "filestore.tar", "manifest.json"]
    assert blobs(blob_service, container, f"{tenant}/") == {}  # check mode wrote nothing

    taken = run_task("backup_policy", args, verbosity=3)
    assert taken["changed"] is True, taken.get("msg")
    assert secret not in taken.output and lab["postgres"]["platform"]["password"] not in taken.output
    bid = taken["backup"]["id"]

    # read back from Azurite: the three parts, and a manifest that matches the bytes stored
    stored = blobs(blob_service, container, f"{tenant}/")
    assert set(stored) == {f"{tenant}/{bid}/{p}" for p in ("db.dump", "filestore.tar", "manifest.json")}
    client = blob_service.get_container_client(container)
    manifest = json.loads(client.download_blob(f"{tenant}/{bid}/manifest.json").readall())
    dump = client.download_blob(f"{tenant}/{bid}/db.dump").readall()
    assert dump[:5] == b"PGDMP"
    assert manifest["parts"]["db.dump"] == {"size": len(dump), "sha256": hashlib.sha256(dump).hexdigest()}
    tar = client.download_blob(f"{tenant}/{bid}/filestore.tar").readall()
    assert manifest["parts"]["filestore.tar"]["sha256"] == hashlib.sha256(tar).hexdigest()
    assert manifest["parts"]["filestore.tar"]["files"] == 400
    assert manifest["tenant"] == tenant and manifest["database"] == source["database"]
    assert manifest["odoo_version"] == "17.0.1.3" and manifest["database_uuid"] == source["uuid"]
    assert manifest["postgres"]["server_version"].startswith("15") and "15" in manifest["postgres"]["pg_dump_version"]
    counts = seed.table_counts(lab, source["database"])
    assert manifest["row_counts"]["res_partner"] == counts["res_partner"] == 3000
    assert manifest["row_counts"]["ir_attachment"] == counts["ir_attachment"] == 450
    assert manifest["started_at"] <= manifest["finished_at"]

    listed = run_task("backup_policy", dict(args, action="list"))
    assert listed["changed"] is False and [b["id"] for b in listed["backups"]] == [bid]

    verified = run_task("backup_policy", dict(args, action="verify"))
    assert verified["changed"] is False, verified.get("msg")
    check = verified["verification"]
    assert check["passed"] is True and check["problems"] == []
    assert check["checksums"] == {"db.dump": True, "filestore.tar": True}
    assert check["filestore"]["referenced"] == 400 and check["filestore"]["missing_count"] == 0
    assert databases(lab, f"{source['database']}_verify_%") == []  # the scratch database was dropped

    # restore as a copy, then compare independently: row counts, contents, files
    target = f"{source['database']}_copy"
    dest = str(tmp_path / "restored" / target)
    restore = dict(args, action="restore", restore_database=target, filestore_path=dest, restore_mode="copy",
                   base_url="https://staging.example.com")
    planned = run_task("backup_policy", restore, check=True)
    assert planned["changed"] is True and databases(lab, target) == [] and not os.path.exists(dest)
    restored = run_task("backup_policy", restore)
    assert restored["changed"] is True, restored.get("msg")
    # neutralisation adds one parameter, database.is_neutralized; everything else is equal
    assert seed.table_counts(lab, target) == dict(counts, ir_config_parameter=counts["ir_config_parameter"] + 1)
    for table in ("res_partner", "ir_attachment", "ir_module_module"):
        assert seed.table_digest(lab, target, table) == seed.table_digest(lab, source["database"], table), table
    assert seed.files(dest) == seed.files(source["filestore"])
    before, after = seed.config(lab, source["database"]), seed.config(lab, target)
    assert after["database.uuid"] != before["database.uuid"] and after["database.secret"] != before["database.secret"]
    assert after["database.is_neutralized"] == "True" and after["web.base.url"] == "https://staging.example.com"
    assert restored["restore"]["database_uuid"] == after["database.uuid"]

    # onto an existing database: refused without force, before anything is touched
    refused = run_task("backup_policy", restore)
    assert refused.get("failed") and "already exists" in refused["msg"] and "force" in refused["msg"]
    assert seed.config(lab, target)["database.uuid"] == after["database.uuid"]

    # as a move, with force: the uuid is the source's
    moved = run_task("backup_policy", dict(restore, restore_mode="move", force=True))
    assert moved["changed"] is True, moved.get("msg")
    assert seed.config(lab, target)["database.uuid"] == source["uuid"]
    assert seed.table_counts(lab, target) == counts
    assert seed.files(dest) == seed.files(source["filestore"])
    assert databases(lab, f"{target}__restore_%") == []
    seed.drop(lab, target)
