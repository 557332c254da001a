"""The lab's PostgreSQL servers are real: roles, CONNECT privileges and SCRAM authentication."""

import uuid

import psycopg
import pytest
from psycopg import sql


def _admin(server, dbname="postgres"):
    return psycopg.connect(host=server["host"], port=server["port"], user=server["user"],
                           password=server["password"], dbname=dbname, autocommit=True)


@pytest.fixture
def two_tenants(lab):
    server = lab["postgres"]["platform"]
    suffix = uuid.uuid4().hex[:6]
    tenants = [(f"it_a_{suffix}", uuid.uuid4().hex), (f"it_b_{suffix}", uuid.uuid4().hex)]
    with _admin(server) as conn:
        for role, password in tenants:
            create = sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}")
            conn.execute(create.format(sql.Identifier(role), sql.Literal(password)))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING 'UTF8'").format(
                sql.Identifier(role), sql.Identifier(role)))
            conn.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(role)))
    yield server, tenants
    with _admin(server) as conn:
        for role, _password in tenants:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_role_cannot_connect_to_another_roles_database(two_tenants):
    server, [(role_a, password_a), (role_b, _password_b)] = two_tenants
    with psycopg.connect(host=server["host"], port=server["port"], user=role_a, password=password_a,
                         dbname=role_a) as own:
        assert own.execute("SELECT current_user").fetchone()[0] == role_a
    with pytest.raises(psycopg.OperationalError) as caught:
        psycopg.connect(host=server["host"], port=server["port"], user=role_a, password=password_a, dbname=role_b)
    assert "permission denied for database" in str(caught.value)


def test_passwords_are_stored_with_scram(two_tenants):
    server, tenants = two_tenants
    with _admin(server) as conn:
        for role, _password in tenants:
            stored = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchone()[0]
            assert stored.startswith("SCRAM-SHA-256$")


def test_both_servers_answer(lab):
    for name in ("platform", "legacy"):
        with _admin(lab["postgres"][name]) as conn:
            version = conn.execute("SHOW server_version_num").fetchone()[0]
            assert int(version) // 10000 == int(lab["postgres"][name]["version"])
            assert conn.execute("SHOW port").fetchone()[0] == str(lab["postgres"][name]["port"])
