# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts about an Odoo database and its filestore, for a migration off a legacy VM.

This runs on the legacy VM as well as on the controller, so it uses the standard library only and
talks to PostgreSQL through `psql` (a VM rarely has psycopg). The password goes to psql in its
environment, never in argv, and is never returned.
"""

from __future__ import annotations

import concurrent.futures
import configparser
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess

from ._common import InputError, ServiceError
from ._jobs import wait_for_exit_file

# The odoo.conf options a migration needs, and may return (never db_password nor admin_passwd).
CONF_KEYS = ("db_host", "db_port", "db_user", "db_name", "data_dir", "addons_path", "dbfilter", "http_port")
SEP = "\x1f"


def read_odoo_conf(path):
    """The [options] of an odoo.conf as a dict. db_name and data_dir are required for a migration."""
    if not os.path.isfile(path):
        raise InputError(f"odoo_conf={path!r} does not exist on this host: give the path of the legacy Odoo's "
                         "configuration file (for example /etc/odoo/odoo.conf).")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"odoo_conf={path!r} cannot be read as an odoo.conf: {exc}") from exc
    if not parser.has_section("options"):
        raise InputError(f"odoo_conf={path!r} has no [options] section; it is not an odoo.conf.")
    options = dict(parser.items("options"))
    for key in ("db_name", "data_dir"):
        if not options.get(key) or options[key] == "False":
            raise InputError(f"odoo_conf={path!r} does not set {key}; a migration needs one database and its "
                             f"data_dir. Set {key} in the file, or pass the db_name/filestore options.")
    return options


def tool(name, bin_dir):
    """(path, version text, (major, minor)) of a PostgreSQL client tool from bin_dir or the PATH."""
    path = os.path.join(bin_dir, name) if bin_dir else shutil.which(name)
    if not path or not os.path.exists(path):
        raise InputError(f"{name} was not found {'in ' + bin_dir if bin_dir else 'on the PATH'} on this host. "
                         "Install the PostgreSQL client or set pg_bin_dir.")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    match = re.search(r"\) (\d+)(?:\.(\d+))?", out) or re.search(r"(\d+)(?:\.(\d+))?", out)
    version = (int(match.group(1)), int(match.group(2) or 0)) if match else (0, 0)
    return path, out, version


class Psql:
    """One database, queried through psql; rows come back as lists of strings."""

    def __init__(self, bin_dir, host, port, user, password, dbname, sslmode=None, timeout=10):
        self.path = tool("psql", bin_dir)[0]
        self.dbname = dbname
        self.argv = [self.path, "-X", "-q", "-A", "-t", "-F", SEP, "-v", "ON_ERROR_STOP=1", "-h", str(host),
                     "-p", str(port), "-U", str(user)]
        self.env = dict(os.environ, PGCONNECT_TIMEOUT=str(timeout), PGAPPNAME="odoo_saas.legacy_odoo_facts")
        self.env.pop("PGPASSFILE", None)
        if password:
            self.env["PGPASSWORD"] = password
        if sslmode:
            self.env["PGSSLMODE"] = sslmode

    def query(self, sql, dbname=None):
        return self.queries([sql], dbname)[0]

    def queries(self, statements, dbname=None):
        """Each statement's rows, from one psql run (one connection, not one per statement)."""
        argv = self.argv + ["-d", dbname or self.dbname]
        end = f"--end-of-statement-{secrets.token_hex(8)}--"  # no row can hold it
        for sql in statements:
            argv += ["-c", sql, "-c", "\\echo " + end]
        result = subprocess.run(argv, capture_output=True, text=True, env=self.env, check=False)
        if result.returncode != 0:
            raise ServiceError(f"psql on database {dbname or self.dbname!r} failed: {result.stderr.strip()}")
        parts = result.stdout.split(end + "\n")
        if len(parts) != len(statements) + 1:
            raise ServiceError(f"psql on database {dbname or self.dbname!r} answered {len(parts) - 1} of "
                               f"{len(statements)} statements: {result.stderr.strip() or 'no error'}")
        return [[line.split(SEP) for line in part.split("\n") if line] for part in parts[:-1]]


def _literal(text):
    return "'" + text.replace("'", "''") + "'"


def _ident(text):
    return '"' + text.replace('"', '""') + '"'


# The database's own tables, not the catalog's: joined as c (pg_class) and n (pg_namespace).
_USER_TABLES = ("FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN "
                "('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'")


def postgres_facts(psql):
    [[exists, version]] = psql.query(
        f"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = {_literal(psql.dbname)}), "
        "current_setting('server_version_num')", dbname="postgres")
    version_num = int(version)
    facts = {"database": psql.dbname, "exists": exists == "t", "server_version_num": version_num,
             "server_major": version_num // 10000}
    if facts["exists"]:
        size, extensions, owner, tables = psql.queries([
            "SELECT pg_database_size(current_database())",
            "SELECT extname, extversion FROM pg_extension ORDER BY 1",
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()",
            f"SELECT count(*) {_USER_TABLES} AND c.relkind IN ('r', 'p')"])
        facts.update(size_bytes=int(size[0][0]), extensions=dict(extensions), owner=owner[0][0],
                     tables=int(tables[0][0]))
    return facts


def odoo_facts(psql):
    """The Odoo version from the base module, the installed modules, the database uuid."""
    if not psql.query("SELECT 1 FROM pg_class WHERE relname = 'ir_module_module' AND relkind = 'r'"):
        raise InputError(f"database {psql.dbname!r} has no ir_module_module table: it is not an Odoo database.")
    base, installed, uuid = psql.queries([
        "SELECT state, coalesce(latest_version, '') FROM ir_module_module WHERE name = 'base'",
        "SELECT name FROM ir_module_module WHERE state = 'installed' ORDER BY name",
        "SELECT value FROM ir_config_parameter WHERE key = 'database.uuid'"])
    if not base or base[0][0] != "installed":
        raise InputError(f"database {psql.dbname!r} has no installed base module: it is not an initialised Odoo "
                         "database.")
    latest = base[0][1]
    match = re.match(r"^(\d+\.\d+)", latest)
    return {"version": match.group(1) if match else None, "base_version": latest,
            "installed_modules": [row[0] for row in installed], "database_uuid": uuid[0][0] if uuid else None}


def rows_and_sequences(psql):
    """Exact row counts of every table, in one statement (one snapshot), and where each sequence stands (its
    last value, None when it was never used): ({schema.table: rows}, {schema.sequence: last value})."""
    tables, sequences = psql.queries([
        f"SELECT n.nspname, c.relname {_USER_TABLES} AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
        "ORDER BY 1, 2",
        "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences ORDER BY 1"])
    positions = {name: int(value) if value != "" else None for name, value in sequences}
    if not tables:
        return {}, positions
    parts = [f"SELECT {_literal(schema + '.' + name)}, count(*) FROM {_ident(schema)}.{_ident(name)}"
             for schema, name in tables]
    return {name: int(count) for name, count in psql.query(" UNION ALL ".join(parts))}, positions


# The largest tables are spread over the data's streams; the rest (smaller tables, sequences, large objects) is
# the first stream's.
SPREAD_TABLES = 32
TABLE_SIZES = (f"SELECT n.nspname, c.relname, pg_table_size(c.oid) {_USER_TABLES} AND c.relkind = 'r' "
               "AND NOT c.relispartition ORDER BY 3 DESC, 1, 2")


def _pattern(schema, table):
    """A pg_dump -t pattern that matches this one table: quoted, so that no character is a wildcard."""
    return ".".join('"' + name.replace('"', '""') + '"' for name in (schema, table))


def data_streams(sizes, streams):
    """Split the tables' data into `streams` groups of about equal bytes, for as many pg_dump | pg_restore pipes.

    sizes: [(schema, table, bytes)], largest first. The SPREAD_TABLES largest non-empty tables go, largest first, to
    the group with the fewest bytes so far; the first group starts with every other table's bytes and keeps them
    (its pg_dump excludes the other groups' tables' data, so it also carries every sequence and anything else in
    the data section). Groups left empty are dropped. Returns [{"tables", "patterns", "bytes"}], the first group
    first; its tables list only the spread ones it got."""
    spread = [row for row in sizes[:SPREAD_TABLES] if row[2] > 0]
    groups = [{"tables": [], "patterns": [], "bytes": sum(row[2] for row in sizes) - sum(row[2] for row in spread)}]
    groups += [{"tables": [], "patterns": [], "bytes": 0} for _index in range(streams - 1)]
    for schema, table, size in spread:
        # On a tie, not the first group: it also carries whatever is not a spread table.
        group = min(groups, key=lambda g: (g["bytes"], g is groups[0]))
        group["tables"].append(f"{schema}.{table}")
        group["patterns"].append(_pattern(schema, table))
        group["bytes"] += size
    return groups[:1] + [group for group in groups[1:] if group["tables"]]


def _sha1(path):
    sha1 = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha1.update(block)
    return sha1.hexdigest()


def filestore_hashes(filestore, manifest=None, workers=2):
    """The SHA-1 of every file under the filestore, as {relative path: [size, mtime_ns, sha1]}.

    Written to `manifest` (0600) when given, so that a later filestore_check reuses the hashes of the files
    that have not changed since: a migration hashes its copy while the database is still being restored."""
    paths = []
    for folder, _dirs, names in os.walk(filestore):
        paths.extend(os.path.join(folder, name) for name in names)

    def one(path):
        try:
            stat = os.stat(path)
            return os.path.relpath(path, filestore), [stat.st_size, stat.st_mtime_ns, _sha1(path)]
        except OSError:
            return None

    # hashlib releases the GIL on large buffers: threads use the cores.
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        entries = dict(entry for entry in pool.map(one, sorted(paths)) if entry)
    if manifest:
        os.makedirs(os.path.dirname(os.path.abspath(manifest)), exist_ok=True)
        tmp = manifest + ".tmp"
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            json.dump({"filestore": os.path.abspath(filestore), "files": entries}, handle)
        os.replace(tmp, manifest)
    return {"path": filestore, "files": len(entries), "bytes": sum(e[0] for e in entries.values()),
            "manifest": manifest}


def _read_manifest(manifest, filestore):
    if not manifest or not os.path.exists(manifest):
        return {}
    with open(manifest, encoding="utf-8") as handle:
        data = json.load(handle)
    if data.get("filestore") != os.path.abspath(filestore):
        return {}
    return data.get("files") or {}


REFERENCED_FILES = ("SELECT DISTINCT store_fname, coalesce(checksum, '') FROM ir_attachment "
                    "WHERE store_fname IS NOT NULL AND store_fname <> '' ORDER BY 1")


def _unsafe(store_fname):
    return os.path.isabs(store_fname) or ".." in store_fname.split("/")


def filestore_presence(psql, filestore, sample=20):
    """Which files ir_attachment references are not in the filestore: a stat each, no reading (cheap)."""
    rows = psql.query(REFERENCED_FILES)
    unsafe, missing = [], []
    for name, _checksum in rows:
        if _unsafe(name):
            unsafe.append(name)
        elif not os.path.isfile(os.path.join(filestore, name)):
            missing.append(name)
    return {"path": filestore, "referenced": len(rows), "missing": len(missing), "missing_sample": missing[:sample],
            "unsafe": len(unsafe), "unsafe_sample": unsafe[:sample]}


def filestore_check(psql, filestore, sample=20, manifest=None):
    """The SHA-1 of every file ir_attachment references, against its checksum column.

    A file whose size and mtime match its entry in `manifest` (from filestore_hashes) is not read again."""
    rows = psql.query(REFERENCED_FILES)
    known = _read_manifest(manifest, filestore)
    missing, mismatched = [], []
    digest = hashlib.sha1()
    total = reused = 0
    for store_fname, checksum in rows:
        path = os.path.join(filestore, store_fname)
        if _unsafe(store_fname):
            mismatched.append(store_fname)
            continue
        try:
            stat = os.stat(path)
            entry = known.get(os.path.normpath(store_fname))
            if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
                sha1 = entry[2]
                reused += 1
            else:
                sha1 = _sha1(path)
        except OSError:
            missing.append(store_fname)
            continue
        total += stat.st_size
        if checksum and sha1 != checksum:
            mismatched.append(store_fname)
        digest.update(f"{store_fname}:{sha1}\n".encode())
    return {"path": filestore, "referenced": len(rows), "checked_bytes": total, "missing": len(missing),
            "mismatched": len(mismatched), "missing_sample": missing[:sample],
            "mismatched_sample": mismatched[:sample], "digest": digest.hexdigest(), "hashed_earlier": reused}


def filestore_size(filestore):
    files = size = 0
    for folder, _dirs, names in os.walk(filestore):
        for name in names:
            try:
                size += os.lstat(os.path.join(folder, name)).st_size
                files += 1
            except OSError:
                continue
    return {"path": filestore, "exists": os.path.isdir(filestore), "files": files, "bytes": size}


def disk_free(path):
    """Free bytes on the file system that holds `path`, or would hold it once created."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    stat = os.statvfs(probe)
    return {"path": path, "free_bytes": stat.f_bavail * stat.f_frsize, "checked": probe}


def service_status(command, timeout=120):
    """The exit code of the legacy Odoo's status command: 0 when it runs, 3 when it is stopped (as systemctl and
    LSB init scripts answer). It runs in bash (sh without bash) with no stdin; its output is not returned."""
    shell = "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"
    try:
        code = subprocess.run([shell, "-c", command], stdin=subprocess.DEVNULL, capture_output=True, check=False,
                              timeout=timeout).returncode
    except subprocess.TimeoutExpired as exc:
        raise ServiceError(f"the status command {command!r} did not answer in {timeout} s; a status command must "
                           "answer at once (0 running, 3 stopped). Fix legacy_odoo_status_command.") from exc
    return {"status": code, "running": code == 0, "stopped": code == 3}


def migration_records(folder):
    """The migration records (<tenant>.json) in folder, by tenant; none when the folder does not exist. A record
    that cannot be read is returned as {"phase": "unreadable", "error": ...}, for the caller to refuse."""
    try:
        names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    except OSError as exc:
        raise InputError(f"the migration records in {folder} cannot be listed ({exc}); the module must be able to "
                         "read that folder (become, or fix its permissions).") from exc
    records = {}
    for name in names:
        if not name.endswith(".json"):
            continue
        path = os.path.join(folder, name)
        try:
            with open(path, encoding="utf-8") as handle:
                records[name[:-len(".json")]] = json.load(handle)
        except (OSError, ValueError) as exc:
            records[name[:-len(".json")]] = {"phase": "unreadable", "error": f"{path}: {exc}"}
    return records


def gather(params, check_mode=False):
    """All the facts asked for in params['gather'], as one dict."""
    conf = {}
    if params.get("odoo_conf"):
        conf = read_odoo_conf(params["odoo_conf"])
    connection = {key: params.get(key) or conf.get(key) for key in ("db_host", "db_port", "db_user", "db_name")}
    password = params.get("db_password") or conf.get("db_password")
    if password == "False":
        password = None
    connection["db_host"] = connection["db_host"] if connection["db_host"] not in (None, "False") else "localhost"
    connection["db_port"] = int(connection["db_port"]) if connection["db_port"] not in (None, "False") else 5432
    wanted = set(params["gather"])
    needs_db = wanted & {"postgres", "odoo", "row_counts", "data_streams", "filestore", "filestore_presence"}
    # Only the facts read from the database need one; the filestore's hashes and the tools do not.
    if needs_db and not connection["db_name"]:
        raise InputError("db_name is missing: give odoo_conf (a file that sets db_name) or db_name.")
    if needs_db and (not connection["db_user"] or connection["db_user"] == "False"):
        raise InputError("db_user is missing: give odoo_conf (a file that sets db_user) or db_user.")
    if "data_streams" in wanted and (params.get("streams") or 0) < 1:
        raise InputError(f"streams is {params.get('streams')}: give data_streams a number of groups of 1 or more.")
    filestore = params.get("filestore")
    if not filestore and conf.get("data_dir") and connection["db_name"]:
        filestore = os.path.join(conf["data_dir"], "filestore", connection["db_name"])
    facts = {"conf": {key: conf[key] for key in CONF_KEYS if key in conf}, "filestore_path": filestore,
             "connection": {"host": connection["db_host"], "port": connection["db_port"],
                            "user": connection["db_user"], "database": connection["db_name"]}}
    # Waited for once the input is known to be good: a wrong option fails at once, not after the job.
    if params.get("wait_for_exit_file"):
        code, ended_at = wait_for_exit_file(params["wait_for_exit_file"], params["wait_timeout"])
        facts["waited"] = {"path": params["wait_for_exit_file"], "exit_code": code, "ended_at": ended_at}
        if code != 0:
            raise ServiceError(
                f"the job that writes {params['wait_for_exit_file']} ended with exit code {code}; nothing was gathered. "
                f"Its output is in {params['wait_for_exit_file']}.log.", waited=facts["waited"])
    for name, option, read in (("service", "status_command", service_status),
                               ("migration_records", "record_dir", migration_records)):
        if name in wanted:
            if not params.get(option):
                raise InputError(f"gather={name} needs {option}: give it, or leave {name} out of gather.")
            facts[name] = read(params[option])
    if "tools" in wanted:
        facts["tools"] = {}
        for name in ("pg_dump", "pg_restore", "psql"):
            path, text, version = tool(name, params.get("pg_bin_dir"))
            facts["tools"][name] = {"path": path, "version": text, "major": version[0], "minor": version[1]}
    if "disk" in wanted:
        facts["disk"] = {path: disk_free(path) for path in params.get("disk_paths") or []}
    if "filestore_size" in wanted and filestore:
        facts["filestore_size"] = filestore_size(filestore)
    if "filestore_hashes" in wanted:
        if not filestore:
            raise InputError("filestore is missing: give odoo_conf (a file that sets data_dir) or filestore.")
        facts["filestore_hashes"] = filestore_hashes(filestore, None if check_mode else params.get("manifest"))
    if not needs_db:
        return facts
    psql = Psql(params.get("pg_bin_dir"), connection["db_host"], connection["db_port"], connection["db_user"],
                password, connection["db_name"], params.get("sslmode"))
    facts["postgres"] = postgres_facts(psql)
    if not facts["postgres"]["exists"]:
        return facts
    if "odoo" in wanted:
        facts["odoo"] = odoo_facts(psql)
    if "row_counts" in wanted:
        facts["row_counts"], facts["sequences"] = rows_and_sequences(psql)
    if "data_streams" in wanted:
        sizes = [(schema, table, int(size)) for schema, table, size in psql.query(TABLE_SIZES)]
        facts["data_streams"] = data_streams(sizes, params["streams"])
    if wanted & {"filestore_presence", "filestore"} and not filestore:
        raise InputError("filestore is missing: give odoo_conf (a file that sets data_dir) or filestore.")
    if "filestore_presence" in wanted:
        facts["filestore_presence"] = filestore_presence(psql, filestore)
    if "filestore" in wanted:
        facts["filestore"] = filestore_size(filestore)
        facts["filestore"].update(filestore_check(psql, filestore, manifest=params.get("manifest")))
    return facts
