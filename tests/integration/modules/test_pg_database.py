"""pg_database against the lab's real PostgreSQL, once as a superuser and once as a managed-server admin
(a non-superuser with CREATEROLE and CREATEDB, as on Azure Flexible Server).

Each test follows the pattern: check mode, the real run, an independent read-back with psql, a second run
that changes nothing, and state=absent.
"""

import os
import stat
import uuid

import psycopg
import pytest

from integration.ansible_task import run_task, run_tasks

SECRET = "S3cret-" + uuid.uuid4().hex


@pytest.fixture(params=["superuser", "managed"])
def admin(request, lab):
    server = lab["postgres"]["platform"]
    if request.param == "superuser":
        user, password = server["user"], server["password"]
    else:
        user, password = server["managed_admin"]["user"], server["managed_admin"]["password"]
    return {"login_host": server["host"], "login_port": server["port"], "login_user": user,
            "login_password": password}


@pytest.fixture
def superuser(lab):
    server = lab["postgres"]["platform"]
    conn = psycopg.connect(host=server["host"], port=server["port"], user=server["user"],
                           password=server["password"], dbname="postgres", autocommit=True)
    yield conn
    conn.close()


@pytest.fixture
def tenant(superuser):
    name = f"t_{uuid.uuid4().hex[:8]}"
    yield name
    for db in superuser.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (name + "%",)).fetchall():
        superuser.execute(f'DROP DATABASE IF EXISTS "{db[0]}" WITH (FORCE)')
    if superuser.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
        superuser.execute(f'DROP OWNED BY "{name}"')
        superuser.execute(f'DROP ROLE "{name}"')


def _role(conn, name):
    return conn.execute("SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolconnlimit, xmin::text "
                        "FROM pg_authid WHERE rolname = %s", (name,)).fetchone()


def _database(conn, name):
    return conn.execute(
        "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), xmin::text, "
        "EXISTS (SELECT 1 FROM aclexplode(COALESCE(datacl, acldefault('d', datdba))) a "
        "WHERE a.grantee = 0 AND a.privilege_type = 'CONNECT') FROM pg_database WHERE datname = %s",
        (name,)).fetchone()


def _connect(lab, user, password, dbname):
    server = lab["postgres"]["platform"]
    return psycopg.connect(host=server["host"], port=server["port"], user=user, password=password, dbname=dbname,
                           autocommit=True)


# In the worker (plugins/plugin_utils/_in_process.py, which tenants use) and as a module (any other host).
@pytest.mark.parametrize("via", ["worker", "module"])
def test_lifecycle(admin, tenant, superuser, lab, via):
    args = dict(admin, name=tenant, password=SECRET, workers=4, max_cron_threads=1, db_maxconn=8)

    # 1. check mode: the change is reported, and nothing is written.
    planned = run_task("pg_database", args, check=True, diff=True, via=via)
    assert planned["changed"] is True, planned
    assert any(q.startswith(f'CREATE ROLE "{tenant}" LOGIN NOSUPERUSER') for q in planned["queries"])
    assert any(q.startswith(f'CREATE DATABASE "{tenant}" OWNER "{tenant}" TEMPLATE template0') for q in
               planned["queries"])
    assert _role(superuser, tenant) is None and _database(superuser, tenant) is None

    # 2. the real run
    created = run_task("pg_database", args, diff=True, verbosity=3, via=via)
    assert created["changed"] is True, created
    # -vvv shows the module's start when there is one.
    assert ("AnsiballZ_pg_database.py" in created.output) is (via == "module"), created.output
    assert created["queries"] == planned["queries"]  # check mode planned exactly what ran
    assert SECRET not in created.output and SECRET not in str(created["queries"]) and SECRET not in str(
        created["diff"])
    assert created["database"]["owner"] == tenant and created["database"]["conn_limit"] == (4 + 1 + 1) * 8
    assert {"pg_trgm", "unaccent"} <= set(created["database"]["extensions"])

    # 3. an independent read-back
    login, superuser_flag, createrole, createdb, conn_limit, role_xmin = _role(superuser, tenant)
    assert (login, superuser_flag, createrole, createdb, conn_limit) == (True, False, False, False, 48)
    stored = superuser.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (tenant,)).fetchone()[0]
    assert stored.startswith("SCRAM-SHA-256$")
    owner, encoding, db_xmin, public_connect = _database(superuser, tenant)
    assert (owner, encoding, public_connect) == (tenant, "UTF8", False)
    with _connect(lab, tenant, SECRET, tenant) as own:
        exts = {r[0] for r in own.execute("SELECT extname FROM pg_extension")}
        assert {"pg_trgm", "unaccent"} <= exts
        assert own.execute("SELECT has_schema_privilege('public', 'CREATE')").fetchone()[0] is True
        own.execute("CREATE TABLE res_partner (id serial PRIMARY KEY, name text)")
        public_create = own.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(COALESCE(n.nspacl, acldefault('n', "
            "n.nspowner))) a WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE')"
        ).fetchone()[0]
        assert public_create is False
    with _connect(lab, tenant, SECRET, "postgres") as bus:  # Odoo's bus LISTENs here
        bus.execute("LISTEN imbus")

    # 4. a second run changes nothing: no statement, and the catalog rows were not rewritten.
    again = run_task("pg_database", args, diff=True, via=via)
    assert again["changed"] is False and again["queries"] == [], again
    assert _role(superuser, tenant)[5] == role_xmin and _database(superuser, tenant)[2] == db_xmin
    assert again["diff"]["before"] == again["diff"]["after"]

    # an update: a new password and another sizing
    updated = run_task("pg_database", dict(args, password=SECRET + "x", workers=2), diff=True)
    assert updated["changed"] is True
    assert any("PASSWORD '********'" in q and "CONNECTION LIMIT 32" in q for q in updated["queries"]), updated
    with _connect(lab, tenant, SECRET + "x", tenant) as own:
        assert own.execute("SELECT count(*) FROM res_partner").fetchone()[0] == 0
    assert run_task("pg_database", dict(args, password=SECRET + "x", workers=2))["changed"] is False

    # 5. state=absent refuses while sessions are open, unless forced
    with _connect(lab, tenant, SECRET + "x", tenant):
        refused = run_task("pg_database", dict(admin, name=tenant, state="absent"))
        assert refused["failed"] and "1 open session(s)" in refused["msg"] and "force: true" in refused["msg"]
        assert _database(superuser, tenant) is not None
        removed = run_task("pg_database", dict(admin, name=tenant, state="absent", force=True))
    assert removed["changed"] is True, removed
    assert _database(superuser, tenant) is None and _role(superuser, tenant) is None
    assert run_task("pg_database", dict(admin, name=tenant, state="absent"))["changed"] is False


def test_isolation_between_tenants(admin, superuser, lab):
    names = [f"iso_{uuid.uuid4().hex[:6]}", f"iso_{uuid.uuid4().hex[:6]}"]
    try:
        for name in names:
            assert run_task("pg_database", dict(admin, name=name, password=SECRET))["changed"] is True
        a, b = names
        with pytest.raises(psycopg.OperationalError) as caught:
            _connect(lab, a, SECRET, b)
        assert "permission denied for database" in str(caught.value)
        with _connect(lab, a, SECRET, "postgres") as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("CREATE TABLE public.intruder (id int)")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT rolpassword FROM pg_authid")
    finally:
        for name in names:
            run_task("pg_database", dict(admin, name=name, state="absent", force=True))
    assert all(_role(superuser, n) is None for n in names)


def test_scram_password_is_not_reported_changed_on_every_run(admin, tenant, superuser):
    args = dict(admin, name=tenant, password=SECRET, extensions=[])
    assert run_task("pg_database", args)["changed"] is True
    for _attempt in range(2):
        result = run_task("pg_database", args)
        assert result["changed"] is False and result["queries"] == [], result
    forced = run_task("pg_database", dict(args, update_password="always"))
    assert forced["changed"] is True and forced["queries"] == [f"ALTER ROLE \"{tenant}\" PASSWORD '********'"]


def test_generated_password_needs_no_log_and_is_returned_once(admin, tenant, lab):
    refused = run_task("pg_database", dict(admin, name=tenant, extensions=[]))
    assert refused["failed"] and "no_log: true" in refused["msg"]
    created = run_task("pg_database", dict(admin, name=tenant, extensions=[]), no_log=True)
    password = created["generated_password"]
    assert len(password) == 32 and password not in created.output
    with _connect(lab, tenant, password, tenant) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == tenant
    assert "generated_password" not in run_task("pg_database", dict(admin, name=tenant, extensions=[]), no_log=True)


def _seed_odoo(lab, name):
    with _connect(lab, name, SECRET, name) as conn:
        conn.execute("""
            CREATE TABLE ir_config_parameter (id serial PRIMARY KEY, key varchar NOT NULL UNIQUE, value text);
            CREATE TABLE ir_mail_server (id serial PRIMARY KEY, name varchar, active boolean DEFAULT true);
            CREATE TABLE ir_cron (id serial PRIMARY KEY, name varchar, active boolean DEFAULT true);
            CREATE TABLE ir_model_data (id serial PRIMARY KEY, module varchar, name varchar, model varchar,
                                        res_id int);
            CREATE TABLE res_partner (id serial PRIMARY KEY, name varchar, email varchar);
            INSERT INTO ir_config_parameter (key, value) VALUES ('database.uuid', 'aaaa-source'),
                ('database.secret', 'source-secret'), ('web.base.url', 'https://acme.example.com');
            INSERT INTO ir_mail_server (name) VALUES ('smtp.example.com');
            INSERT INTO ir_cron (name) VALUES ('Base: Auto-vacuum internal data'), ('Mail: send queue');
            INSERT INTO ir_model_data (module, name, model, res_id) VALUES ('base', 'autovacuum_job', 'ir.cron', 1);
            INSERT INTO res_partner (name, email) SELECT 'Partner ' || g, NULL FROM generate_series(1, 500) g;
        """)


def test_staging_clone_is_neutralised(admin, tenant, superuser, lab):
    staging = tenant + "_stg"
    try:
        assert run_task("pg_database", dict(admin, name=tenant, password=SECRET))["changed"]
        _seed_odoo(lab, tenant)
        args = dict(admin, name=staging, password=SECRET, clone_from=tenant, base_url="https://stg.example.com",
                    pg_bin_dir=lab["postgres"]["platform"]["bin_dir"])
        planned = run_task("pg_database", args, check=True)
        assert planned["changed"] and _database(superuser, staging) is None
        cloned = run_task("pg_database", args)
        assert cloned["changed"] is True, cloned
        assert cloned["neutralisation"]["odoo"] is True
        with _connect(lab, staging, SECRET, staging) as conn:
            params = dict(conn.execute("SELECT key, value FROM ir_config_parameter").fetchall())
            assert params["database.uuid"] not in ("aaaa-source", "") and params["database.is_neutralized"] == "True"
            assert params["database.secret"] != "source-secret"
            assert params["web.base.url"] == "https://stg.example.com"
            assert conn.execute("SELECT count(*) FROM ir_mail_server WHERE active").fetchone()[0] == 0
            assert conn.execute("SELECT name FROM ir_cron WHERE active").fetchall() == [
                ("Base: Auto-vacuum internal data",)]
            assert conn.execute("SELECT count(*) FROM res_partner").fetchone()[0] == 500
            assert conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'res_partner'").fetchone()[0] \
                == staging
        with _connect(lab, tenant, SECRET, tenant) as conn:  # the source is untouched
            assert dict(conn.execute("SELECT key, value FROM ir_config_parameter").fetchall())["database.uuid"] \
                == "aaaa-source"
        leftovers = superuser.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                      (f"{staging}__clone_%",)).fetchall()
        assert leftovers == []
        assert run_task("pg_database", args)["changed"] is False
    finally:
        run_task("pg_database", dict(admin, name=staging, state="absent", force=True))


def test_failed_clone_leaves_nothing_half_made(admin, tenant, superuser, lab, tmp_path):
    staging = tenant + "_bad"
    real = lab["postgres"]["platform"]["bin_dir"]
    # pg_restore that answers its version like the real one, then fails midway through the restore.
    broken = tmp_path / "pg_restore"
    broken.write_text(f'#!/bin/sh\nif [ "$1" = --version ]; then exec {real}/pg_restore --version; fi\n'
                      'cat >/dev/null; echo "pg_restore: error: simulated failure" >&2; exit 1\n')
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    os.symlink(os.path.join(real, "pg_dump"), tmp_path / "pg_dump")
    try:
        assert run_task("pg_database", dict(admin, name=tenant, password=SECRET))["changed"]
        _seed_odoo(lab, tenant)
        failed = run_task("pg_database", dict(admin, name=staging, password=SECRET, clone_from=tenant,
                                              pg_bin_dir=str(tmp_path)))
        assert failed["failed"] and "simulated failure" in failed["msg"] and "dropped" in failed["msg"]
        assert superuser.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                 (f"{staging}%",)).fetchall() == []
    finally:
        run_task("pg_database", dict(admin, name=staging, state="absent", force=True))


BAD_INPUTS = [
    ({"name": 'x"; DROP ROLE postgres; --'}, "is not a valid database name"),
    ({"name": "ok", "role": "x'; DROP TABLE users; --"}, "is not a valid role name"),
    ({"name": "Upper"}, "is not a valid database name"),
    ({"name": "9lives"}, "is not a valid database name"),
    ({"name": "a" * 64}, "at most 63 bytes"),
    ({"name": "postgres"}, "reserved database name"),
    ({"name": "ok_db", "role": "postgres"}, "reserved role name"),
    ({"name": "ok_db", "role": "azure_pg_admin"}, "reserved role name"),
    ({"name": "ok_db", "role": "pg_monitor"}, "reserved role name"),
    ({"name": "ok_db", "clone_from": "does_not_exist"}, "clone_from='does_not_exist': no such database"),
    ({"name": "ok_db", "clone_from": "ok_db"}, "is the database itself"),
    ({"name": "ok_db", "conn_limit": -5}, "conn_limit=-5 is invalid"),
    ({"name": "ok_db", "workers": -1}, "workers=-1 is negative"),
    ({"name": "ok_db", "workers": 2, "db_maxconn": 0}, "db_maxconn=0 is invalid"),
    ({"name": "ok_db", "extensions": ["pg_trgm; DROP"]}, "is not an extension name"),
    ({"name": "ok_db", "extensions": ["no_such_ext"]}, "'no_such_ext' is not available"),
    ({"name": "ok_db", "base_url": "ftp://x"}, "is not an http(s) URL"),
    ({"name": "ok_db", "conn_limit": 10, "workers": 2}, "mutually exclusive"),
]


def test_bad_input_is_refused_before_any_write(admin, superuser):
    names = {n for bad, _message in BAD_INPUTS for n in (bad["name"], bad.get("role", bad["name"]))}
    catalog = "SELECT rolname, xmin::text FROM pg_authid WHERE rolname = ANY(%s) " \
              "UNION ALL SELECT datname, xmin::text FROM pg_database WHERE datname = ANY(%s) ORDER BY 1"
    before = superuser.execute(catalog, (list(names), list(names))).fetchall()
    results = run_tasks("pg_database", [dict(admin, password=SECRET, **bad) for bad, _message in BAD_INPUTS])
    for (bad, message), result in zip(BAD_INPUTS, results):
        assert result.get("failed") is True, (bad, result)
        assert message in result["msg"], (bad, result["msg"])
        assert result.get("queries", []) == [], bad
    # Not one of them wrote: no role or database of those names was created, altered or dropped.
    assert superuser.execute(catalog, (list(names), list(names))).fetchall() == before


def test_locale_of_an_existing_database_cannot_change(admin, tenant):
    assert run_task("pg_database", dict(admin, name=tenant, password=SECRET, extensions=[]))["changed"]
    refused = run_task("pg_database", dict(admin, name=tenant, password=SECRET, extensions=[], lc_collate="C"))
    assert refused["failed"] and "cannot be changed in place" in refused["msg"]
