"""Backup benchmark: backup_policy's `action: run` against the usual way, side by side, in the same run.

    python bench/backup.py --scales 10 60 --filestore-mib 64 256

For each size, it generates a database with pgbench (`pgbench -i -s <scale>`, about 15 MiB per scale unit) and a
filestore of random (incompressible) files in Odoo's layout, then measures:

- ours: the backup_policy module, run as Ansible runs it (its file, with its arguments), with `action: run`:
  pg_dump and tar streamed into Blob block uploads, with SHA-256 and row counts, manifest last;
- the baseline: `pg_dump -Fc` to a local file and `tar -cf` of the filestore to a local file, then both uploaded
  with azure-storage-blob's `upload_blob` (max_concurrency=2).

It reports the time of each, the throughput ratio (baseline time / our time: 1.0 means as fast), and the peak RSS
(VmHWM) of our module process, for each size, to show that it does not grow with the database.
Results go to bench/results/backup-<sizes>.json. Ratios are computed within one run: the machine is shared.
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TREE = os.path.join(REPO, "tests", "output", "unit-collections")
if not os.path.islink(os.path.join(_TREE, "ansible_collections", "odoo_saas", "platform")):
    os.makedirs(os.path.join(_TREE, "ansible_collections", "odoo_saas"), exist_ok=True)
    os.symlink(REPO, os.path.join(_TREE, "ansible_collections", "odoo_saas", "platform"))
MODULE = os.path.join(REPO, "plugins", "modules", "backup_policy.py")
# Runs the module file as Ansible does, then reports the process's peak resident memory.
RUNNER = """
import atexit, runpy, sys
def peak():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                sys.stderr.write("PEAK_RSS_KB=" + line.split()[1] + "\\n")
atexit.register(peak)
sys.argv = sys.argv[1:]  # as Ansible runs it: <module> <args file>
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def lab_state():
    path = os.path.join(os.environ.get("ODOO_SAAS_LAB_DIR", "/var/lib/odoo-saas-lab"), "lab.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def pg_env(server):
    return dict(os.environ, PGHOST=server["host"], PGPORT=str(server["port"]), PGUSER=server["user"],
                PGPASSWORD=server["password"])


def generate(lab, name, scale, filestore_mib, root):
    server = lab["postgres"]["platform"]
    env = pg_env(server)
    subprocess.run([os.path.join(server["bin_dir"], "createdb"), name], env=env, check=True)
    subprocess.run([os.path.join(server["bin_dir"], "pgbench"), "-i", "-q", "-s", str(scale), name], env=env,
                   check=True, capture_output=True)
    size = int(subprocess.run([os.path.join(server["bin_dir"], "psql"), "-tAc",
                               f"SELECT pg_database_size('{name}')", name], env=env, check=True,
                              capture_output=True, text=True).stdout)
    filestore = os.path.join(root, "filestore", name)
    rng = random.Random(scale)
    written = 0
    while written < filestore_mib * 1024 * 1024:
        content = rng.randbytes(rng.randint(8 * 1024, 1024 * 1024))
        sha = hashlib.sha1(content).hexdigest()
        os.makedirs(os.path.join(filestore, sha[:2]), exist_ok=True)
        with open(os.path.join(filestore, sha[:2], sha), "wb") as handle:
            handle.write(content)
        written += len(content)
    return size, written, filestore


def ours(lab, name, filestore, container, tenant):
    server = lab["postgres"]["platform"]
    args = {"ANSIBLE_MODULE_ARGS": {
        "action": "run", "tenant": tenant, "database": name, "container": container, "filestore_path": filestore,
        "login_host": server["host"], "login_port": server["port"], "login_user": server["user"],
        "login_password": server["password"], "pg_bin_dir": server["bin_dir"],
        "connection_string": lab["blob"]["connection_string"], "ca_bundle": lab["ca_bundle"]}}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(args, handle)
    env = dict(os.environ, PYTHONPATH=_TREE)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", RUNNER, MODULE, handle.name], env=env, capture_output=True,
                          text=True, check=False)
    elapsed = time.monotonic() - start
    os.unlink(handle.name)
    result = json.loads(proc.stdout)
    if result.get("failed"):
        raise SystemExit(f"backup_policy failed: {result.get('msg')}")
    peak = int(next(line for line in proc.stderr.splitlines() if line.startswith("PEAK_RSS_KB=")).split("=")[1])
    parts = result["backup"]["manifest"]["parts"]
    return elapsed, peak, sum(p["size"] for p in parts.values())


def baseline(lab, name, filestore, container, tenant, scratch):
    from azure.storage.blob import BlobServiceClient  # pylint: disable=import-outside-toplevel

    server = lab["postgres"]["platform"]
    service = BlobServiceClient.from_connection_string(lab["blob"]["connection_string"],
                                                       connection_verify=lab["ca_bundle"])
    client = service.get_container_client(container)
    dump, tar = os.path.join(scratch, "db.dump"), os.path.join(scratch, "filestore.tar")
    start = time.monotonic()
    subprocess.run([os.path.join(server["bin_dir"], "pg_dump"), "-Fc", "-f", dump, name], env=pg_env(server),
                   check=True)
    subprocess.run(["tar", "-cf", tar, "-C", filestore, "."], check=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for path in (dump, tar):
        with open(path, "rb") as handle:
            client.upload_blob(f"{tenant}/{stamp}/{os.path.basename(path)}", handle, overwrite=True,
                               max_concurrency=2)
    elapsed = time.monotonic() - start
    size = os.path.getsize(dump) + os.path.getsize(tar)
    os.unlink(dump)
    os.unlink(tar)
    return elapsed, size


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", type=int, nargs="+", default=[10, 60])
    parser.add_argument("--filestore-mib", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    lab = lab_state()
    from azure.storage.blob import BlobServiceClient  # pylint: disable=import-outside-toplevel
    service = BlobServiceClient.from_connection_string(lab["blob"]["connection_string"],
                                                       connection_verify=lab["ca_bundle"])
    container = f"bench-backup-{uuid.uuid4().hex[:6]}"
    service.create_container(container)
    root = tempfile.mkdtemp(prefix="bench-backup-", dir=os.environ.get("BENCH_TMP"))
    server = lab["postgres"]["platform"]
    rows = []
    try:
        for scale, filestore_mib in zip(options.scales, options.filestore_mib):
            name = f"bench_{scale}_{uuid.uuid4().hex[:6]}"
            db_size, fs_size, filestore = generate(lab, name, scale, filestore_mib, root)
            row = {"scale": scale, "database_bytes": db_size, "filestore_bytes": fs_size, "rounds": []}
            try:
                for index in range(options.rounds):  # alternate the order, so neither side always runs warm
                    first_ours = index % 2 == 0
                    if first_ours:
                        our_time, peak, our_bytes = ours(lab, name, filestore, container, f"ours-{scale}")
                    base_time, base_bytes = baseline(lab, name, filestore, container, f"base-{scale}", root)
                    if not first_ours:
                        time.sleep(1)
                        our_time, peak, our_bytes = ours(lab, name, filestore, container, f"ours-{scale}")
                    row["rounds"].append({"ours_s": round(our_time, 2), "ours_bytes": our_bytes,
                                          "ours_peak_rss_mib": round(peak / 1024, 1),
                                          "baseline_s": round(base_time, 2), "baseline_bytes": base_bytes})
                    print(json.dumps(row["rounds"][-1]), flush=True)
            finally:
                subprocess.run([os.path.join(server["bin_dir"], "dropdb"), name], env=pg_env(server), check=False)
                shutil.rmtree(filestore, ignore_errors=True)
            ours_total = sum(r["ours_s"] for r in row["rounds"])
            base_total = sum(r["baseline_s"] for r in row["rounds"])
            row.update(ours_s=round(ours_total / len(row["rounds"]), 2),
                       baseline_s=round(base_total / len(row["rounds"]), 2),
                       throughput_ratio=round(base_total / ours_total, 3),
                       ours_peak_rss_mib=max(r["ours_peak_rss_mib"] for r in row["rounds"]))
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "rounds"}), flush=True)
    finally:
        service.delete_container(container)
        shutil.rmtree(root, ignore_errors=True)
    out = os.path.join(REPO, "bench", "results", f"backup-{'-'.join(str(s) for s in options.scales)}.json")
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"date": time.strftime("%Y-%m-%d"), "cores": os.cpu_count(), "sizes": rows}, handle, indent=2)
    print(f"results: {out}")


if __name__ == "__main__":
    main()
