"""The legacy_migration role through playbooks/migrate_legacy_vm.yml on the lab: refusals before any change, a
migration that fails halfway and is re-run, rollback, and a migration again after it. State is read back from
PostgreSQL, the API server, Traefik and the VM. The tests run in order, on the lab's one legacy VM."""

import glob
import json
import os
import re
import subprocess
import time
import urllib.request

import psycopg
from psycopg import sql
import pytest
from azure.storage.blob import BlobServiceClient
from integration.helpers import wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV_BIN = os.path.dirname(os.path.abspath(os.sys.executable))
# One legacy VM: these tests own it while they run, one after the other, in this order (make integration).
pytestmark = pytest.mark.legacy_vm
BACKUPS = "odoo-backups-lab"  # platform_backup_container of env-shared (inventories/lab), where hooli lives


def _playbook_command(playbook, extra=None, collections=None, limit=None):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", PATH=VENV_BIN + ":" + os.environ["PATH"])
    if collections:
        env["ANSIBLE_COLLECTIONS_PATH"] = collections
    argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", os.path.join(REPO, "inventories/lab"),
            os.path.join(REPO, playbook)]
    if extra:
        argv += ["-e", json.dumps(extra)]
    if limit:
        argv += ["--limit", limit]
    return argv, env


def _playbook(playbook, extra=None, collections=None, limit=None):
    argv, env = _playbook_command(playbook, extra, collections, limit)
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=900)


@pytest.fixture(scope="module")
def run(collections):
    # hooli lives in env-shared: its cluster, server and kubeconfig come from the platform role, run once here.
    foundation = _playbook("playbooks/shared_environment.yml", collections=collections, limit="env-shared")
    assert foundation.returncode == 0, foundation.stdout[-3000:] + foundation.stderr[-2000:]
    return lambda extra=None, playbook="playbooks/migrate_legacy_vm.yml": _playbook(playbook, extra, collections)


def _recap(result):
    lines = [line for line in result.stdout.splitlines() if line.startswith(("hooli ", "legacy-hooli "))]
    return {line.split()[0]: dict(part.split("=") for part in line.split()[2:]) for line in lines}


def _odoo_status(lab):
    return subprocess.run(["/usr/bin/python3", lab["legacy_vm"]["odooctl"], "status"], capture_output=True,
                          check=False).returncode


def _odoo_enabled(lab):
    """Whether the VM's Odoo service starts when the VM boots (odooctl is-enabled, as systemctl is-enabled)."""
    return subprocess.run(["/usr/bin/python3", lab["legacy_vm"]["odooctl"], "is-enabled"], capture_output=True,
                          check=False).returncode == 0


def _record(lab):
    path = os.path.join(lab["legacy_vm"]["root"], "var/lib/odoo-saas-migration/hooli.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _routers(lab, settle=None):
    """hooli's routers as Traefik reports them. Traefik applies a written or deleted IngressRoute from its watch a
    moment after the playbook ends: settle="enabled" or "gone" waits up to 20 s for that state."""
    deadline = time.monotonic() + (20 if settle else 0)
    while True:
        with urllib.request.urlopen(lab["traefik"]["api"] + "/api/http/routers?per_page=1000", timeout=5) as response:
            routers = [r for r in json.load(response) if "hooli.odoo.lab.test" in r.get("rule", "")]
        settled = {"enabled": bool(routers) and {r["status"] for r in routers} == {"enabled"},
                   "gone": not routers}.get(settle, True)
        if settled or time.monotonic() > deadline:
            return routers
        time.sleep(0.5)


def _connect(pg, dbname="hooli", **kwargs):
    return psycopg.connect(host=pg["host"], port=pg["port"], user=pg["user"], password=pg["password"],
                           dbname=dbname, **kwargs)


# The database's own schemas: public's tables are named alone, the others' as schema.table.
_OWN = "schemaname NOT IN ('pg_catalog', 'information_schema')"
_NAME = "CASE schemaname WHEN 'public' THEN '' ELSE schemaname || '.' END"


def _counts(pg, dbname="hooli"):
    with _connect(pg, dbname) as conn:
        tables = conn.execute(f"SELECT schemaname, tablename FROM pg_tables WHERE {_OWN}").fetchall()
        return {(t if s == "public" else f"{s}.{t}"):
                conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(s, t))).fetchone()[0]
                for s, t in tables}


def _sequences(pg, dbname="hooli"):
    """Where each sequence stands: a copy that lost them would collide on Odoo's next insert."""
    with _connect(pg, dbname) as conn:
        return dict(conn.execute(f"SELECT {_NAME} || sequencename, last_value FROM pg_sequences WHERE {_OWN}"))


def _pgpass_files(lab):
    """The admin's password files (one per run) left in hooli's staging folder."""
    return glob.glob(os.path.join(lab["legacy_vm"]["migration_workdir"], "controller", "hooli", ".pgpass*"))


def _a_referenced_file(lab):
    """The first file of the legacy VM's filestore: (its folder, its name, its path)."""
    root = lab["legacy_vm"]["filestore"]
    folder = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))[0]
    name = sorted(os.listdir(os.path.join(root, folder)))[0]
    return folder, name, os.path.join(root, folder, name)


def _target_exists(lab):
    pg = lab["postgres"]["platform"]
    with _connect(pg, "postgres", autocommit=True) as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = 'hooli'").fetchone())


def test_prepare_puts_hooli_back_before_its_migration(run, lab):
    result = run(playbook="molecule/migration/prepare.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert _odoo_status(lab) == 0 and not _target_exists(lab) and _record(lab) is None and not _routers(lab)
    assert _odoo_enabled(lab)


@pytest.mark.parametrize("extra, message", [
    ({"legacy_migration_images": {"17.0": "odoo:17.0"}}, "runs Odoo 16.0 (base 16.0.1.3), which has no tenant image"),
    ({"tenant_image_tag": "17.0-20250101"}, "hooli would run the image odoo:17.0-20250101 (Odoo 17.0), but"),
    ({"legacy_migration_allowed_extensions": ["plpgsql"]},
     "uses extensions that the target does not allow: pg_trgm, unaccent"),
    ({"legacy_migration_disk_margin": 1.0e9}, "disk space is short"),
    ({"legacy_migration_target_postgres": {"host": "127.0.0.1", "user": "postgres"}},
     "missing required arguments: password"),
    ({"migration_action": "delete"}, "value of migration_action must be one of: migrate, rollback"),
    # The tenant role's own variables, which it checks only where the playbook stages the tenant, after the freeze.
    ({"tenant_web_replicas": "many"}, "the variables of tenant hooli are wrong: argument 'tenant_web_replicas' is of "
     "type str and we were unable to convert to int"),
    ({"legacy_migration_ssh": "ssh -p 1 -o BatchMode=yes -o ConnectTimeout=5"}, "the controller cannot copy"),
    ({"migration_vm": "hooli"}, "migration_vm=hooli matches hooli, but it must name hosts of the group legacy_vms"),
    ({"legacy_tenant": "nosuchtenant"}, "legacy_tenant=nosuchtenant (VM legacy-hooli) must be a tenant inventory host"),
    ({"tenant_environment": "env-nosuch"}, "tenant_environment=env-nosuch of hooli must be a host of the group "
     "environments"),
    ({"legacy_migration_jobs": 0}, "legacy_migration_jobs=0: it is how many streams copy the data"),
    ({"legacy_odoo_status_command": "false"}, "(false) on legacy-hooli exited 1: it must exit 0 when the legacy Odoo "
     "runs and 3 when it is stopped"),
    ({"migration_vm": "legacy-nosuchvm"}, "migration_vm=legacy-nosuchvm matches no host"),
])
def test_preflight_refuses_before_any_change(run, lab, extra, message):
    result = run(extra)
    assert result.returncode != 0
    assert message in result.stdout.replace("\n", " ").replace("  ", " ") or message in result.stdout, \
        result.stdout[-3000:]
    assert _odoo_status(lab) == 0 and not _target_exists(lab) and _record(lab) is None


def test_preflight_refuses_a_pg_dump_older_than_the_server(run, lab, tmp_path):
    real = lab["legacy_vm"]["pg_bin_dir"]
    for tool in ("psql", "pg_restore"):
        os.symlink(os.path.join(real, tool), tmp_path / tool)
    (tmp_path / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 14.10'\n")
    os.chmod(tmp_path / "pg_dump", 0o755)
    result = run({"legacy_migration_pg_bin_dir": str(tmp_path)})
    assert result.returncode != 0
    assert "is older than the legacy server (PostgreSQL 15): it cannot dump it" in result.stdout
    assert _odoo_status(lab) == 0 and not _target_exists(lab)


def test_preflight_refuses_a_target_database_that_is_not_ours(run, lab):
    pg = lab["postgres"]["platform"]
    with _connect(pg, "postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE hooli")
        try:
            result = run()
        finally:
            conn.execute("DROP DATABASE hooli")
    assert result.returncode != 0
    assert "already exists" in result.stdout and "Refusing to overwrite it" in result.stdout
    assert _odoo_status(lab) == 0 and _record(lab) is None


def test_preflight_refuses_referenced_files_already_missing_on_the_vm(run, lab, tmp_path):
    folder, name, path = _a_referenced_file(lab)
    os.rename(path, tmp_path / name)
    try:
        result = run()
    finally:
        os.rename(tmp_path / name, path)
    assert result.returncode != 0
    text = result.stdout.replace("\n", " ")
    assert "1 of the" in text and "files that ir_attachment references are missing from" in text, text[-3000:]
    assert f"{folder}/{name}" in text and "legacy_migration_accept_missing_files=true" in text
    assert _odoo_status(lab) == 0 and not _target_exists(lab) and _record(lab) is None


# An admission policy that refuses the tenant's Deployments, as a cluster's policy engine would; it also refuses them in
# the namespace default, where the test sees it in force.
_REFUSING_POLICY = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: test-refuses-hooli}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
    - expression: "!(object.metadata.namespace in ['odoo-hooli', 'default'])"
      message: no Deployment may be written here (the test's policy)
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: test-refuses-hooli}
spec:
  policyName: test-refuses-hooli
  validationActions: [Deny]
"""


def test_a_tenant_the_cluster_refuses_stops_the_migration_before_the_freeze(run, lab, kubectl):
    # The tenant is staged before the freeze: when the cluster refuses one of its objects, the migration stops while
    # the legacy Odoo still serves, and the tenant (no route, no pod) does not.
    kubectl("apply", "-f", "-", stdin=_REFUSING_POLICY)
    try:
        probe = ("-n", "default", "create", "deployment", "probe", "--image=odoo:16.0", "--dry-run=server")
        wait_for(lambda: "the test's policy" in kubectl(*probe, check=False).stderr, timeout=30,
                 what="the test's admission policy in force")
        result = run()
    finally:
        kubectl("delete", "-f", "-", "--ignore-not-found", stdin=_REFUSING_POLICY)
    text = result.stdout.replace("\n", " ")
    assert result.returncode != 0 and "no Deployment may be written here" in text, text[-4000:]
    record = _record(lab)
    assert record["phase"] == "started" and "frozen_at" not in record, record
    assert _odoo_status(lab) == 0 and not _routers(lab)
    assert not json.loads(kubectl("-n", "odoo-hooli", "get", "deployments", "-o", "json").stdout)["items"]


def test_a_migration_failing_halfway_leaves_one_copy_and_a_rerun_finishes_it(run, lab, tmp_path):
    # The VM's pg_dump fails on the schema, then on the data (streamed into the controller's pg_restore, after the
    # schema is in), then on the second of the data's two streams only, then the controller's pg_restore fails.
    # Each failing tool answers --version (and -l, or the dump of the schema, or the first stream, where the
    # failure is later), then fails.
    failures = (
        ("legacy_migration_pg_bin_dir", "vm-schema", "legacy", "pg_dump", '*" --version "*', "disk full",
         "the dump of the schema on the VM failed (exit 1)"),
        ("legacy_migration_pg_bin_dir", "vm-data", "legacy", "pg_dump", '*" --version "*|*" --section=pre-data "*',
         "connection reset", "the copy of the data failed: the dump on the VM exited 1"),
        ("legacy_migration_pg_bin_dir", "vm-stream", "legacy", "pg_dump",
         '*" --version "*|*" --section=pre-data "*|*" --exclude-table-data="*', "broken pipe",
         "exited 1 (stream 2 of 2: public."),
        ("legacy_migration_controller_pg_bin_dir", "controller", "platform", "pg_restore", '*" --version "*|*" -l "*',
         "connection lost", "connection lost"),
    )
    attempts = (_record(lab) or {}).get("attempts", 0)
    for option, name, server, failing, passthrough, needle, message in failures:
        folder, real = tmp_path / name, lab["postgres"][server]["bin_dir"]
        folder.mkdir()
        for tool in {"psql", "pg_dump", "pg_restore"} - {failing}:
            os.symlink(os.path.join(real, tool), folder / tool)
        (folder / failing).write_text(
            f'#!/bin/sh\ncase " $* " in {passthrough}) exec {real}/{failing} "$@";; esac\n'
            f'echo "{failing}: error: injected failure: {needle}" >&2\nexit 1\n')
        os.chmod(folder / failing, 0o755)
        failed = run({option: str(folder)})
        assert failed.returncode != 0 and "injected failure" in failed.stdout, failed.stdout[-4000:]
        assert message in failed.stdout, failed.stdout[-4000:]
        # Frozen, not onboarded, no route: no copy serves but the one that can (after a rollback). No row was
        # restored, but by the first stream where only the second failed.
        assert _odoo_status(lab) == 3 and _record(lab)["phase"] == "frozen" and not _routers(lab)
        assert name == "vm-stream" or not any(_counts(lab["postgres"]["platform"]).values())
        # The admin's password file is gone when the job ends, even when it fails.
        assert not _pgpass_files(lab)
    assert _record(lab)["attempts"] == attempts + len(failures)
    # A run that died before its cleanup (the controller killed) leaves its file: the next run removes it.
    stale = os.path.join(lab["legacy_vm"]["migration_workdir"], "controller", "hooli", ".pgpass-20261129T000000000000")
    with open(os.open(stale, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as handle:
        handle.write("stale\n")

    rerun = run()
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    record = _record(lab)
    assert record["phase"] == "complete" and record["attempts"] == attempts + len(failures) + 1
    assert record["downtime_seconds"] > 0
    assert {"dump", "restore", "verify"} <= set(record["steps"]) and record["steps"]["dump"] > 0, record["steps"]
    assert _counts(lab["postgres"]["platform"]) == _counts(lab["postgres"]["legacy"])
    assert _sequences(lab["postgres"]["platform"]) == _sequences(lab["postgres"]["legacy"]) != {}
    assert _odoo_status(lab) == 3 and not _pgpass_files(lab)
    assert not _odoo_enabled(lab)  # the stop command disabled it: a reboot of the VM does not start a second copy
    routers = _routers(lab, settle="enabled")
    assert routers and {r["status"] for r in routers} == {"enabled"}

    again = run()
    assert again.returncode == 0 and _recap(again)["legacy-hooli"]["changed"] == "0"
    assert _recap(again)["hooli"]["changed"] == "0"


def _replicas(kubectl):
    deployments = json.loads(kubectl("-n", "odoo-hooli", "get", "deployments", "-o", "json").stdout)["items"]
    return {d["metadata"]["name"]: d["spec"]["replicas"] for d in deployments}


def _backups(lab):
    return BlobServiceClient.from_connection_string(
        lab["blob"]["connection_string"], connection_verify=lab["ca_bundle"]).get_container_client(BACKUPS)


def _backup_ids(lab):
    """The complete backups of hooli (those with their manifest, written last), oldest first."""
    return sorted(blob.name.split("/")[1] for blob in _backups(lab).list_blobs(name_starts_with="hooli/")
                  if blob.name.endswith("/manifest.json"))


def _partners_in_backup(lab, backup_id):
    """The res_partner rows of a backup's db.dump, read back with pg_restore."""
    dump = _backups(lab).download_blob(f"hooli/{backup_id}/db.dump").readall()
    restore = os.path.join(lab["postgres"]["platform"]["bin_dir"], "pg_restore")
    return subprocess.run([restore, "-a", "-t", "res_partner", "-f", "-"], input=dump, capture_output=True,
                          check=True).stdout.decode()


def test_rollback_restarts_the_legacy_odoo_and_removes_the_route(run, lab, kubectl):
    conf = lab["legacy_vm"]["odoo_conf"]
    files_before = sorted(os.listdir(lab["legacy_vm"]["filestore"]))
    assert _replicas(kubectl) == {"odoo-web": 1, "odoo-cron": 1}
    # a rollback names the tenant the VM was migrated into: another one is refused, and nothing changes
    wrong = run({"migration_action": "rollback", "legacy_tenant": "acme"})
    assert wrong.returncode != 0 and "legacy-hooli was migrated into hooli:complete" in wrong.stdout, \
        wrong.stdout[-3000:]
    moved_twice = run({"legacy_tenant": "acme"})
    assert moved_twice.returncode != 0 and "was already moved into another tenant (hooli:complete" in \
        moved_twice.stdout.replace("\n", " "), moved_twice.stdout[-3000:]
    assert _odoo_status(lab) == 3 and _replicas(kubectl) == {"odoo-web": 1, "odoo-cron": 1}
    assert {r["status"] for r in _routers(lab)} == {"enabled"} and _record(lab)["phase"] == "complete"
    pg = lab["postgres"]["platform"]
    with _connect(pg, autocommit=True) as conn:  # the tenant served: a write the VM lacks
        conn.execute("INSERT INTO res_partner (name, company_id) VALUES ('Written after the cutover', 1)")
    backups_before = _backup_ids(lab)
    # Blob is out of reach: the VM serves again and the tenant is stopped, but the backup is still owed, and a
    # migration (which would empty the tenant's database) is refused until a rollback takes it
    unreachable = {"connection_string": re.sub(r"BlobEndpoint=https://[^/;]+", "BlobEndpoint=https://127.0.0.1:1",
                                               lab["blob"]["connection_string"]),
                   "ca_bundle": lab["ca_bundle"], "blob_retries": 0}
    failed = run({"migration_action": "rollback", "odoo_saas_blob_auth": unreachable})
    assert failed.returncode != 0, failed.stdout[-3000:]
    assert _odoo_status(lab) == 0 and _replicas(kubectl) == {"odoo-web": 0, "odoo-cron": 0}
    assert _odoo_enabled(lab)  # started and enabled again by the rollback
    assert _record(lab)["rollback_backup"] == "pending" and _backup_ids(lab) == backups_before
    refused = run()
    assert refused.returncode != 0 and "the backup of what it wrote since its cutover was not taken" in \
        refused.stdout.replace("\n", " "), refused.stdout[-3000:]
    assert _odoo_status(lab) == 0 and _record(lab)["rollback_backup"] == "pending"
    result = run({"migration_action": "rollback"})
    assert result.returncode == 0, result.stdout[-3000:]
    # what the tenant wrote since its cutover is in a backup taken by the rollback, once the tenant was stopped
    new = sorted(set(_backup_ids(lab)) - set(backups_before))
    assert len(new) == 1, (backups_before, new)
    assert f"is in its backup {new[0]}" in result.stdout.replace("\n", " "), result.stdout[-3000:]
    assert "Written after the cutover" in _partners_in_backup(lab, new[0])
    # one copy runs: the tenant's web and cron are stopped before the legacy Odoo starts
    assert _replicas(kubectl) == {"odoo-web": 0, "odoo-cron": 0}
    assert _odoo_status(lab) == 0
    with urllib.request.urlopen(lab["legacy_vm"]["odoo_url"] + "/web/health", timeout=5) as response:
        assert response.status == 200
    assert not _routers(lab, settle="gone")
    routes = json.loads(kubectl("-n", "odoo-hooli", "get", "ingressroutes.traefik.io", "-o", "json").stdout)
    assert routes["items"] == []
    assert _record(lab)["phase"] == "rolled_back" and _record(lab)["rollback_backup"] == new[0]
    assert os.path.exists(conf)
    assert sorted(os.listdir(lab["legacy_vm"]["filestore"])) == files_before  # nothing deleted on the VM
    again = _recap(run({"migration_action": "rollback"}))
    assert again["legacy-hooli"]["changed"] == "0" and again["hooli"]["changed"] == "0"
    assert _backup_ids(lab) == backups_before + new


@pytest.fixture
def without_unaccent_on_the_vm(lab):
    """The legacy database without unaccent for one test, and with it again after, whether the test passed or not."""
    with _connect(lab["postgres"]["legacy"], autocommit=True) as conn:
        conn.execute("DROP EXTENSION IF EXISTS unaccent")
    yield
    with _connect(lab["postgres"]["legacy"], autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS unaccent")


# The VM has no unaccent: the restarts below drop public, and pg_database's extensions with it, and make them again.
@pytest.mark.usefixtures("without_unaccent_on_the_vm")
def test_migrating_again_after_a_rollback_starts_over_cleanly(run, lab, kubectl, tmp_path):
    pg = lab["postgres"]["legacy"]
    with _connect(pg, autocommit=True) as conn:  # the legacy Odoo kept working meanwhile
        conn.execute("INSERT INTO res_partner (name, company_id) VALUES ('After the rollback', 1)")
        # A custom module's table whose name needs quoting, now the largest: the data's second stream carries it
        # alone, by a quoted pg_dump pattern that the VM's shell must pass on whole, and the first stream excludes
        # it by the same pattern. A mangled pattern fails the dump, or copies its rows twice.
        [owner] = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'hooli'").fetchone()
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(owner)))
        conn.execute('DROP TABLE IF EXISTS public."x_Big ""Quoted"" table"')  # from an earlier run on this lab
        conn.execute('CREATE TABLE public."x_Big ""Quoted"" table" (id serial PRIMARY KEY, note text)')
        conn.execute('INSERT INTO public."x_Big ""Quoted"" table" (note) '
                     "SELECT repeat(md5(i::text), 8) FROM generate_series(1, 20000) i")
        # A schema of its own (an integration's), which the re-run below must empty before it restores again.
        conn.execute('DROP SCHEMA IF EXISTS "x_EDI inbox" CASCADE')
        conn.execute('CREATE SCHEMA "x_EDI inbox"')
        conn.execute('CREATE TABLE "x_EDI inbox".message (id serial PRIMARY KEY, body text)')
        conn.execute("""INSERT INTO "x_EDI inbox".message (body) SELECT 'order ' || i FROM generate_series(1, 300) i""")
    # A copy that differs from the VM (a stray row after the restore's last part) fails the verification: the tenant is not
    # scaled up and gets no route, and the failure is recorded so that the re-run copies again.
    real = lab["postgres"]["platform"]["bin_dir"]
    for tool in ("psql", "pg_dump"):
        os.symlink(os.path.join(real, tool), tmp_path / tool)
    (tmp_path / "pg_restore").write_text(
        f'#!/bin/sh\ncase " $* " in *" --version "*|*" -l "*) exec {real}/pg_restore "$@";; esac\n'
        f'{real}/pg_restore "$@" || exit $?\n'
        f'case " $* " in *" --section=post-data "*) ;; *) exit 0;; esac\n'
        f'exec {real}/psql -X -q -d hooli -c "INSERT INTO res_partner (name, company_id) VALUES (\'stray\', 1)"\n')
    os.chmod(tmp_path / "pg_restore", 0o755)
    differs = run({"legacy_migration_controller_pg_bin_dir": str(tmp_path)})
    assert differs.returncode != 0 and "res_partner has" in differs.stdout, differs.stdout[-3000:]
    assert re.search(r"sequence public\.res_partner_id_seq stands at (\d+) on the VM and (?!\1 )\d+ in the tenant",
                     differs.stdout), differs.stdout[-3000:]
    assert _record(lab)["phase"] == "verify_failed" and _odoo_status(lab) == 3 and not _routers(lab)
    assert _replicas(kubectl) == {"odoo-web": 0, "odoo-cron": 0}
    # The operator starts the legacy Odoo again while the copy is looked into; Odoo, still running after the next
    # run's preflight, loses a referenced file just before the freeze. The migration accepts missing files, and the
    # verification allows exactly those the frozen VM lacks, counted after the freeze (the preflight saw none).
    subprocess.run(["/usr/bin/python3", lab["legacy_vm"]["odooctl"], "start"], check=True, capture_output=True)
    assert _odoo_status(lab) == 0
    folder, name, lost = _a_referenced_file(lab)
    stop = f"mv {lost} {tmp_path / name} && {lab['legacy_vm']['odooctl']} stop"
    try:
        result = run({"legacy_migration_accept_missing_files": True, "legacy_odoo_stop_command": stop})
    finally:
        os.rename(tmp_path / name, lost)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 referenced files missing" not in result.stdout and "verified:" in result.stdout
    copy = os.path.join(lab["legacy_vm"]["tenant_filestores"], "hooli", "filestore", "hooli")
    assert os.path.isdir(copy) and not os.path.exists(os.path.join(copy, folder, name))
    assert _record(lab)["phase"] == "complete" and _odoo_status(lab) == 3
    counts = _counts(lab["postgres"]["platform"])
    assert counts == _counts(lab["postgres"]["legacy"]) and counts['x_Big "Quoted" table'] == 20000
    assert counts["x_EDI inbox.message"] == 300
    with _connect(lab["postgres"]["platform"]) as conn:
        assert {"pg_trgm", "unaccent"} <= {name for (name,) in conn.execute("SELECT extname FROM pg_extension")}
    assert _sequences(lab["postgres"]["platform"]) == _sequences(lab["postgres"]["legacy"])
    assert {r["status"] for r in _routers(lab, settle="enabled")} == {"enabled"}


def test_a_run_that_dies_after_the_restore_continues_from_the_copy(run, lab, kubectl, tmp_path):
    # Rolled back, then migrated again by a run whose controller dies (SIGKILL) while it counts the restored
    # tenant's rows: the restore job recorded the phase `restored` on the VM before it ended.
    rolled_back = run({"migration_action": "rollback"})
    assert rolled_back.returncode == 0, rolled_back.stdout[-3000:]
    attempts = _record(lab)["attempts"]
    real = lab["postgres"]["platform"]["bin_dir"]
    for tool in ("pg_dump", "pg_restore"):
        os.symlink(os.path.join(real, tool), tmp_path / tool)
    (tmp_path / "psql").write_text(
        f'#!/bin/sh\ncase "$*" in *"UNION ALL"*) pkill -KILL -f "ansible-playbook.*{tmp_path}"; exit 1;; esac\n'
        f'exec {real}/psql "$@"\n')
    os.chmod(tmp_path / "psql", 0o755)
    crashed = run({"legacy_migration_controller_pg_bin_dir": str(tmp_path)})
    assert crashed.returncode == -9, crashed.stdout[-3000:]
    record = _record(lab)
    assert record["phase"] == "restored" and record["attempts"] == attempts + 1, record
    assert _odoo_status(lab) == 3 and not _routers(lab) and _replicas(kubectl) == {"odoo-web": 0, "odoo-cron": 0}
    assert _counts(lab["postgres"]["platform"]) == _counts(lab["postgres"]["legacy"])

    # The re-run verifies that copy (no new dump or restore, no new attempt), then onboards and cuts over.
    resumed = run()
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert "record phase restored; plan continue" in resumed.stdout.replace("\n", " "), resumed.stdout[-3000:]
    assert "verified:" in resumed.stdout
    record = _record(lab)
    assert record["phase"] == "complete" and record["attempts"] == attempts + 1
    assert _odoo_status(lab) == 3 and _replicas(kubectl) == {"odoo-web": 1, "odoo-cron": 1}
    assert {r["status"] for r in _routers(lab, settle="enabled")} == {"enabled"}


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


def _stat(pid):
    """The fields of /proc/<pid>/stat after the command's name: [0] the state, [19] the start in clock ticks after
    boot (fields 3 and 22)."""
    return _read(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()


def _alive(pid, name=None, started=None):
    """Whether process `pid` runs, not a zombie, and is called `name` and started at `started` (from _started), when
    given: a pid can be reused, within a minute when other tests fork many processes."""
    try:
        comm, stat = _read(f"/proc/{pid}/comm"), _stat(pid)
    except FileNotFoundError:
        return False
    return stat[0] != "Z" and (name is None or comm == name) and (started is None or int(stat[19]) == started)


def _started(pid):
    """When process `pid` started, in clock ticks after boot."""
    return int(_stat(pid)[19])


def _pids(argv0):
    """The processes whose command line starts with argv0."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if handle.read().split(b"\0")[0].decode() == argv0:
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


def _slow_tools(folder, real, slow, others, passthrough):
    """A bin folder for a migration: `others` from `real`, and a `slow` tool that never ends but for the calls that
    the shell case pattern `passthrough` matches. Returns the never-ending program's path (its name is `slow`)."""
    (folder / "never").mkdir()
    os.symlink("/bin/sleep", folder / "never" / slow)
    for tool in others:
        os.symlink(os.path.join(real, tool), folder / tool)
    (folder / slow).write_text(f'#!/bin/sh\ncase " $* " in {passthrough}) exec {real}/{slow} "$@";; esac\n'
                               f'exec {folder}/never/{slow} 600\n')
    os.chmod(folder / slow, 0o755)
    return str(folder / "never" / slow)


def _killed_run(run, lab, collections, tmp_path, extra, started):
    """Roll hooli back, then start a migration with `extra` and kill it (SIGKILL) once `started()`. Returns the
    record's attempts before it, and its job's process group (file, and id with its leader's start), which the kill
    leaves running."""
    rolled_back = run({"migration_action": "rollback"})
    assert rolled_back.returncode == 0, rolled_back.stdout[-3000:]
    attempts = _record(lab)["attempts"]
    argv, env = _playbook_command("playbooks/migrate_legacy_vm.yml", extra, collections)
    output = tmp_path / "killed-run.log"
    with open(output, "w", encoding="utf-8") as log, subprocess.Popen(argv, env=env, stdout=log,
                                                                      stderr=subprocess.STDOUT) as killed:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not started():
            assert killed.poll() is None, _read(output)[-3000:]
            time.sleep(0.2)
        killed.kill()
        killed.wait()
    staging = os.path.join(lab["legacy_vm"]["migration_workdir"], "controller", "hooli")
    [group_file] = glob.glob(os.path.join(staging, ".job-*.pgid"))
    group = int(_read(group_file))
    assert _alive(group), "the job outlives the killed run"
    assert _record(lab)["phase"] == "frozen" and _odoo_status(lab) == 3
    return attempts, group_file, (group, _started(group))


def _rerun_finishes(run, lab, attempts, group_file, group):
    rerun = run()
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    record = _record(lab)
    assert record["phase"] == "complete" and record["attempts"] == attempts + 2, record
    assert not _alive(*group), "the re-run ended the earlier run's job"
    assert _counts(lab["postgres"]["platform"]) == _counts(lab["postgres"]["legacy"])
    assert not _pgpass_files(lab) and not os.path.exists(group_file)


def test_a_rerun_ends_the_dump_an_interrupted_run_left_running(run, lab, collections, tmp_path):
    # A run is killed while its job dumps on the VM: the job (a session of its own on the controller) and the VM's
    # pg_dump go on. The re-run ends both before it dumps again, then finishes the migration.
    tools = _slow_tools(tmp_path, lab["postgres"]["legacy"]["bin_dir"], "pg_dump", ("psql", "pg_restore"),
                        '*" --version "*')
    pidfile = os.path.join(lab["legacy_vm"]["root"], "var/tmp/odoo-saas-migration/hooli/dump.pid")
    attempts, group_file, group = _killed_run(
        run, lab, collections, tmp_path, {"legacy_migration_pg_bin_dir": str(tmp_path)},
        lambda: os.path.exists(pidfile) and _alive(_read(pidfile), "pg_dump"))
    dump_pid = _read(pidfile)
    assert _pids(tools) == [int(dump_pid)] and _alive(dump_pid, "pg_dump"), "the dump outlives the killed run"
    # With its start: the parallel tests run pg_dump too, and one of them may get this pid once it is free.
    dump = (dump_pid, "pg_dump", _started(dump_pid))
    _rerun_finishes(run, lab, attempts, group_file, group)
    assert not _alive(*dump), "the re-run ended the earlier run's dump"


def test_a_rerun_ends_the_restore_an_interrupted_run_left_running(run, lab, collections, tmp_path):
    # A run is killed while its job restores on the controller, past the dump of the schema: the job and its
    # pg_restore go on. The re-run ends the job's process group before it dumps again, empties what the first
    # restore wrote, and finishes the migration.
    tools = _slow_tools(tmp_path, lab["postgres"]["platform"]["bin_dir"], "pg_restore", ("psql", "pg_dump"),
                        '*" --version "*|*" -l "*')
    attempts, group_file, group = _killed_run(
        run, lab, collections, tmp_path, {"legacy_migration_controller_pg_bin_dir": str(tmp_path)},
        lambda: bool(_pids(tools)))
    [restore_pid] = _pids(tools)
    assert os.getpgid(restore_pid) == group[0], "the restore runs in the job's process group"
    assert _alive(restore_pid, "pg_restore"), "the restore outlives the killed run"
    restore = (restore_pid, "pg_restore", _started(restore_pid))
    _rerun_finishes(run, lab, attempts, group_file, group)
    assert not _alive(*restore), "the re-run ended the earlier run's restore"
