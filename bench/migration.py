"""Benchmark: migrate a legacy Odoo VM with playbooks/migrate_legacy_vm.yml, against a bare
`pg_dump -Fd -j2` + `pg_restore -j2` + `rsync` of the same data, in the same run, on the lab.

A second legacy "VM" (another odoo.conf, Odoo stand-in and database `benchco` on the lab's legacy PostgreSQL,
reached through the lab's legacy sshd) is seeded with pgbench data plus Odoo-shaped tables and a filestore of
random (incompressible) files. The tenant `benchco` is added by a small extra inventory.

    python bench/migration.py --pgbench-scale 70 --filestore-mib 1024

Writes bench/results/migration-<scale>.json.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "lab"))

from lablib import legacy  # noqa: E402  pylint: disable=wrong-import-position
from lablib.services import Lab  # noqa: E402  pylint: disable=wrong-import-position

import psycopg  # noqa: E402  pylint: disable=wrong-import-position
from azure.storage.blob import BlobServiceClient  # noqa: E402  pylint: disable=wrong-import-position

TENANT = "benchco"
ODOO_PORT = 28070
CONTAINER = "odoo-backups-lab"  # platform_backup_container of env-shared (inventories/lab)


def _pg(info, dbname="postgres"):
    return psycopg.connect(host=info["host"], port=info["port"], user=info["user"], password=info["password"],
                           dbname=dbname, autocommit=True)


def _settle(*servers):
    """The same start for each way: the servers' dirty buffers written out (CHECKPOINT), then the kernel's dirty
    pages on disk (sync). Without it, the bare way's 2 GB restore and 1 GB copy were still being written back while
    ours ran after it, and ours' writes while the next round's bare way ran."""
    for info in servers:
        with _pg(info) as conn:
            conn.execute("CHECKPOINT")
    os.sync()


def _run(argv, env=None, **kwargs):
    started = time.monotonic()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.monotonic() - started, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pgbench-scale", type=int, default=70)
    parser.add_argument("--rows", type=int, default=50, help="Odoo-shaped business rows, in units of 500 orders")
    parser.add_argument("--filestore-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--compression", type=int, default=1, help="ours' legacy_migration_dump_compression (the "
                        "role's default is 1; 0 suits the lab, where the VM and the controller share loopback)")
    parser.add_argument("--rounds", type=int, default=1, help="measure both ways this many times; the median round "
                        "is reported, with every round's ratio")
    parser.add_argument("--reseed", action="store_true", help="drop the legacy database and filestore of an earlier "
                        "run first (they are kept between runs of the same size)")
    args = parser.parse_args()

    lab = Lab()
    with open(os.path.join(lab.state, "lab.json"), encoding="utf-8") as handle:
        state = json.load(handle)
    pg_legacy, pg_platform, vm = state["postgres"]["legacy"], state["postgres"]["platform"], state["legacy_vm"]
    work = os.path.join(lab.state, "bench-migration")
    root = os.path.join(work, "vm")
    password = lab.secrets.get("bench-odoo-db")
    conf, odooctl = legacy.write_vm_files(root, {
        "db_host": pg_legacy["host"], "db_port": pg_legacy["port"], "db_user": "odoo_bench", "db_password": password,
        "db_name": TENANT, "data_dir": f"{root}/var/lib/odoo", "addons_path": f"{root}/opt/odoo/odoo/addons",
        "http_interface": "127.0.0.1", "http_port": ODOO_PORT, "logfile": f"{root}/var/log/odoo/odoo.log",
        "pidfile": f"{root}/var/run/odoo/odoo.pid",
    })
    if args.reseed:
        with _pg(pg_legacy) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{TENANT}" WITH (FORCE)')
        shutil.rmtree(f"{root}/var/lib/odoo/filestore/{TENANT}", ignore_errors=True)
    started = time.monotonic()
    seed = legacy.seed_odoo_database(pg_legacy, TENANT, "odoo_bench", password, f"{root}/var/lib/odoo",
                                     rows=args.rows, files=args.files, filestore_bytes=args.filestore_mib << 20,
                                     pgbench_scale=args.pgbench_scale, pg_bin_dir=pg_legacy["bin_dir"])
    print(f"seed: {seed} in {time.monotonic() - started:.1f}s", flush=True)
    filestore = f"{root}/var/lib/odoo/filestore/{TENANT}"
    with _pg(pg_legacy, TENANT) as conn:
        db_bytes = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    fs_bytes = sum(os.path.getsize(os.path.join(d, f)) for d, _s, fs in os.walk(filestore) for f in fs)

    # This checkout as the collection odoo_saas.platform; kubernetes.core, which the roles use, comes from the
    # inherited collections path (scripts/bootstrap.sh).
    collections = tempfile.mkdtemp(prefix="bench-coll-")
    os.makedirs(os.path.join(collections, "ansible_collections", "odoo_saas"))
    os.symlink(REPO, os.path.join(collections, "ansible_collections", "odoo_saas", "platform"))
    bin_venv = os.path.dirname(os.path.abspath(sys.executable))
    search_path = ":".join(p for p in (collections, os.environ.get("ANSIBLE_COLLECTIONS_PATH", "")) if p)
    aenv = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=search_path, PATH=bin_venv + ":" + os.environ["PATH"])
    # The environment the tenant lands in (untimed; changed=0 when it is already there): on a lab started from
    # nothing, the migration would otherwise stop at its preflight, with no cluster to onboard the tenant into.
    _run([os.path.join(bin_venv, "ansible-playbook"), "-i", os.path.join(REPO, "inventories/lab"),
          os.path.join(REPO, "playbooks/shared_environment.yml"), "--limit", "env-shared"], env=aenv)
    rounds = []
    for number in range(1, args.rounds + 1):
        # A clean target: no tenant database, filestore copy or record from an earlier run.
        tenant_root = os.path.join(work, "filestores", TENANT)
        record_dir = os.path.join(root, "var/lib/odoo-saas-migration")
        shutil.rmtree(tenant_root, ignore_errors=True)
        shutil.rmtree(record_dir, ignore_errors=True)
        shutil.rmtree(os.path.join(work, "staging"), ignore_errors=True)
        with _pg(pg_platform) as conn:
            for name in (TENANT, "bench_baseline"):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{TENANT}"')
        # Nor its namespace or backups: every run onboards the tenant and takes its first backup from nothing.
        subprocess.run([state["kubernetes"]["kubectl"], "--kubeconfig", state["kubernetes"]["kubeconfig"], "delete",
                        "namespace", f"odoo-{TENANT}", "--ignore-not-found", "--wait=true", "--timeout=120s"],
                       check=True, capture_output=True)
        blobs = BlobServiceClient.from_connection_string(
            state["blob"]["connection_string"], connection_verify=state["ca_bundle"]).get_container_client(CONTAINER)
        if blobs.exists():
            for blob in blobs.list_blobs(name_starts_with=f"{TENANT}/"):
                blobs.delete_blob(blob.name)
        subprocess.run(["/usr/bin/python3", odooctl, "start"], check=True, capture_output=True)

        # The baseline: the same dump, restore and copy, by hand, with nothing else.
        base = tempfile.mkdtemp(prefix="bench-bare-", dir=work)
        _settle(pg_legacy, pg_platform)
        env = dict(os.environ, PGPASSWORD=password)
        bin_dir = pg_legacy["bin_dir"]
        t_dump, _out = _run([f"{bin_dir}/pg_dump", "-Fd", "-j", str(args.jobs), "-f", f"{base}/dump", "-h", pg_legacy["host"],
                             "-p", str(pg_legacy["port"]), "-U", "odoo_bench", TENANT], env=env)
        penv = dict(os.environ, PGPASSWORD=pg_platform["password"], PGHOST=pg_platform["host"],
                    PGPORT=str(pg_platform["port"]), PGUSER=pg_platform["user"])
        with _pg(pg_platform) as conn:
            conn.execute('CREATE DATABASE "bench_baseline"')
        t_restore, _out = _run([f"{bin_dir}/pg_restore", "-j", str(args.jobs), "--no-owner", "--no-acl", "-d", "bench_baseline",
                                f"{base}/dump"], env=penv)
        t_rsync, _out = _run(["rsync", "-a", f"{filestore}/", f"{base}/filestore/"])
        bare = t_dump + t_restore + t_rsync
        print(f"bare: dump {t_dump:.1f}s restore {t_restore:.1f}s rsync {t_rsync:.1f}s = {bare:.1f}s", flush=True)
        shutil.rmtree(base)
        with _pg(pg_platform) as conn:
            conn.execute('DROP DATABASE "bench_baseline" WITH (FORCE)')

        # Ours: the playbook, with the bench VM and tenant in an extra inventory.
        inventory = os.path.join(work, "inventory.yml")
        with open(inventory, "w", encoding="utf-8") as handle:
            json.dump({"all": {"children": {
                "legacy_vms": {"hosts": {"legacy-benchco": {
                    "legacy_tenant": TENANT, "legacy_odoo_conf": conf,
                    "legacy_odoo_start_command": f"{odooctl} enable --now",
                    "legacy_odoo_stop_command": f"{odooctl} disable --now",
                    "legacy_odoo_status_command": f"{odooctl} status",
                    "legacy_migration_pg_bin_dir": bin_dir, "legacy_migration_controller_pg_bin_dir": bin_dir,
                    "legacy_migration_target_postgres": "{{ odoo_saas_postgres_admin }}",
                    "legacy_migration_filestore_root": tenant_root,
                    "legacy_migration_staging_dir": os.path.join(work, "staging"),
                    "legacy_migration_vm_workdir": os.path.join(root, "var/tmp/odoo-saas-migration"),
                    "legacy_migration_record_dir": record_dir, "legacy_migration_jobs": args.jobs,
                    "legacy_migration_dump_compression": args.compression}}},
                "tenants": {"children": {"migrated_tenants": {"hosts": {TENANT: {
                    "tenant_environment": "env-shared", "tenant_odoo_version": "16.0",
                    "tenant_hosts": [f"{TENANT}.odoo.lab.test"], "tenant_init_database": False}}}}},
            }}}, handle)
        _settle(pg_legacy, pg_platform)
        launched = time.time()
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t_ours, result = _run([os.path.join(bin_venv, "ansible-playbook"), "-i", os.path.join(REPO, "inventories/lab"),
                               "-i", inventory, os.path.join(REPO, "playbooks/migrate_legacy_vm.yml"),
                               "-e", "migration_vm=legacy-benchco"], env=aenv)
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # The CPU that ansible-playbook and the modules it waited for used (the background jobs, detached by Ansible's
        # async wrapper, are not in it): on 2 shared cores it is taken from the dump and the restore.
        playbook_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        with open(os.path.join(record_dir, f"{TENANT}.json"), encoding="utf-8") as handle:
            record = json.load(handle)
        print(f"ours: {t_ours:.1f}s, downtime {record['downtime_seconds']}s, steps {record['steps']}", flush=True)

        # The migration ends when the tenant serves (its route is written, the record says so); the first backup of
        # the new tenant follows in the same playbook and is reported apart.
        t_migration = float(record["served_at"]) - launched
        results = {
            "date": time.strftime("%Y-%m-%d"), "cores": os.cpu_count(), "jobs": args.jobs,
            "compression": args.compression,
            "pgbench_scale": args.pgbench_scale, "database_bytes": db_bytes, "filestore_bytes": fs_bytes,
            "filestore_files": args.files,
            "bare": {"dump": round(t_dump, 2), "restore": round(t_restore, 2), "rsync": round(t_rsync, 2),
                     "total": round(bare, 2)},
            "ours": {"playbook": round(t_ours, 2), "migration": round(t_migration, 2),
                     "first_backup_and_report": round(t_ours - t_migration, 2), "steps": record["steps"],
                     "alongside": record.get("concurrent", {}), "downtime": record["downtime_seconds"],
                     "playbook_cpu_seconds": round(playbook_cpu, 1)},
            "throughput_ratio": round(bare / t_migration, 3),
            "downtime_budget": round(t_dump + t_restore + 30, 2),
            "downtime_within_budget": float(record["downtime_seconds"]) <= t_dump + t_restore + 30,
        }
        rounds.append(results)
        print(f"round {number}: ratio {results['throughput_ratio']}", flush=True)

    # Each round measures the bare way, then ours. The machine's speed drifts between rounds, so the median round
    # (by throughput ratio; of an even number, the lower of the two middle ones) is reported, with every round's
    # numbers beside it.
    results = dict(sorted(rounds, key=lambda r: r["throughput_ratio"])[(len(rounds) - 1) // 2])
    if len(rounds) > 1:
        results["rounds"] = [{"bare": r["bare"]["total"], "ours_migration": r["ours"]["migration"],
                              "throughput_ratio": r["throughput_ratio"], "downtime": r["ours"]["downtime"],
                              "downtime_budget": r["downtime_budget"]} for r in rounds]
    os.makedirs(os.path.join(REPO, "bench", "results"), exist_ok=True)
    out = os.path.join(REPO, "bench", "results", f"migration-{args.pgbench_scale}.json")
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
    print(json.dumps(results, indent=2))
    shutil.rmtree(collections)

    # Leave the lab as small as it was: the bench tenant's objects stay (a no-op next time), its data goes.
    subprocess.run(["/usr/bin/python3", odooctl, "stop"], check=False, capture_output=True)
    shutil.rmtree(tenant_root, ignore_errors=True)
    shutil.rmtree(os.path.join(work, "staging"), ignore_errors=True)
    shutil.rmtree(os.path.join(root, "var/tmp"), ignore_errors=True)


if __name__ == "__main__":
    main()
