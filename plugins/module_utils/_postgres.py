# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that talks to PostgreSQL: connections, the SQL a tenant needs, and staging clones.

Every statement is built with psycopg's `sql` composition (identifiers quoted, values bound or
literal-quoted), recorded in `queries` with secrets redacted, and skipped in check mode.
Passwords are sent to the server as SCRAM verifiers computed by libpq, never in clear text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import shutil
import subprocess
import uuid

from ansible.module_utils.basic import env_fallback

from ._common import InputError, OdooSaasError, ServiceError, generate_password

try:
    import psycopg
    from psycopg import sql
except ImportError:  # reported by the module through missing_required_lib
    psycopg = None
    sql = None

REDACTED = "********"
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_-]*$")
RESERVED_ROLES = {"postgres", "public", "azure_pg_admin", "azuresu", "azure_superuser", "replication",
                  "current_user", "session_user", "current_role", "none", "all"}
RESERVED_DATABASES = {"postgres", "template0", "template1", "azure_maintenance", "azure_sys"}
ODOO_DEFAULT_CRON_THREADS = 2
ODOO_DEFAULT_DB_MAXCONN = 64


def postgres_argument_spec():
    """Connection options shared by every PostgreSQL module; documented in doc_fragments/postgres.py."""
    return {
        "login_host": {"type": "str", "default": "localhost", "aliases": ["host"],
                       "fallback": (env_fallback, ["PGHOST"])},
        "login_port": {"type": "int", "default": 5432, "aliases": ["port"], "fallback": (env_fallback, ["PGPORT"])},
        "login_user": {"type": "str", "default": "postgres", "fallback": (env_fallback, ["PGUSER"])},
        "login_password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["PGPASSWORD"])},
        "maintenance_db": {"type": "str", "default": "postgres"},
        "ssl_mode": {"type": "str", "default": "prefer",
                     "choices": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]},
        "ca_cert": {"type": "path", "aliases": ["ssl_rootcert"]},
        "connect_timeout": {"type": "int", "default": 10},
    }


def check_identifier(option, value, kind="role"):
    """Refuse names that are not plain PostgreSQL identifiers, too long, or reserved."""
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise InputError(
            f"{option}={value!r} is not a valid {kind} name: use lowercase letters, digits, '_' and '-', "
            "starting with a letter or '_' (for example 'acme_shop')."
        )
    if len(value.encode()) > 63:
        raise InputError(f"{option}={value!r} is {len(value.encode())} bytes long; PostgreSQL names are at most "
                         "63 bytes. Choose a shorter name.")
    reserved = RESERVED_ROLES if kind == "role" else RESERVED_DATABASES
    if value in reserved or value.startswith("pg_") or value.startswith("azure_"):
        raise InputError(f"{option}={value!r} is a reserved {kind} name (postgres, azure_*, pg_* and the "
                         "like belong to the server). Use the tenant's own name.")
    return value


def connection_limit(params):
    """The role's connection limit: explicit, or derived from the Odoo sizing, or None (leave it)."""
    if params.get("conn_limit") is not None:
        if params["conn_limit"] < -1:
            raise InputError(f"conn_limit={params['conn_limit']} is invalid: use -1 (unlimited) or a positive "
                             "number of connections.")
        return params["conn_limit"]
    workers = params.get("workers")
    if workers is None:
        return None
    cron = params.get("max_cron_threads")
    cron = ODOO_DEFAULT_CRON_THREADS if cron is None else cron
    maxconn = params.get("db_maxconn")
    maxconn = ODOO_DEFAULT_DB_MAXCONN if maxconn is None else maxconn
    for name, value in (("workers", workers), ("max_cron_threads", cron)):
        if value < 0:
            raise InputError(f"{name}={value} is negative; Odoo's worker counts are 0 or more.")
    if maxconn < 1:
        raise InputError(f"db_maxconn={maxconn} is invalid: each Odoo process needs at least one connection.")
    return (workers + cron + 1) * maxconn


def scram_matches(stored, password):
    """True when `password` matches a stored SCRAM-SHA-256 verifier (or an md5 hash)."""
    if not stored:
        return False
    if stored.startswith("SCRAM-SHA-256$"):
        try:
            iterations_salt, keys = stored[len("SCRAM-SHA-256$"):].split("$")
            iterations, salt = iterations_salt.split(":")
            stored_key = base64.b64decode(keys.split(":")[0])
            salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
            client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
            return hmac.compare_digest(hashlib.sha256(client_key).digest(), stored_key)
        except (ValueError, TypeError):
            return False
    return False


def find_pg_tool(tool, bin_dir, purpose, min_major=None):
    """A PostgreSQL client tool (pg_dump, pg_restore) from `bin_dir` or the PATH: (path, version text, major).

    With `min_major`, a tool older than that major version is refused.
    """
    path = bin_dir and os.path.join(bin_dir, tool) or shutil.which(tool)
    if not path or not os.path.exists(path):
        raise InputError(f"{purpose} needs {tool} on the controller, and it was not found. Install the "
                         "PostgreSQL client, or set pg_bin_dir.")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    major = int(match.group(1)) if match else 0
    if min_major is not None and major < min_major:
        raise InputError(f"{tool} {out!r} is older than the server (PostgreSQL {min_major}); "
                         f"{tool} must be at least the server's major version. Install a newer client, or "
                         "set pg_bin_dir.")
    return path, out, major


def client_env(params):
    """The environment for libpq client tools run against the server in `params` (the password stays out of argv)."""
    env = dict(os.environ, PGPASSWORD=params["login_password"] or "", PGSSLMODE=params["ssl_mode"],
               PGCONNECT_TIMEOUT=str(params["connect_timeout"]))
    if params.get("ca_cert"):
        env["PGSSLROOTCERT"] = params["ca_cert"]
    return env


def client_args(params):
    return ["-h", params["login_host"], "-p", str(params["login_port"]), "-U", params["login_user"]]


class Statement:
    """One SQL statement to run, and the text that `queries` shows for it."""

    def __init__(self, query, shown, database=None, role=None):
        self.query = query
        self.shown = shown
        self.database = database  # None: the maintenance database
        self.role = role  # run after SET ROLE to this role


class Server:
    """A connection to one PostgreSQL server as its admin, and the facts the modules need about it."""

    def __init__(self, params):
        if psycopg is None:
            raise OdooSaasError("the psycopg (version 3) Python package is required on the controller: "
                                "pip install 'psycopg[binary]>=3.1'")
        self.params = params
        self.queries = []
        self._conns = {}
        conn = self.connect(params["maintenance_db"])
        row = conn.execute(
            "SELECT current_setting('server_version_num')::int, current_user, "
            "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
            "current_setting('azure.extensions', true)").fetchone()
        self.version_num, self.admin, self.is_superuser, allow_list = row
        self.major = self.version_num // 10000
        self.allow_list = None if not allow_list else {e.strip().lower() for e in allow_list.split(",")}

    def connect(self, dbname, user=None, password=None):
        if dbname in self._conns and user is None:
            return self._conns[dbname]
        p = self.params
        kwargs = {"host": p["login_host"], "port": p["login_port"], "dbname": dbname,
                  "user": user or p["login_user"], "password": password if user else p["login_password"],
                  "sslmode": p["ssl_mode"], "connect_timeout": p["connect_timeout"], "autocommit": True,
                  "application_name": "odoo_saas.platform"}
        if p.get("ca_cert"):
            kwargs["sslrootcert"] = p["ca_cert"]
        try:
            conn = psycopg.connect(**{k: v for k, v in kwargs.items() if v is not None})
        except psycopg.OperationalError as exc:
            if user is not None:
                raise
            raise ServiceError(f"cannot connect to PostgreSQL at {p['login_host']}:{p['login_port']} database "
                               f"{dbname!r} as {p['login_user']!r}: {str(exc).strip()}. Check login_host, "
                               "login_port, login_user, login_password and ssl_mode.") from exc
        if user is None:
            self._conns[dbname] = conn
        return conn

    def close(self):
        for conn in self._conns.values():
            conn.close()
        self._conns = {}

    def drop_connection(self, dbname):
        conn = self._conns.pop(dbname, None)
        if conn is not None:
            conn.close()

    def fetchone(self, query, args=None, dbname=None):
        return self.connect(dbname or self.params["maintenance_db"]).execute(query, args).fetchone()

    def fetchall(self, query, args=None, dbname=None):
        return self.connect(dbname or self.params["maintenance_db"]).execute(query, args).fetchall()

    def run(self, statement, check_mode):
        """Record a statement in `queries` and, unless in check mode, execute it."""
        self.queries.append(statement.shown)
        if check_mode:
            return
        conn = self.connect(statement.database or self.params["maintenance_db"])
        try:
            if statement.role:
                conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(statement.role)))
            conn.execute(statement.query)
        except psycopg.Error as exc:
            raise ServiceError(f"PostgreSQL refused: {statement.shown}: {str(exc).strip()}",
                               queries=self.queries) from exc
        finally:
            if statement.role:
                conn.execute("RESET ROLE")

    def scram_verifier(self, password, role):
        conn = self.connect(self.params["maintenance_db"])
        return conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()

    def render(self, composed):
        return composed.as_string(self.connect(self.params["maintenance_db"]))


def _ident(name):
    return sql.Identifier(name)


class TenantDatabase:
    """One tenant's login role and database, converged in one call."""

    def __init__(self, server, params, check_mode):
        self.s = server
        self.p = params
        self.check_mode = check_mode
        self.name = params["name"]
        self.role = params["role"] or params["name"]
        self.generated_password = None
        self.neutralised = None
        self.diff_before = {}
        self.diff_after = {}

    # ---------------------------------------------------------------- reading
    def read_role(self):
        row = self.s.fetchone(
            "SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolconnlimit "
            "FROM pg_roles WHERE rolname = %s", (self.role,))
        if row is None:
            return None
        return {"name": row[0], "login": row[1], "superuser": row[2], "createdb": row[3], "createrole": row[4],
                "conn_limit": row[5]}

    def read_database(self, name=None):
        name = name or self.name
        row = self.s.fetchone(
            "SELECT d.datname, pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), d.datcollate, "
            "d.datctype, d.datconnlimit, pg_database_size(d.oid), "
            "EXISTS (SELECT 1 FROM aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a "
            "        WHERE a.grantee = 0 AND a.privilege_type = 'CONNECT') "
            "FROM pg_database d WHERE d.datname = %s", (name,))
        if row is None:
            return None
        return {"name": row[0], "owner": row[1], "encoding": row[2], "collate": row[3], "ctype": row[4],
                "conn_limit": row[5], "size_bytes": row[6], "public_connect": row[7]}

    def read_inside(self):
        """Extensions and the public schema's privileges, read inside the tenant database."""
        exts = dict(self.s.fetchall("SELECT extname, extversion FROM pg_extension WHERE extname <> 'plpgsql'",
                                    dbname=self.name))
        row = self.s.fetchone(
            "SELECT pg_get_userbyid(n.nspowner), has_schema_privilege(%s, 'public', 'CREATE'), "
            "EXISTS (SELECT 1 FROM aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a "
            "        WHERE a.grantee = 0 AND a.privilege_type = 'CREATE') "
            "FROM pg_namespace n WHERE n.nspname = 'public'", (self.role,), dbname=self.name)
        schema = {"owner": row[0], "role_can_create": row[1], "public_can_create": row[2]} if row else None
        return exts, schema

    def password_matches(self, password):
        if self.s.is_superuser:
            stored = self.s.fetchone("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (self.role,))
            return bool(stored) and scram_matches(stored[0], password)
        # A managed server's admin cannot read pg_authid: logging in as the role is the proof.
        try:
            self.s.connect(self.s.params["maintenance_db"], user=self.role, password=password).close()
            return True
        except psycopg.OperationalError:
            return False

    # -------------------------------------------------------------- validation
    def validate(self, role, database):
        p = self.p
        wanted = p["extensions"] or []
        if wanted:
            rows = self.s.fetchall(
                "SELECT name, bool_or(trusted), bool_or(superuser) FROM pg_available_extension_versions "
                "WHERE name = ANY(%s) GROUP BY name", (wanted,))
            available = {r[0]: (r[1], r[2]) for r in rows}
            for ext in wanted:
                if ext not in available:
                    raise InputError(f"extensions: {ext!r} is not available on this server. Install it, or remove "
                                     "it from extensions.")
                if self.s.allow_list is not None and ext.lower() not in self.s.allow_list:
                    raise InputError(f"extensions: {ext!r} is not in the server's azure.extensions allow-list "
                                     f"({', '.join(sorted(self.s.allow_list))}). Add it with pg_server's "
                                     "extensions option first.")
                trusted, needs_super = available[ext]
                if needs_super and not trusted and not self.s.is_superuser:
                    raise InputError(f"extensions: {ext!r} needs a superuser to be created and "
                                     f"{self.s.admin!r} is not one (as on a managed server). Ask the provider to "
                                     "create it, or remove it from extensions.")
        if database is not None:
            for key in ("collate", "ctype"):
                if p[f"lc_{key}"] and p[f"lc_{key}"] != database[key]:
                    raise InputError(f"lc_{key}={p[f'lc_{key}']!r} differs from the existing database {self.name!r} "
                                     f"({database[key]!r}); a database's locale cannot be changed in place. Clone "
                                     "it into a new database with the locale you want.")
            if database["owner"] != self.role:
                raise InputError(f"database {self.name!r} already exists and is owned by {database['owner']!r}, "
                                 f"not by role {self.role!r}. Pick another name, or set role to its owner.")
        if role is not None and role["superuser"] and not self.s.is_superuser:
            raise InputError(f"role {self.role!r} exists and is a superuser; only a superuser can demote it, and "
                             f"{self.s.admin!r} is not one. Choose another role name.")
        if p["clone_from"] and database is None:
            source = self.p["clone_from"]
            if self.read_database(source) is None:
                raise InputError(f"clone_from={source!r}: no such database on this server. Check the name with "
                                 "`\\l` in psql.")
            self._pg_tools()
        if p["password"] is None and role is None and not p["_no_log"]:
            raise InputError(f"role {self.role!r} does not exist and no password was given, so one would be "
                             "generated and returned. Set `no_log: true` on this task so it is never logged, or "
                             "pass password.")

    def _pg_tools(self):
        """pg_dump and pg_restore from the controller, no older than the server."""
        return {tool: find_pg_tool(tool, self.p.get("pg_bin_dir"), "clone_from", min_major=self.s.major)[0]
                for tool in ("pg_dump", "pg_restore")}

    # ---------------------------------------------------------------- present
    def present(self):
        role = self.read_role()
        database = self.read_database()
        self.validate(role, database)
        self._converge_role(role)
        self._converge_database(database)
        database = self.read_database() if not self.check_mode or database else None
        return self._facts(database)

    def _converge_role(self, role):
        p = self.p
        limit = connection_limit(p)
        want = {"login": True, "superuser": False, "createrole": False, "createdb": bool(p["createdb"])}
        if limit is not None:
            want["conn_limit"] = limit
        password = p["password"]
        set_password = False
        if role is None:
            if password is None:
                password = self.generated_password = generate_password(32)
            set_password = True
        elif password is not None and p["update_password"] != "on_create":
            set_password = p["update_password"] == "always" or not self.password_matches(password)
        before = None if role is None else {k: role[k] for k in want}
        self.diff_before["role"] = before
        self.diff_after["role"] = dict(want)
        if set_password:
            self.diff_before.setdefault("password", "(unchanged)" if role is None else "(set)")
            self.diff_after["password"] = "(changed)" if role is not None else "(set)"
        attrs = []
        for key, on, off in (("login", "LOGIN", "NOLOGIN"), ("superuser", "SUPERUSER", "NOSUPERUSER"),
                             ("createrole", "CREATEROLE", "NOCREATEROLE"), ("createdb", "CREATEDB", "NOCREATEDB")):
            if role is None or role[key] != want[key]:
                attrs.append(on if want[key] else off)
        if "conn_limit" in want and (role is None or role["conn_limit"] != want["conn_limit"]):
            attrs.append(f"CONNECTION LIMIT {int(want['conn_limit'])}")
        if role is None:
            attrs = ["LOGIN", "NOSUPERUSER", "NOCREATEROLE", "NOCREATEDB" if not want["createdb"] else "CREATEDB",
                     "INHERIT", "NOREPLICATION", "NOBYPASSRLS"] + [a for a in attrs if a.startswith("CONNECTION")]
        if not attrs and not set_password:
            return
        verb = "CREATE ROLE" if role is None else "ALTER ROLE"
        clause = " ".join(attrs)
        shown = f"{verb} {self.s.render(_ident(self.role))} {clause}".rstrip()
        query = sql.SQL("{} {} {}").format(sql.SQL(verb), _ident(self.role), sql.SQL(clause))
        if set_password:
            verifier = self.s.scram_verifier(password, self.role)
            shown += f" PASSWORD '{REDACTED}'"
            query = sql.SQL("{} PASSWORD {}").format(query, sql.Literal(verifier))
        self.s.run(Statement(query, shown), self.check_mode)

    def _admin_can_own_as(self):
        """Whether the admin may create a database owned by the tenant role (membership rules)."""
        if self.s.is_superuser:
            return True
        if self.check_mode and self.read_role() is None:
            return False
        privilege = "SET" if self.s.major >= 16 else "MEMBER"
        return self.s.fetchone("SELECT pg_has_role(current_user, %s, %s)", (self.role, privilege))[0]

    def _converge_database(self, database):
        ident = _ident(self.name)
        shown_ident = self.s.render(ident)
        self.diff_before["database"] = None if database is None else {
            k: database[k] for k in ("owner", "encoding", "collate", "ctype", "public_connect")}
        if not self._admin_can_own_as():
            grant = sql.SQL("GRANT {} TO {}").format(_ident(self.role), _ident(self.s.admin))
            self.s.run(Statement(grant, self.s.render(grant)), self.check_mode)
        if database is None:
            if self.p["clone_from"]:
                self._clone()
            else:
                parts = [sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING 'UTF8'").format(
                    ident, _ident(self.role))]
                for key in ("collate", "ctype"):
                    if self.p[f"lc_{key}"]:
                        parts.append(sql.SQL(f"LC_{key.upper()} {{}}").format(sql.Literal(self.p[f"lc_{key}"])))
                create = sql.SQL(" ").join(parts)
                self.s.run(Statement(create, self.s.render(create)), self.check_mode)
        public_connect = True if database is None else database["public_connect"]
        if public_connect:
            revoke = sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(ident)
            self.s.run(Statement(revoke, f"REVOKE CONNECT, TEMPORARY ON DATABASE {shown_ident} FROM PUBLIC"),
                       self.check_mode)
        self._grant_connect("postgres")
        self._converge_inside(database is None)
        self.diff_after["database"] = {
            "owner": self.role, "encoding": "UTF8" if database is None else database["encoding"],
            "collate": self.p["lc_collate"] or (database or {}).get("collate"),
            "ctype": self.p["lc_ctype"] or (database or {}).get("ctype"), "public_connect": False}

    def _grant_connect(self, dbname):
        if self.check_mode and self.read_role() is None:
            has = self.read_database(dbname)["public_connect"]
        else:
            has = self.s.fetchone("SELECT has_database_privilege(%s, %s, 'CONNECT')", (self.role, dbname))[0]
        if not has:
            grant = sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(_ident(dbname), _ident(self.role))
            self.s.run(Statement(grant, self.s.render(grant)), self.check_mode)

    def _converge_inside(self, created):
        wanted = list(self.p["extensions"] or [])
        if created and self.check_mode:
            exts = {}
            schema = {"owner": "pg_database_owner" if self.s.major >= 15 else self.s.admin,
                      "role_can_create": self.s.major >= 15, "public_can_create": self.s.major < 15}
        else:
            exts, schema = self.read_inside()
        self.diff_before["extensions"] = None if created else sorted(exts)
        self.diff_after["extensions"] = sorted(set(exts) | set(wanted))
        if schema["public_can_create"]:
            revoke = sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            self.s.run(Statement(revoke, "REVOKE CREATE ON SCHEMA public FROM PUBLIC", database=self.name),
                       self.check_mode)
        if not schema["role_can_create"]:
            alter = sql.SQL("ALTER SCHEMA public OWNER TO {}").format(_ident(self.role))
            self.s.run(Statement(alter, self.s.render(alter), database=self.name), self.check_mode)
        for ext in wanted:
            if ext in exts:
                continue
            create = sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(_ident(ext))
            # As the tenant role, so that trusted extensions work without a superuser and belong to the tenant.
            run_as = None if self.s.is_superuser else self.role
            self.s.run(Statement(create, self.s.render(create), database=self.name, role=run_as), self.check_mode)

    # ------------------------------------------------------------------ clone
    def _clone(self):
        source = self.p["clone_from"]
        temp = f"{self.name[:40]}__clone_{uuid.uuid4().hex[:8]}"
        create = sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING 'UTF8'").format(
            _ident(temp), _ident(self.role))
        self.s.run(Statement(create, self.s.render(create)), self.check_mode)
        self.s.queries.append(f"-- pg_dump -Fc {source} | pg_restore --no-owner --no-acl --role={self.role} "
                              f"-d {temp}")
        if self.check_mode:
            self.s.queries.append(f"-- neutralise {temp}, then: ALTER DATABASE {temp} RENAME TO {self.name}")
            return
        try:
            self._copy(source, temp)
            self.neutralised = neutralise(self.s, temp, self.role, self.p["base_url"])
            self.s.drop_connection(temp)
            rename = sql.SQL("ALTER DATABASE {} RENAME TO {}").format(_ident(temp), _ident(self.name))
            self.s.run(Statement(rename, self.s.render(rename)), False)
        except Exception:
            self.s.drop_connection(temp)
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(_ident(temp))
            self.s.run(Statement(drop, self.s.render(drop)), False)
            raise

    def _copy(self, source, target):
        tools = self._pg_tools()
        env, common = client_env(self.s.params), client_args(self.s.params)
        with subprocess.Popen([tools["pg_dump"], "-Fc", "-d", source] + common, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env) as dump:
            restore = subprocess.run(
                [tools["pg_restore"], "--no-owner", "--no-acl", f"--role={self.role}", "--exit-on-error",
                 "-d", target] + common, stdin=dump.stdout, capture_output=True, env=env, check=False)
            dump.stdout.close()
            dump_err = dump.stderr.read().decode(errors="replace")
            dump.wait()
        if dump.returncode != 0 or restore.returncode != 0:
            raise ServiceError(f"cloning {source!r} failed and the partial copy was dropped: "
                               f"pg_dump said {dump_err.strip()!r}; pg_restore said "
                               f"{restore.stderr.decode(errors='replace').strip()!r}")

    # ----------------------------------------------------------------- absent
    def absent(self):
        database = self.read_database()
        role = self.read_role()
        self.diff_before = {"database": None if database is None else {"owner": database["owner"]},
                            "role": None if role is None else {"name": role["name"]}}
        self.diff_after = {"database": None, "role": None}
        if database is not None and not self.p["force"]:
            sessions = self.s.fetchone("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                       "AND pid <> pg_backend_pid()", (self.name,))[0]
            if sessions:
                raise InputError(f"database {self.name!r} has {sessions} open session(s); nothing was dropped. "
                                 "Stop the tenant first (odoo_tenant state=suspended), or set force: true to "
                                 "terminate them.")
        if role is not None and not self.s.is_superuser and not self._admin_can_own_as():
            # A managed admin needs the tenant role's privileges to drop what the role owns.
            grant = sql.SQL("GRANT {} TO {}").format(_ident(self.role), _ident(self.s.admin))
            self.s.run(Statement(grant, self.s.render(grant)), self.check_mode)
        if database is not None:
            self.s.drop_connection(self.name)
            drop = sql.SQL("DROP DATABASE {}{}").format(_ident(self.name),
                                                        sql.SQL(" WITH (FORCE)" if self.p["force"] else ""))
            self.s.run(Statement(drop, self.s.render(drop)), self.check_mode)
        if role is not None:
            owned = sql.SQL("DROP OWNED BY {}").format(_ident(self.role))
            self.s.run(Statement(owned, self.s.render(owned)), self.check_mode)
            drop = sql.SQL("DROP ROLE {}").format(_ident(self.role))
            self.s.run(Statement(drop, self.s.render(drop)), self.check_mode)
        return {"name": self.name, "role": self.role, "exists": False}

    def _facts(self, database):
        if database is None:
            return {"name": self.name, "role": self.role, "exists": False}
        exts = dict(self.s.fetchall("SELECT extname, extversion FROM pg_extension", dbname=self.name))
        role = self.read_role()
        return {"name": self.name, "role": self.role, "exists": True, "owner": database["owner"],
                "encoding": database["encoding"], "collate": database["collate"], "ctype": database["ctype"],
                "size_bytes": database["size_bytes"], "extensions": exts,
                "conn_limit": role["conn_limit"] if role else None}


def neutralise(server, dbname, role, base_url):
    """Make a copied Odoo database safe to run beside its source; verify it; return what was done.

    A database without `ir_config_parameter` is not an Odoo database and is left as it is.
    """
    conn = server.connect(dbname)
    is_odoo = conn.execute("SELECT to_regclass('public.ir_config_parameter') IS NOT NULL").fetchone()[0]
    if not is_odoo:
        return {"odoo": False}
    new_uuid = str(uuid.uuid4())
    secret = generate_password(32)
    tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                         "AND tablename IN ('ir_mail_server', 'fetchmail_server', 'ir_cron')")}
    statements = [
        ("UPDATE ir_config_parameter SET value = %s WHERE key = 'database.uuid'", (new_uuid,), None),
        ("UPDATE ir_config_parameter SET value = %s WHERE key = 'database.secret'", (secret,), REDACTED),
    ]
    if base_url:
        statements.append(("UPDATE ir_config_parameter SET value = %s WHERE key = 'web.base.url'", (base_url,),
                           None))
    for table in ("ir_mail_server", "fetchmail_server"):
        if table in tables:
            statements.append((f"UPDATE {table} SET active = false", None, None))
    if "ir_cron" in tables:
        statements.append(("UPDATE ir_cron SET active = false WHERE id NOT IN (SELECT res_id FROM ir_model_data "
                           "WHERE module = 'base' AND name = 'autovacuum_job' AND model = 'ir.cron')", None, None))
    statements.append(("INSERT INTO ir_config_parameter (key, value) VALUES ('database.is_neutralized', 'True') "
                       "ON CONFLICT (key) DO UPDATE SET value = 'True'", None, None))
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(_ident(role)))
        for query, args, redact in statements:
            conn.execute(query, args)
            shown = query if args is None else query.replace("%s", f"'{redact or args[0]}'")
            server.queries.append(shown)
    params = dict(conn.execute("SELECT key, value FROM ir_config_parameter WHERE key IN ('database.uuid', "
                               "'database.is_neutralized', 'web.base.url')").fetchall())
    problems = []
    if params.get("database.uuid") != new_uuid:
        problems.append("database.uuid was not regenerated")
    if params.get("database.is_neutralized") != "True":
        problems.append("database.is_neutralized is not set")
    if base_url and params.get("web.base.url") != base_url:
        problems.append("web.base.url was not replaced")
    if "ir_mail_server" in tables and conn.execute("SELECT count(*) FROM ir_mail_server WHERE active").fetchone()[0]:
        problems.append("an outgoing mail server is still active")
    if problems:
        raise ServiceError(f"neutralisation of {dbname!r} failed its check: {'; '.join(problems)}")
    return {"odoo": True, "uuid": new_uuid, "mail_servers_disabled": "ir_mail_server" in tables,
            "crons_disabled": "ir_cron" in tables, "base_url": base_url}
