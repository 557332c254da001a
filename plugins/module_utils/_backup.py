# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups of one Odoo tenant in Azure Blob Storage: take, list, verify, restore, and prune (grandfather-father-son).

Layout in the container: `<tenant>/<UTC timestamp>/` holds `db.dump` (`pg_dump -Fc`), `filestore.tar` (or
`filestore.tar.gz`) and `manifest.json`, which is written last. A prefix without a manifest is an incomplete
backup: it is never listed as restorable, and it is pruned after a grace period.

Everything streams: pg_dump's output and the tar are cut into blocks as they are produced, and downloads are fed
to pg_restore and to tar extraction chunk by chunk, so memory stays bounded whatever the size of the tenant.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import uuid

from ._blob import MIB, auth_mode, check_container
from ._common import InputError, ServiceError, check_dns_label
from ._postgres import (Server, Statement, check_identifier, client_args, client_env, find_pg_tool, neutralise,
                        sql)

ID_FORMAT = "%Y%m%dT%H%M%SZ"
BACKUP_ID = re.compile(r"^\d{8}T\d{6}Z$")
MANIFEST = "manifest.json"
DUMP = "db.dump"
TARS = {"none": "filestore.tar", "gzip": "filestore.tar.gz"}
CHUNK = MIB
# The main tables of an Odoo database whose row counts a manifest records (those that exist).
ODOO_TABLES = ("res_partner", "res_users", "res_company", "ir_attachment", "ir_config_parameter", "ir_module_module",
               "ir_model_data", "mail_message", "product_template", "product_product", "sale_order",
               "sale_order_line", "account_move", "account_move_line", "stock_move", "stock_picking", "pos_order",
               "project_task", "hr_employee")
# pg_dump's custom-format archive version -> the oldest PostgreSQL major whose pg_restore reads it.
ARCHIVE_READERS = {(1, 12): 9, (1, 13): 11, (1, 14): 12, (1, 15): 16, (1, 16): 17}


# ------------------------------------------------------------------ pure parts
def backup_id(moment):
    return moment.astimezone(datetime.timezone.utc).strftime(ID_FORMAT)


def id_time(bid):
    return datetime.datetime.strptime(bid, ID_FORMAT).replace(tzinfo=datetime.timezone.utc)


def gfs_keep(ids, keep_daily, keep_weekly, keep_monthly):
    """The backups to keep, grandfather-father-son: the newest backup of each of the last `keep_daily` days
    that have one, of each of the last `keep_weekly` ISO weeks, and of each of the last `keep_monthly` months
    (UTC). One backup may count for several rules. Pure: depends only on the ids."""
    keep = set()
    ordered = sorted(ids, key=id_time, reverse=True)
    for count, period in ((keep_daily, lambda t: t.date()), (keep_weekly, lambda t: t.isocalendar()[:2]),
                          (keep_monthly, lambda t: (t.year, t.month))):
        seen = []
        for bid in ordered:
            key = period(id_time(bid))
            if key in seen:
                continue
            if len(seen) == count:
                break
            seen.append(key)
            keep.add(bid)
    return keep


def plan_prune(complete, incomplete, keep_daily, keep_weekly, keep_monthly, grace_hours, now):
    """What a prune deletes: complete backups outside the GFS set, and incomplete ones that started (their id)
    longer ago than the grace period, which is longer than a backup Job may run."""
    keep = gfs_keep([b["id"] for b in complete], keep_daily, keep_weekly, keep_monthly)
    limit = now - datetime.timedelta(hours=grace_hours)
    stale = [b for b in incomplete if b["started"] < limit]
    return sorted(keep, reverse=True), [b for b in complete if b["id"] not in keep], stale


def archive_version(header):
    """The (major, minor) archive version of a custom-format dump, from its first bytes."""
    if len(header) < 8 or header[:5] != b"PGDMP":
        raise ServiceError("db.dump does not start like a pg_dump custom-format archive (PGDMP); it is not "
                           "restorable with pg_restore.")
    return header[5], header[6]


def check_restore_tool(version_text, major, archive):
    need = ARCHIVE_READERS.get(tuple(archive))
    if need is None and tuple(archive) > max(ARCHIVE_READERS):
        need = 99
    if need is not None and major < need:
        raise InputError(f"pg_restore {version_text!r} is too old for this backup: its dump has archive format "
                         f"{archive[0]}.{archive[1]}, which pg_restore reads from PostgreSQL {need} on. Install "
                         "a newer PostgreSQL client, or set pg_bin_dir. Nothing was changed.")


def validate(params):
    """Refuse bad input before anything is written."""
    check_dns_label("tenant", params["tenant"])
    check_container(params["container"])
    for option in ("keep_daily", "keep_weekly", "keep_monthly", "incomplete_grace_hours"):
        if params[option] < 0:
            raise InputError(f"{option}={params[option]} is below 0; a retention count is 0 or more "
                             "(the defaults are 7 daily, 4 weekly, 3 monthly, as on Odoo.sh).")
    if params["keep_daily"] + params["keep_weekly"] + params["keep_monthly"] == 0:
        raise InputError("keep_daily, keep_weekly and keep_monthly are all 0, so a prune would delete every "
                         "backup; keep at least one.")
    if params["backup_id"] is not None and not BACKUP_ID.match(params["backup_id"]):
        raise InputError(f"backup_id={params['backup_id']!r} is not a backup id; ids are UTC timestamps such as "
                         "'20261123T020000Z' (see action=list).")
    if not 1 <= params["block_size_mib"] <= 100:
        raise InputError(f"block_size_mib={params['block_size_mib']} is out of range: use 1 to 100 (Blob Storage "
                         "blocks are at most 4000 MiB, but memory use is about 3 blocks).")
    action = params["action"]
    if action in ("run", "verify", "restore"):
        if not params["database"]:
            raise InputError(f"action={action} needs database: the tenant's PostgreSQL database.")
        check_identifier("database", params["database"], kind="database")
    if action == "restore":
        if not params["restore_database"]:
            raise InputError("action=restore needs restore_database: the database to restore into. It must not "
                             "exist yet, unless force is true.")
        check_identifier("restore_database", params["restore_database"], kind="database")
        if params["restore_owner"]:
            check_identifier("restore_owner", params["restore_owner"])
    if action == "run" and params["filestore_path"] and not os.path.isdir(params["filestore_path"]):
        raise InputError(f"filestore_path={params['filestore_path']!r} is not a directory; give the tenant's "
                         "filestore, <data_dir>/filestore/<database>.")
    return auth_mode(params)


# ------------------------------------------------------------------ the catalogue
def catalogue(store, tenant):
    """The tenant's backups: complete ones (with a manifest) newest first, and incomplete ones."""
    groups = {}
    for blob in store.list(f"{tenant}/"):
        parts = blob["name"].split("/")
        if len(parts) != 3 or not BACKUP_ID.match(parts[1]):
            continue
        entry = groups.setdefault(parts[1], {"id": parts[1], "prefix": f"{tenant}/{parts[1]}/", "parts": {},
                                             "blobs": [], "started": id_time(parts[1])})
        entry["parts"][parts[2]] = blob["size"]
        entry["blobs"].append(blob["name"])
    complete, incomplete = [], []
    for bid in sorted(groups, reverse=True):
        (complete if MANIFEST in groups[bid]["parts"] else incomplete).append(groups[bid])
    return complete, incomplete


def summary(entry):
    return {"id": entry["id"], "prefix": entry["prefix"], "time": id_time(entry["id"]).isoformat(),
            "parts": dict(sorted(entry["parts"].items())), "size": sum(entry["parts"].values())}


class HashingSink:
    """Passes writes on to `target`, hashing and counting them."""

    def __init__(self, target):
        self.target = target
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.sha.update(data)
        self.size += len(data)
        return self.target.write(data)

    def tell(self):
        return self.size

    def flush(self):
        pass


class ChunkReader:
    """A readable file-like object over an iterator of chunks, hashing everything it hands out."""

    def __init__(self, chunks):
        self.chunks = iter(chunks)
        self.pending = b""
        self.sha = hashlib.sha256()
        self.size = 0

    def read(self, size=-1):
        while size < 0 or len(self.pending) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.pending += chunk
        if size < 0:
            size = len(self.pending)
        out, self.pending = self.pending[:size], self.pending[size:]
        self.sha.update(out)
        self.size += len(out)
        return out

    def drain(self):
        while self.read(CHUNK):
            pass


# ------------------------------------------------------------------ the work
class Backups:
    """One tenant's backups in one container, driven by the module's parameters."""

    def __init__(self, params, store, check_mode):
        self.p = params
        self.store = store
        self.check_mode = check_mode
        self.tenant = params["tenant"]
        self.server = None

    def close(self):
        if self.server is not None:
            self.server.close()

    def _server(self):
        if self.server is None:
            self.server = Server(self.p)
        return self.server

    def _tool(self, tool, purpose):
        return find_pg_tool(tool, self.p["pg_bin_dir"], purpose)

    def _database_exists(self, name):
        return self._server().fetchone("SELECT 1 FROM pg_database WHERE datname = %s", (name,)) is not None

    # ------------------------------------------------------------------- list
    def list(self):
        complete, incomplete = catalogue(self.store, self.tenant)
        return {"backups": [summary(b) for b in complete], "incomplete": [summary(b) for b in incomplete]}

    def pick(self):
        """The named backup, or the newest complete one; an unknown or incomplete id is refused."""
        complete, incomplete = catalogue(self.store, self.tenant)
        wanted = self.p["backup_id"]
        if wanted is None:
            if not complete:
                raise InputError(f"tenant {self.tenant!r} has no complete backup in container "
                                 f"{self.p['container']!r}; take one with action=run.")
            entry = complete[0]
        else:
            found = [b for b in complete if b["id"] == wanted]
            if not found:
                why = "it is incomplete (it has no manifest)" if any(b["id"] == wanted for b in incomplete) else \
                    "there is no such backup"
                raise InputError(f"backup_id={wanted!r} cannot be used for tenant {self.tenant!r}: {why}. The "
                                 f"complete backups are: {', '.join(b['id'] for b in complete[:10]) or 'none'}.")
            entry = found[0]
        manifest = json.loads(self.store.read(entry["prefix"] + MANIFEST))
        return entry, manifest

    # -------------------------------------------------------------------- run
    def run(self):
        p = self.p
        server = self._server()
        dump_tool, dump_version, dump_major = self._tool("pg_dump", "action=run")
        if dump_major < server.major:
            raise InputError(f"pg_dump {dump_version!r} is older than the server (PostgreSQL {server.major}); "
                             "pg_dump must not be older than the server's major version. Install a newer "
                             "PostgreSQL client, or set pg_bin_dir. Nothing was written.")
        if not self._database_exists(p["database"]):
            raise InputError(f"database={p['database']!r} does not exist on {p['login_host']}:{p['login_port']}.")
        started = datetime.datetime.now(datetime.timezone.utc)
        bid = backup_id(started)
        prefix = f"{self.tenant}/{bid}/"
        tar_name = TARS[p["filestore_compression"]] if p["filestore_path"] else None
        plan = {"id": bid, "prefix": prefix, "container": p["container"],
                "parts": [DUMP] + ([tar_name] if tar_name else []) + [MANIFEST]}
        if self.check_mode:
            plan["database_size"] = server.fetchone("SELECT pg_database_size(%s)", (p["database"],))[0]
            return plan
        self.store.ensure_container()
        if self.store.list(prefix):
            raise ServiceError(f"{prefix} already holds blobs in container {p['container']!r}; another backup "
                               "started in the same second. Nothing was overwritten; run again.")
        conn = server.connect(p["database"])
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        try:
            # pg_dump and the row counts read the same snapshot.
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            counts = row_counts(conn)
            referenced = referenced_files(conn) if tar_name and "ir_attachment" in counts else set()
            dump = self._upload_dump(dump_tool, snapshot, prefix + DUMP)
        finally:
            conn.execute("ROLLBACK")
        parts = {DUMP: dump}
        # Files the tenant's own filestore already lacks, seen before the archive is written: verify then tells
        # them (the tenant's loss, for example files accepted as lost in a migration) from files the archive lost.
        absent = sorted(f for f in referenced if not os.path.isfile(os.path.join(p["filestore_path"], f)))
        if tar_name:
            parts[tar_name] = self._upload_filestore(p["filestore_path"], prefix + tar_name)
        params = dict(server.fetchall("SELECT key, value FROM ir_config_parameter WHERE key = 'database.uuid'",
                                      dbname=p["database"])) if "ir_config_parameter" in counts else {}
        manifest = {
            "format": 1, "tenant": self.tenant, "database": p["database"], "id": bid,
            "odoo_version": p["odoo_version"] or _odoo_version(server, p["database"], counts),
            "database_uuid": params.get("database.uuid"),
            "postgres": {"server_version": server.fetchone("SHOW server_version")[0],
                         "server_version_num": server.version_num, "pg_dump_version": dump_version,
                         "archive_version": dump.pop("archive_version")},
            "parts": parts, "row_counts": counts, "filestore_absent_at_backup": absent,
            "started_at": started.isoformat(),
            "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        }
        self.store.put(prefix + MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
        plan["manifest"] = manifest
        return plan

    def _upload_dump(self, tool, snapshot, name):
        p = self.p
        writer = self.store.writer(name, p["block_size_mib"] * MIB)
        sha = hashlib.sha256()
        header = b""
        with tempfile.TemporaryFile() as errors, subprocess.Popen(
                [tool, "-Fc", "--no-password", f"--snapshot={snapshot}", "-d", p["database"]] +
                client_args(self.server.params), stdout=subprocess.PIPE, stderr=errors,
                env=client_env(self.server.params)) as proc:
            try:
                while True:
                    chunk = proc.stdout.read(CHUNK)
                    if not chunk:
                        break
                    if len(header) < 8:
                        header += chunk[:8]
                    sha.update(chunk)
                    writer.write(chunk)
                proc.wait()
                if proc.returncode != 0:
                    errors.seek(0)
                    raise ServiceError(f"pg_dump of {p['database']!r} failed (exit {proc.returncode}): "
                                       f"{errors.read().decode(errors='replace').strip()}; no manifest was written.")
                writer.close()
            except BaseException:
                proc.kill()
                writer.abort()
                raise
        return {"size": writer.size, "sha256": sha.hexdigest(), "archive_version": list(archive_version(header))}

    def _upload_filestore(self, path, name):
        writer = self.store.writer(name, self.p["block_size_mib"] * MIB)
        sink = HashingSink(writer)
        files = total = 0
        mode = "w|gz" if name.endswith(".gz") else "w|"
        try:
            with tarfile.open(fileobj=sink, mode=mode, format=tarfile.PAX_FORMAT) as tar:
                for root, dirs, names in os.walk(path):
                    dirs.sort()
                    for entry in sorted(names):
                        full = os.path.join(root, entry)
                        tar.add(full, arcname=os.path.relpath(full, path), recursive=False)
                        files += 1
                        total += os.lstat(full).st_size
            writer.close()
        except BaseException:
            writer.abort()
            raise
        return {"size": sink.size, "sha256": sink.sha.hexdigest(), "files": files, "bytes": total,
                "compression": self.p["filestore_compression"]}

    # ----------------------------------------------------------------- restore
    def _pg_restore(self, manifest):
        tool, version, major = self._tool("pg_restore", f"action={self.p['action']}")
        check_restore_tool(version, major, manifest["postgres"]["archive_version"])
        return tool

    def _restore_dump(self, tool, entry, manifest, database, role=None):
        """Stream db.dump into pg_restore; returns (sha256 matches, pg_restore's error or None)."""
        args = [tool, "--no-owner", "--no-acl", "--exit-on-error", "--no-password", "-d", database]
        if role:
            args.append(f"--role={role}")
        reader = ChunkReader(self.store.chunks(entry["prefix"] + DUMP))
        with tempfile.TemporaryFile() as errors, subprocess.Popen(
                args + client_args(self.server.params), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=errors, env=client_env(self.server.params)) as proc:
            try:
                alive = True
                while True:
                    chunk = reader.read(CHUNK)
                    if not chunk:
                        break
                    if alive:
                        try:
                            proc.stdin.write(chunk)
                        except BrokenPipeError:
                            alive = False  # keep reading: the checksum must cover the whole part
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
                proc.wait()
            except BaseException:
                proc.kill()
                raise
            errors.seek(0)
            error = errors.read().decode(errors="replace").strip()[-2000:] if proc.returncode else None
        return reader.sha.hexdigest() == manifest["parts"][DUMP]["sha256"], error

    def _read_tar(self, entry, tar_name, extract_to=None):
        """Stream the filestore tar: the set of its files and whether its sha256 matches; optionally extract."""
        reader = ChunkReader(self.store.chunks(entry["prefix"] + tar_name))
        members = set()
        with tarfile.open(fileobj=reader, mode="r|*") as tar:
            for member in tar:
                if member.isfile():
                    members.add(member.name)
                if extract_to:
                    tar.extract(member, extract_to, filter="data")
        reader.drain()
        return members, reader.sha.hexdigest()

    def verify(self):
        entry, manifest = self.pick()
        tool = self._pg_restore(manifest)
        server = self._server()
        result = {"backup": summary(entry), "passed": None, "problems": [], "warnings": []}
        if self.check_mode:
            result["planned"] = ["restore into a scratch database", "check every SHA-256",
                                 "compare the row counts", "check the filestore", "drop the scratch database"]
            return result
        scratch = f"{self.p['database'][:40]}_verify_{uuid.uuid4().hex[:8]}"
        problems = result["problems"]
        create = sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(scratch))
        try:
            server.connect(server.params["maintenance_db"]).execute(create)
            dump_ok, error = self._restore_dump(tool, entry, manifest, scratch)
            if error:
                problems.append(f"pg_restore into the scratch database failed: {error}")
            result["checksums"] = {DUMP: dump_ok}
            tar_name = next((n for n in manifest["parts"] if n.startswith("filestore.tar")), None)
            members = set()
            if tar_name:
                members, digest = self._read_tar(entry, tar_name)
                result["checksums"][tar_name] = digest == manifest["parts"][tar_name]["sha256"]
            for part, ok in result["checksums"].items():
                if not ok:
                    problems.append(f"{part}: its SHA-256 differs from the manifest; the stored part is corrupt.")
            if not error:
                self._compare(server, scratch, manifest, members, tar_name, result)
        finally:
            server.drop_connection(scratch)
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch))
            server.connect(server.params["maintenance_db"]).execute(drop)
        result["scratch_database"] = scratch
        result["passed"] = not problems
        return result

    def _compare(self, server, scratch, manifest, members, tar_name, result):
        conn = server.connect(scratch)
        counts = row_counts(conn)
        expected = manifest["row_counts"]
        result["row_counts"] = {t: {"manifest": expected.get(t), "restored": counts.get(t)}
                                for t in sorted(set(expected) | set(counts))}
        for table, pair in result["row_counts"].items():
            if pair["manifest"] != pair["restored"]:
                result["problems"].append(f"table {table}: {pair['restored']} rows restored, the manifest says "
                                          f"{pair['manifest']}.")
        referenced = referenced_files(conn) if "ir_attachment" in counts else set()
        # Absent from the tenant's filestore when the backup was taken (recorded by action=run): not the archive's
        # fault, so a warning; any other missing file is the archive's, so a problem.
        known = set(manifest.get("filestore_absent_at_backup", ()))
        absent = sorted((referenced - members) & known)
        missing = sorted(referenced - members - known)
        result["filestore"] = {"archive": tar_name, "files": len(members), "referenced": len(referenced),
                               "missing": missing[:20], "missing_count": len(missing),
                               "absent_at_backup": absent[:20], "absent_at_backup_count": len(absent)}
        if missing:
            result["problems"].append(f"{len(missing)} file(s) that ir_attachment references are not in the "
                                      f"filestore archive, for example {missing[0]!r}.")
        if absent:
            result["warnings"].append(
                f"{len(absent)} file(s) that ir_attachment references were already missing from the tenant's "
                f"filestore when backup {manifest['id']} was taken, for example {absent[0]!r}; the archive holds "
                "every file that was there. Restore those files from an older backup, or delete their "
                "ir_attachment rows.")

    def restore(self):
        p = self.p
        entry, manifest = self.pick()
        tool = self._pg_restore(manifest)
        server = self._server()
        target = p["restore_database"]
        owner = p["restore_owner"] or p["login_user"]
        exists = self._database_exists(target)
        if exists and not p["force"]:
            raise InputError(f"restore_database={target!r} already exists; nothing was changed. Restore into a new "
                             "name, or set force: true to replace it.")
        if server.fetchone("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)) is None:
            raise InputError(f"restore_owner={owner!r} is not a role on this server; create it first (pg_database).")
        tar_name = next((n for n in manifest["parts"] if n.startswith("filestore.tar")), None)
        dest = p["filestore_path"]
        if tar_name and not dest:
            raise InputError(f"backup {entry['id']} holds a filestore: set filestore_path to where it goes, "
                             f"<data_dir>/filestore/{target}.")
        if dest and os.path.exists(dest) and os.listdir(dest) and not p["force"]:
            raise InputError(f"filestore_path={dest!r} is not empty; nothing was changed. Choose an empty folder, "
                             "or set force: true to replace it.")
        result = {"backup": summary(entry), "database": target, "mode": p["restore_mode"], "owner": owner,
                  "filestore_path": dest, "replaced": exists}
        if self.check_mode:
            return result
        temp = f"{target[:40]}__restore_{uuid.uuid4().hex[:8]}"
        staging = f"{dest.rstrip('/')}.restoring-{uuid.uuid4().hex[:8]}" if dest and tar_name else None
        ident = sql.Identifier
        try:
            create = sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING 'UTF8'").format(
                ident(temp), ident(owner))
            server.run(_statement(server, create), False)
            dump_ok, error = self._restore_dump(tool, entry, manifest, temp,
                                                role=None if owner == server.admin else owner)
            if not dump_ok:
                raise ServiceError(f"{DUMP} of backup {entry['id']}: its SHA-256 differs from the manifest; the "
                                   "stored part is corrupt. Nothing was changed; restore another backup.")
            if error:
                raise ServiceError(f"pg_restore of backup {entry['id']} failed: {error}. Nothing was changed.")
            if staging:
                os.makedirs(staging, mode=0o750)
                _members, digest = self._read_tar(entry, tar_name, extract_to=staging)
                if digest != manifest["parts"][tar_name]["sha256"]:
                    raise ServiceError(f"{tar_name} of backup {entry['id']}: its SHA-256 differs from the manifest; "
                                       "the stored part is corrupt. Nothing was changed.")
            if p["restore_mode"] == "copy":
                result["neutralisation"] = neutralise(server, temp, owner, p["base_url"])
            server.drop_connection(temp)
            if exists:
                server.drop_connection(target)
                drop = sql.SQL("DROP DATABASE {} WITH (FORCE)").format(ident(target))
                server.run(_statement(server, drop), False)
            rename = sql.SQL("ALTER DATABASE {} RENAME TO {}").format(ident(temp), ident(target))
            server.run(_statement(server, rename), False)
        except BaseException:
            server.drop_connection(temp)
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident(temp))
            server.connect(server.params["maintenance_db"]).execute(drop)
            if staging:
                shutil.rmtree(staging, ignore_errors=True)
            raise
        if staging:
            if os.path.exists(dest):
                old = f"{dest.rstrip('/')}.replaced-{uuid.uuid4().hex[:8]}"
                os.rename(dest, old)
                os.rename(staging, dest)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
                os.rename(staging, dest)
        uuid_row = server.fetchall("SELECT value FROM ir_config_parameter WHERE key = 'database.uuid'",
                                   dbname=target) if "ir_config_parameter" in manifest["row_counts"] else []
        result["database_uuid"] = uuid_row[0][0] if uuid_row else None
        return result

    # ------------------------------------------------------------------- prune
    def prune(self):
        p = self.p
        complete, incomplete = catalogue(self.store, self.tenant)
        kept, old, stale = plan_prune(complete, incomplete, p["keep_daily"], p["keep_weekly"], p["keep_monthly"],
                                      p["incomplete_grace_hours"], datetime.datetime.now(datetime.timezone.utc))
        if not self.check_mode:
            for entry in old + stale:
                # The manifest goes first: a half-deleted backup is then incomplete, never restorable.
                self.store.delete(sorted(entry["blobs"], key=lambda n: not n.endswith(MANIFEST)))
        return {"kept": kept, "deleted": [b["id"] for b in old], "incomplete_deleted": [b["id"] for b in stale],
                "before": [b["id"] for b in complete], "after": kept}


def _statement(server, composed):
    return Statement(composed, server.render(composed))


def referenced_files(conn):
    """The filestore paths (store_fname) that ir_attachment references."""
    return {r[0] for r in conn.execute("SELECT DISTINCT store_fname FROM ir_attachment "
                                       "WHERE store_fname IS NOT NULL AND store_fname <> ''")}


def row_counts(conn):
    present = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                          "AND tablename = ANY(%s) ORDER BY tablename", (list(ODOO_TABLES),))]
    return {table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
            for table in present}


def _odoo_version(server, database, counts):
    """base's latest_version (for example 17.0.1.3), when the option odoo_version was not given."""
    if "ir_module_module" not in counts:
        return None
    row = server.fetchone("SELECT latest_version FROM ir_module_module WHERE name = 'base'", dbname=database)
    return row[0] if row else None
