"""pg_server against the lab's ARM emulator, whose flexible servers lead to the lab's platform PostgreSQL.

The pattern: check mode, the real run, an independent GET (and a login with the admin through the FQDN), a second
run with no write, updates, refusals of what Azure only allows at create, and state=absent.
"""

import uuid

import psycopg
import pytest

from integration.ansible_task import run_task, run_tasks
from integration.arm import emulator, module_args  # noqa: F401  pylint: disable=unused-import

API = "2026-10-01"
PASSWORD = "Pg-" + uuid.uuid4().hex + "-X"


@pytest.fixture
def server(lab, resource_group):  # noqa: F811  pylint: disable=redefined-outer-name
    suffix = uuid.uuid4().hex[:6]
    args = dict(module_args(lab), resource_group=resource_group, name=f"pg-it-{suffix}", location="westeurope",
                version="16", sku={"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"},
                storage={"size_gb": 32, "auto_grow": False}, backup={"retention_days": 7, "geo_redundant": False},
                availability_zone="1", high_availability={"mode": "ZoneRedundant", "standby_availability_zone": "2"},
                maintenance_window={"day_of_week": 0, "start_hour": 2},
                firewall_rules=[{"name": "aks-egress", "start_ip": "127.0.0.1", "end_ip": "127.0.0.1"}],
                parameters={"idle_in_transaction_session_timeout": "600000"}, extensions=["pgcrypto"],
                administrator_login=f"odooadm_{suffix}", administrator_login_password=PASSWORD,
                tags={"env": "lab"})
    yield args
    run_task("pg_server", dict(args, state="absent"))


def test_lifecycle(lab, server, emulator):  # noqa: F811  pylint: disable=redefined-outer-name
    name = server["name"]
    rid = f"/subscriptions/{lab['arm']['subscription_id']}/resourceGroups/{server['resource_group']}/providers/" \
          f"Microsoft.DBforPostgreSQL/flexibleServers/{name}"

    # 1. Check mode reports the creation and writes nothing.
    planned = run_task("pg_server", server, check=True, diff=True)
    assert planned["changed"] is True and planned["actions"][0] == "create server", planned
    assert planned["diff"]["after"]["parameters"]["azure.extensions"] == "pg_trgm,pgcrypto,unaccent"
    assert emulator.get(rid, API)[0] == 404 and emulator.writes(name) == []

    # 2. The real run; the password never shows, even with -vvv.
    created = run_task("pg_server", server, verbosity=3)
    assert created["changed"] is True, created
    assert "AnsiballZ_pg_server.py" not in created.output  # run in the worker (plugins/plugin_utils/_in_process.py)
    assert PASSWORD not in created.output and PASSWORD not in str(created)
    facts = created["pg_server"]
    assert facts["fqdn"].startswith(name + ".") and facts["version"] == "16"
    assert facts["extensions"] == ["pg_trgm", "pgcrypto", "unaccent"]
    assert facts["firewall_rules"] == {"aks-egress": {"start_ip": "127.0.0.1", "end_ip": "127.0.0.1"}}

    # 3. Independent reads: ARM, and a login with the admin through the FQDN onto the lab's PostgreSQL.
    status, body = emulator.get(rid, API)
    assert status == 200 and body["properties"]["state"] == "Ready"
    assert body["properties"]["highAvailability"]["mode"] == "ZoneRedundant"
    assert "administratorLoginPassword" not in body["properties"]
    status, ext = emulator.get(f"{rid}/configurations/azure.extensions", API)
    assert status == 200 and sorted(ext["properties"]["value"].split(",")) == ["pg_trgm", "pgcrypto", "unaccent"]
    assert emulator.get(f"{rid}/configurations/idle_in_transaction_session_timeout", API)[1]["properties"][
        "value"] == "600000"
    platform = lab["postgres"]["platform"]
    with psycopg.connect(host=facts["fqdn"], port=platform["port"], user=server["administrator_login"],
                         password=PASSWORD, dbname="postgres") as conn:
        row = conn.execute("SELECT rolcreaterole, rolcreatedb, rolsuper FROM pg_roles WHERE rolname = "
                           "current_user").fetchone()
    assert row == (True, True, False)

    # 4. A second run changes nothing and writes nothing; this one as a module process, as on a host that is not
    # this controller with its Python.
    before = len(emulator.writes(name))
    again = run_task("pg_server", server, verbosity=3, via="module")
    assert again["changed"] is False and again["actions"] == [], again
    assert "AnsiballZ_pg_server.py" in again.output and PASSWORD not in again.output
    assert len(emulator.writes(name)) == before

    # 5. Updates: grow storage, change retention, add a firewall rule; one PATCH for the server.
    grown = dict(server, storage={"size_gb": 64, "auto_grow": True}, backup={"retention_days": 14},
                 firewall_rules=server["firewall_rules"] + [{"name": "office", "start_ip": "203.0.113.1",
                                                             "end_ip": "203.0.113.9"}])
    before = emulator.writes(name)
    updated = run_task("pg_server", grown, diff=True)
    assert updated["changed"] is True, updated
    assert updated["diff"]["before"]["storage"]["size_gb"] == 32 and updated["diff"]["after"]["storage"]["size_gb"] == 64
    made = emulator.writes(name)[len(before):]
    assert [m[0] for m in made].count("PATCH") == 1 and any(m[1].endswith("/firewallRules/office") for m in made)
    props = emulator.get(rid, API)[1]["properties"]
    assert props["storage"]["storageSizeGB"] == 64 and props["backup"]["backupRetentionDays"] == 14
    assert run_task("pg_server", grown)["changed"] is False

    # 6. What Azure only allows one way, or at create, is refused before any write.
    writes = len(emulator.writes(name))
    for overrides, needle in (({"storage": {"size_gb": 32}}, "never shrink"),
                              ({"backup": {"geo_redundant": True}}, "backup.geo_redundant can only be set"),
                              ({"availability_zone": "3", "high_availability": None}, "availability_zone can only")):
        refused = run_task("pg_server", dict(grown, **overrides))
        assert refused.get("failed") and needle in refused["msg"], refused
    assert len(emulator.writes(name)) == writes

    # 7. The password is set again only with update_password=always, and then it works.
    new_password = PASSWORD + "2"
    assert run_task("pg_server", dict(grown, administrator_login_password=new_password))["changed"] is False
    rotated = run_task("pg_server", dict(grown, administrator_login_password=new_password, update_password="always"))
    assert rotated["changed"] is True and rotated["actions"] == ["set administratorLoginPassword"]
    psycopg.connect(host=facts["fqdn"], port=platform["port"], user=server["administrator_login"],
                    password=new_password, dbname="postgres").close()

    # 8. state=absent: check mode, then the deletion.
    gone = dict(server, state="absent")
    assert run_task("pg_server", gone, check=True)["changed"] is True and emulator.get(rid, API)[0] == 200
    assert run_task("pg_server", gone)["changed"] is True and emulator.get(rid, API)[0] == 404
    assert run_task("pg_server", gone)["changed"] is False


BAD = [
    ({"name": "PG_Bad"}, "name='PG_Bad'"),
    ({"version": "10"}, "version='10'"),
    ({"sku": {"name": "Standard_E2ds_v5", "tier": "GeneralPurpose"}}, "does not belong"),
    ({"storage": {"size_gb": 100}}, "storage.size_gb=100"),
    ({"backup": {"retention_days": 40}}, "backup.retention_days=40"),
    ({"sku": {"name": "Standard_B2s", "tier": "Burstable"}}, "not offered on the Burstable tier"),
    ({"high_availability": {"mode": "ZoneRedundant", "standby_availability_zone": "1"}}, "another zone"),
    ({"administrator_login": "pg_admin"}, "administrator_login='pg_admin'"),
    ({"administrator_login_password": "alllowercaseletters"}, "administrator_login_password breaks"),
    ({"firewall_rules": [{"name": "x", "start_ip": "10.0.0.9", "end_ip": "10.0.0.1"}]}, "after end_ip"),
    ({"extensions": ["Bad Ext"]}, "'Bad Ext'"),
    ({"maintenance_window": {"day_of_week": 9}}, "day_of_week=9"),
]


def test_bad_input_is_refused_before_any_write(lab, server, emulator):  # noqa: F811  pylint: disable=redefined-outer-name
    # One playbook, one task per bad input (each task fails on its own, ignore_errors): one Ansible start-up.
    results = run_tasks("pg_server", [dict(server, **overrides) for overrides, _needle in BAD])
    for (overrides, needle), result in zip(BAD, results):
        assert result.get("failed") and needle in result["msg"], (overrides, result)
    assert PASSWORD not in results[0].output
    assert emulator.writes(server["name"]) == [] and emulator.writes("PG_Bad") == []
