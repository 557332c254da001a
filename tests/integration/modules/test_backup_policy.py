"""backup_policy against the lab's real PostgreSQL, Azurite and Kubernetes control plane.

Every check reads the state back from the service itself: psql (psycopg) for databases, a Blob listing and
downloads (azure-storage-blob) for backups, the API server (kubectl) for the CronJob.
"""

import base64
import datetime
import hashlib
import json
import os
import socket
import threading
import uuid

import pytest
from azure.storage.blob import BlobServiceClient

from integration.ansible_task import run_task, run_tasks
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
    assert "AnsiballZ_backup_policy.py" not in taken.output  # run in the worker (plugins/plugin_utils/_in_process.py)
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
    assert manifest["filestore_absent_at_backup"] == []

    # As a module process too, as on a host that is not this controller with its Python.
    listed = run_task("backup_policy", dict(args, action="list"), verbosity=3, via="module")
    assert listed["changed"] is False and [b["id"] for b in listed["backups"]] == [bid]
    assert "AnsiballZ_backup_policy.py" in listed.output and secret not in listed.output

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


class CuttingProxy:
    """A TCP proxy to Azurite that cuts every connection, and refuses new ones, once `limit` bytes went up.

    It stands in for a storage endpoint that dies in the middle of an upload (TLS passes through untouched).
    """

    def __init__(self, target_port, limit):
        self.target_port = target_port
        self.limit = limit
        self.sent = 0
        self.cut = threading.Event()
        self.sockets = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.cut.is_set():
            try:
                client, _addr = self.listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                client.close()
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src, dst, counted):
        try:
            while not self.cut.is_set():
                data = src.recv(65536)
                if not data:
                    break
                if counted:
                    with self.lock:
                        self.sent += len(data)
                        over = self.sent > self.limit
                    if over:
                        self.close()
                        return
                dst.sendall(data)
        except OSError:
            pass

    def close(self):
        self.cut.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(): new connections are refused
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


def test_incomplete_backup_is_never_used(lab, blob_service, container, source):
    """After the cut, each request is retried (blob_retries) against an endpoint that now refuses connections,
    and the module then gives up. The backoff is shortened from the default (about 12, 24 and 48 s) to a fraction
    of a second: the retries still run, and what they end in is the same."""
    tenant = f"inc-{uuid.uuid4().hex[:6]}"
    args = dict(base_args(lab, container, tenant, source), action="run")
    first = run_task("backup_policy", args)
    assert first["changed"] is True, first.get("msg")
    good = first["backup"]["id"]
    dump_size = first["backup"]["manifest"]["parts"]["db.dump"]["size"]

    # the storage endpoint dies midway: after db.dump, in the middle of filestore.tar
    wait_for(lambda: seed_id_changed(good), timeout=5, what="the next second")
    proxy = CuttingProxy(int(lab["blob"]["blob_endpoint"].split(":")[2].split("/")[0]), dump_size + 2 * 1024 * 1024)
    endpoint = f"https://127.0.0.1:{proxy.port}/{lab['blob']['account_name']}"
    cut = run_task("backup_policy", dict(args, connection_string=None, account_name=lab["blob"]["account_name"],
                                         account_key=lab["blob"]["account_key"], account_url=endpoint,
                                         blob_retries=2, blob_retry_backoff=0.2))
    proxy.close()
    assert cut.get("failed") is True and proxy.sent > proxy.limit, cut
    assert "Blob Storage refused" in cut["msg"] and lab["blob"]["account_key"] not in cut["msg"]

    stored = blobs(blob_service, container, f"{tenant}/")
    prefixes = {name.split("/")[1] for name in stored}
    assert len(prefixes) == 2, stored  # the cut backup left its committed db.dump behind...
    broken = (prefixes - {good}).pop()
    assert f"{tenant}/{broken}/manifest.json" not in stored  # ...but never a manifest
    assert f"{tenant}/{broken}/db.dump" in stored and f"{tenant}/{broken}/filestore.tar" not in stored

    listed = run_task("backup_policy", dict(args, action="list"))
    assert [b["id"] for b in listed["backups"]] == [good]
    assert [b["id"] for b in listed["incomplete"]] == [broken]
    verified = run_task("backup_policy", dict(args, action="verify"))
    assert verified["verification"]["passed"] is True and verified["verification"]["backup"]["id"] == good

    # past its grace period, a prune removes the incomplete backup, and only it
    pruned = run_task("backup_policy", dict(args, action="list", prune=True, incomplete_grace_hours=0))
    assert pruned["changed"] is True and pruned["prune"]["incomplete_deleted"] == [broken]
    assert pruned["prune"]["deleted"] == []
    assert {name.split("/")[1] for name in blobs(blob_service, container, f"{tenant}/")} == {good}


def seed_id_changed(previous):
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") != previous


def test_corrupt_part_fails_verify_and_restore(lab, blob_service, container, source, tmp_path):
    tenant = f"cor-{uuid.uuid4().hex[:6]}"
    args = base_args(lab, container, tenant, source)
    taken = run_task("backup_policy", dict(args, action="run"))
    assert taken["changed"] is True, taken.get("msg")
    name = f"{tenant}/{taken['backup']['id']}/db.dump"
    client = blob_service.get_container_client(container)
    data = bytearray(client.download_blob(name).readall())
    data[len(data) // 2] ^= 0x01
    client.upload_blob(name, bytes(data), overwrite=True)

    failed = run_task("backup_policy", dict(args, action="verify"))
    assert failed.get("failed") is True
    assert "db.dump: its SHA-256 differs from the manifest" in failed["msg"], failed["msg"]
    assert failed["verification"]["passed"] is False and failed["verification"]["checksums"]["db.dump"] is False
    assert failed["verification"]["checksums"]["filestore.tar"] is True
    assert databases(lab, f"{source['database']}_verify_%") == []  # dropped, also on failure

    target = f"{source['database']}_cor"
    refused = run_task("backup_policy", dict(args, action="restore", restore_database=target,
                                             filestore_path=str(tmp_path / "fs")))
    assert refused.get("failed") is True and "db.dump" in refused["msg"] and "SHA-256" in refused["msg"]
    assert databases(lab, f"{target}%") == [] and not os.path.exists(tmp_path / "fs")


def test_file_the_tenant_had_lost_is_a_warning_and_a_file_the_archive_lost_a_failure(
        lab, blob_service, container, tmp_path):
    # A tenant of its own: one of its referenced files is deleted, as a migration that accepted a lost file leaves it.
    name = f"bkabs_{uuid.uuid4().hex[:8]}"
    filestore = str(tmp_path / name)
    seed.seed(lab, name, filestore, partners=100, files=20)
    try:
        with seed.connect(lab, name) as conn:
            lost = conn.execute("SELECT store_fname FROM ir_attachment WHERE store_fname IS NOT NULL "
                                "ORDER BY id LIMIT 1").fetchone()[0]
        os.remove(os.path.join(filestore, lost))
        tenant = f"abs-{uuid.uuid4().hex[:6]}"
        args = base_args(lab, container, tenant, {"database": name, "filestore": filestore})
        taken = run_task("backup_policy", dict(args, action="run"))
        assert taken["changed"] is True, taken.get("msg")
        bid = taken["backup"]["id"]
        client = blob_service.get_container_client(container)
        manifest_name = f"{tenant}/{bid}/manifest.json"
        manifest = json.loads(client.download_blob(manifest_name).readall())
        assert manifest["filestore_absent_at_backup"] == [lost]
        assert manifest["parts"]["filestore.tar"]["files"] == 19

        verified = run_task("backup_policy", dict(args, action="verify"))
        assert verified.get("failed") is not True, verified.get("msg")
        check = verified["verification"]
        assert check["passed"] is True and check["problems"] == []
        assert check["filestore"]["missing_count"] == 0
        assert check["filestore"]["absent_at_backup"] == [lost] and check["filestore"]["absent_at_backup_count"] == 1
        assert len(check["warnings"]) == 1 and lost in check["warnings"][0]
        assert any(lost in w for w in verified.get("warnings", [])), verified.get("warnings")

        # The same archive, with a manifest that does not know the file was already gone (a backup taken before
        # the manifest recorded it): the archive lacks a referenced file, and verify fails.
        del manifest["filestore_absent_at_backup"]
        client.upload_blob(manifest_name, json.dumps(manifest).encode(), overwrite=True)
        failed = run_task("backup_policy", dict(args, action="verify"))
        assert failed.get("failed") is True
        assert "1 file(s) that ir_attachment references are not in the filestore archive" in failed["msg"]
        assert repr(lost) in failed["msg"] and failed["verification"]["filestore"]["missing"] == [lost]
        assert databases(lab, f"{name}_verify_%") == []
    finally:
        seed.drop(lab, name)


def _expected_gfs(ids, daily, weekly, monthly):
    """Independent GFS: group by period, take each period's newest, keep the newest `n` periods."""
    times = {i: datetime.datetime.strptime(i, "%Y%m%dT%H%M%SZ") for i in ids}
    keep = set()
    for count, key in ((daily, lambda t: t.strftime("%Y-%m-%d")), (weekly, lambda t: t.isocalendar()[:2]),
                       (monthly, lambda t: t.strftime("%Y-%m"))):
        newest = {}
        for bid, moment in times.items():
            if key(moment) not in newest or moment > times[newest[key(moment)]]:
                newest[key(moment)] = bid
        keep |= set(sorted(newest.values(), reverse=True)[:count])
    return keep


def test_retention_keeps_exactly_the_gfs_set(lab, blob_service, container, source):
    tenant = f"ret-{uuid.uuid4().hex[:6]}"
    args = dict(base_args(lab, container, tenant, source), action="list", prune=True)
    client = blob_service.get_container_client(container)
    if not client.exists():
        client.create_container()
    start = datetime.datetime(2026, 6, 1, 2, 0)
    ids = []
    for day in range(120):  # one backup a night over 120 days, two on every tenth day
        for hour in ((2, 14) if day % 10 == 0 else (2,)):
            ids.append((start + datetime.timedelta(days=day)).replace(hour=hour).strftime("%Y%m%dT%H%M%SZ"))
    for bid in ids:
        client.upload_blob(f"{tenant}/{bid}/db.dump", b"PGDMP synthetic")
        client.upload_blob(f"{tenant}/{bid}/manifest.json", json.dumps({"format": 1, "synthetic": True}))
    old_incomplete = "20260605T030000Z"  # its day also has a complete backup
    fresh_incomplete = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for bid in (old_incomplete, fresh_incomplete):
        client.upload_blob(f"{tenant}/{bid}/db.dump", b"PGDMP partial", overwrite=True)
    keep = _expected_gfs(ids, 7, 4, 3)
    assert 7 < len(keep) <= 14

    def listing():
        return {name.split("/")[1] for name in blobs(blob_service, container, f"{tenant}/")
                if name.endswith("manifest.json")}

    planned = run_task("backup_policy", args, check=True, diff=True)
    assert planned["changed"] is True, planned.get("msg")
    assert set(planned["prune"]["deleted"]) == set(ids) - keep
    assert planned["prune"]["kept"] == sorted(keep, reverse=True)
    assert planned["prune"]["incomplete_deleted"] == [old_incomplete]
    assert planned["diff"]["after"]["backups"] == sorted(keep, reverse=True)
    assert listing() == set(ids)  # check mode deleted nothing

    pruned = run_task("backup_policy", args)
    assert pruned["changed"] is True and set(pruned["prune"]["deleted"]) == set(ids) - keep
    assert listing() == keep
    remaining = {name.split("/")[1] for name in blobs(blob_service, container, f"{tenant}/")}
    assert remaining == keep | {fresh_incomplete}  # a recent incomplete backup is within its grace period

    again = run_task("backup_policy", args)
    assert again["changed"] is False and again["prune"]["deleted"] == []
    listed = run_task("backup_policy", dict(args, prune=False))
    assert [b["id"] for b in listed["backups"]] == sorted(keep, reverse=True)


def _cron_args(lab, namespace, container, source, **extra):
    server = lab["postgres"]["platform"]
    args = {"action": "schedule", "tenant": "acme", "namespace": namespace, "database": source["database"],
            "container": container, "kubernetes": {"kubeconfig": lab["kubernetes"]["kubeconfig"]},
            "connection_string": lab["blob"]["connection_string"], "login_host": server["host"],
            "login_port": server["port"], "db_host": "pg.internal.example.com", "db_user": "acme",
            "db_password": DB_PASSWORD, "image": "registry.example.com/odoo-saas/ee:0.1.0",
            "schedule": "30 2 * * *", "time_zone": "Europe/Brussels", "filestore_claim": False}
    args.update(extra)
    return args


def test_cronjob_lifecycle(lab, kubectl, namespace, container, source):
    args = _cron_args(lab, namespace, container, source)

    def cronjob():
        result = kubectl("get", "cronjob", "odoo-backup", "-n", namespace, "-o", "json", check=False)
        return json.loads(result.stdout) if result.returncode == 0 else None

    planned = run_task("backup_policy", args, check=True, diff=True)
    assert planned["changed"] is True and planned["api_writes"] == 0, planned.get("msg")
    assert cronjob() is None
    # in check mode, a namespace that odoo_tenant has not created yet is planned for, not refused
    missing = dict(args, namespace=f"{namespace}-later")
    planned_early = run_task("backup_policy", missing, check=True, diff=True)
    assert planned_early["changed"] is True and planned_early["api_writes"] == 0, planned_early.get("msg")
    assert sorted(planned_early["changed_objects"]) == [f"CronJob/{namespace}-later/odoo-backup",
                                                        f"Secret/{namespace}-later/odoo-backup"]
    assert DB_PASSWORD not in json.dumps(planned_early)
    refused = run_task("backup_policy", missing)
    assert refused["failed"] and f"namespace '{namespace}-later' does not exist" in refused["msg"]
    assert DB_PASSWORD not in json.dumps(planned["diff"]) and lab["blob"]["account_key"] not in json.dumps(planned)

    created = run_task("backup_policy", args, diff=True, verbosity=3)
    assert created["changed"] is True, created.get("msg")
    assert sorted(created["changed_objects"]) == [f"CronJob/{namespace}/odoo-backup", f"Secret/{namespace}/odoo-backup"]
    assert DB_PASSWORD not in created.output and lab["blob"]["account_key"] not in created.output

    live = cronjob()
    spec = live["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"]) == ("30 2 * * *", "Europe/Brussels", "Forbid")
    assert spec["startingDeadlineSeconds"] == 600 and spec["successfulJobsHistoryLimit"] == 3
    assert spec["failedJobsHistoryLimit"] == 3 and spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 14400
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    container_spec = pod["containers"][0]
    assert container_spec["resources"] == {"requests": {"cpu": "100m", "memory": "256Mi"},
                                           "limits": {"cpu": "1", "memory": "512Mi"}}
    env = {e["name"]: e for e in container_spec["env"]}
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "odoo-backup", "key": "PGPASSWORD"}
    assert env["AZURE_STORAGE_CONNECTION_STRING"]["valueFrom"]["secretKeyRef"]["name"] == "odoo-backup"
    job_args = json.loads(container_spec["command"][-1])
    assert job_args["action"] == "run" and job_args["prune"] is True and job_args["login_user"] == "acme"
    assert job_args["login_host"] == "pg.internal.example.com"
    assert DB_PASSWORD not in json.dumps(live) and lab["blob"]["account_key"] not in json.dumps(live)
    secret = json.loads(kubectl("get", "secret", "odoo-backup", "-n", namespace, "-o", "json").stdout)
    assert base64.b64decode(secret["data"]["PGPASSWORD"]).decode() == DB_PASSWORD

    again = run_task("backup_policy", args)
    assert again["changed"] is False and again["api_writes"] == 0, again

    changed = run_task("backup_policy", dict(args, schedule="0 3 * * 0", time_zone="Etc/UTC"), diff=True)
    assert changed["changed"] is True and changed["changed_objects"] == [f"CronJob/{namespace}/odoo-backup"]
    assert cronjob()["spec"]["schedule"] == "0 3 * * 0" and cronjob()["spec"]["timeZone"] == "Etc/UTC"

    # its Job runs in the lab, where kwok completes it
    kubectl("create", "job", "backup-now", "--from=cronjob/odoo-backup", "-n", namespace)

    def complete():
        job = json.loads(kubectl("get", "job", "backup-now", "-n", namespace, "-o", "json").stdout)
        return any(c["type"] == "Complete" and c["status"] == "True" for c in job.get("status", {}).get("conditions", []))
    wait_for(complete, timeout=120, what="the backup Job to complete")

    removed = run_task("backup_policy", dict(args, state="absent"))
    assert removed["changed"] is True and cronjob() is None
    assert kubectl("get", "secret", "odoo-backup", "-n", namespace, check=False).returncode != 0
    gone = run_task("backup_policy", dict(args, state="absent"))
    assert gone["changed"] is False and gone["api_writes"] == 0


def test_bad_input_is_refused_before_any_write(lab, kubectl, namespace, blob_service, container, source, tmp_path):
    tenant = f"bad-{uuid.uuid4().hex[:6]}"
    args = base_args(lab, container, tenant, source)
    taken = run_task("backup_policy", dict(args, action="run"))
    assert taken["changed"] is True, taken.get("msg")
    old_pg_dump = tmp_path / "old-bin"
    old_pg_dump.mkdir()
    (old_pg_dump / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 14.11'\n")
    (old_pg_dump / "pg_dump").chmod(0o755)
    cron = _cron_args(lab, namespace, container, source)
    cases = [
        (dict(args, action="run", container="Odoo_Backups"), "container='Odoo_Backups' breaks Azure's container naming"),
        (dict(args, action="run", container="ab"), "container='ab' breaks Azure's container naming"),
        (dict(args, action="run", container="odoo--backups"), "container='odoo--backups' breaks"),
        (dict(args, action="run", keep_daily=-1), "keep_daily=-1 is below 0"),
        (dict(args, action="run", blob_retries=-1), "blob_retries=-1 is negative"),
        (dict(args, action="run", blob_retry_backoff=-0.5), "blob_retry_backoff=-0.5 is negative"),
        (dict(args, action="list", prune=True, keep_monthly=-2), "keep_monthly=-2 is below 0"),
        (dict(args, action="run", tenant="Acme_Shop"), "tenant='Acme_Shop' is not a DNS label"),
        (dict(args, action="restore", restore_database=source["database"]), "already exists"),
        (dict(args, action="verify", backup_id="20200101T000000Z"), "there is no such backup"),
        (dict(args, action="restore", restore_database="bk_never", backup_id="latest"), "is not a backup id"),
        (dict(args, action="run", pg_bin_dir=str(old_pg_dump)), "older than the server (PostgreSQL 15)"),
        (dict(cron, schedule="61 2 * * *"), "minute 61 is out of range"),
        (dict(cron, schedule="* * *"), "has 3 fields"),
        (dict(cron, schedule="CRON_TZ=UTC 0 2 * * *"), "Use the time_zone option"),
        (dict(cron, time_zone="Mars/Olympus_Mons"), "is not an IANA time zone"),
        (dict(cron, resources={"requests": {"cpu": "2", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}),
         "the cpu request 2 is above its limit 1"),
        (dict(cron, resources={"requests": {"cpu": "100m", "memory": "256Mi"}}), "resources.limits.cpu is not set"),
    ]
    stored = blobs(blob_service, container, f"{tenant}/")
    # The databases these cases could create: restores into bk_never and the source, and verify's scratch
    # databases (<source>_verify_*). Not all of bk_%: another xdist worker seeds its own source at any time.
    dbs = databases(lab, f"{source['database']}%") + databases(lab, "bk_never%")
    results = run_tasks("backup_policy", [case for case, _fragment in cases])
    for (case, fragment), result in zip(cases, results):
        assert result.get("failed") is True, (case, result)
        assert fragment in result["msg"], (fragment, result["msg"])
    # nothing was written: the same blobs, the same databases, no CronJob or Secret
    assert blobs(blob_service, container, f"{tenant}/") == stored
    assert databases(lab, f"{source['database']}%") + databases(lab, "bk_never%") == dbs == [source["database"]]
    assert kubectl("get", "cronjob,secret", "-n", namespace, "-o", "name").stdout.strip() in ("", "secret/default-token")


def test_account_key_and_entra_authentication(lab, blob_service, container, source):
    """The same listing with an account and key, and with an Entra token from the lab's identity endpoint
    (azure-identity against a custom authority; Azurite runs with OAuth on)."""
    tenant = f"auth-{uuid.uuid4().hex[:6]}"
    args = base_args(lab, container, tenant, source)
    taken = run_task("backup_policy", dict(args, action="run", filestore_path=None))
    assert taken["changed"] is True, taken.get("msg")
    del args["connection_string"]
    blob = lab["blob"]
    by_key = run_task("backup_policy", dict(args, action="list", account_name=blob["account_name"],
                                            account_key=blob["account_key"], account_url=blob["blob_endpoint"]),
                      verbosity=3)
    assert [b["id"] for b in by_key["backups"]] == [taken["backup"]["id"]], by_key.get("msg")
    assert blob["account_key"] not in by_key.output
    arm = lab["arm"]
    by_entra = run_task("backup_policy", dict(args, action="list", auth_mode="entra", account_url=blob["blob_endpoint"],
                                              tenant_id=arm["tenant_id"], client_id=arm["client_id"],
                                              client_secret=arm["client_secret"], authority=arm["authority"]),
                        verbosity=3)
    assert [b["id"] for b in by_entra["backups"]] == [taken["backup"]["id"]], by_entra.get("msg")
    assert arm["client_secret"] not in by_entra.output
    wrong = run_task("backup_policy", dict(args, action="list", account_name=blob["account_name"],
                                           account_key="d3Jvbmc=", account_url=blob["blob_endpoint"]))
    assert wrong.get("failed") is True and "Blob Storage refused" in wrong["msg"]
