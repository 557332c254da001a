"""legacy_odoo_facts' row counts against the lab's real PostgreSQL, while a table is locked as a restore's
`ALTER TABLE ... ADD PRIMARY KEY` locks it (ACCESS EXCLUSIVE).

A migration counts the copy's rows once the data is loaded, beside the index builds (`wait_for_marker`): each table
in a statement of its own, so that a count waiting for one table's primary key holds no lock that the restore's
next `ALTER TABLE` on another table would wait for. One statement over every table (the source's count, one
snapshot) would hold them all.
"""

import threading
import time
import uuid

import psycopg
import pytest

from integration.ansible_task import run_task

pytestmark = pytest.mark.legacy_vm


@pytest.fixture
def database(lab):
    server = lab["postgres"]["platform"]
    name = "counts_" + uuid.uuid4().hex[:8]

    def connect(dbname=name):
        return psycopg.connect(host=server["host"], port=server["port"], user=server["user"],
                               password=server["password"], dbname=dbname, autocommit=True)

    with connect("postgres") as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with connect() as conn:
        for table, rows in (("a_first", 3), ("b_restored", 5), ("c_last", 7)):
            conn.execute(f"CREATE TABLE {table} (id int)")
            conn.execute(f"INSERT INTO {table} SELECT generate_series(1, {rows})")
        conn.execute("CREATE SEQUENCE s_used")
        conn.execute("SELECT setval('s_used', 42)")
    yield server, name, connect
    with connect("postgres") as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _count_while_locked(server, name, connect, tmp_path, marker):
    """Count with b_restored locked; meanwhile try, without waiting, the lock the restore's next ALTER TABLE on
    a_first would take. Returns the facts and whether that lock was granted."""
    done, dumped = tmp_path / ".restore.done", tmp_path / ".dumped"
    dumped.write_text("")
    params = {"db_host": server["host"], "db_port": server["port"], "db_user": server["user"],
              "db_password": server["password"], "db_name": name, "gather": ["row_counts"],
              "wait_for_exit_file": str(done), "wait_timeout": 30}
    if marker:
        params["wait_for_marker"] = str(dumped)
    result = {}
    with connect() as holder, connect() as restore:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE b_restored IN ACCESS EXCLUSIVE MODE")
        if not marker:
            done.write_text("0\n")
        counting = threading.Thread(target=lambda: result.update(run_task("legacy_odoo_facts", params)))
        counting.start()
        # The count is waiting for b_restored once its backend is seen waiting on a lock.
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            # Not from the holder's transaction, whose view of pg_stat_activity stays as it first read it.
            waiting = restore.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'odoo_saas.legacy_odoo_facts' AND wait_event_type = 'Lock'").fetchone()[0]
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the count never waited for the locked table"
        restore.execute("BEGIN")
        try:
            restore.execute("LOCK TABLE a_first IN ACCESS EXCLUSIVE MODE NOWAIT")
            granted = True
        except psycopg.errors.LockNotAvailable:
            granted = False
        restore.execute("ROLLBACK")
        holder.execute("COMMIT")
        counting.join(60)
    assert not result.get("failed"), result.get("msg")
    return result["odoo_database"], granted


def test_table_by_table_counts_hold_no_other_table_while_one_is_locked(database, tmp_path):
    server, name, connect = database
    facts, granted = _count_while_locked(server, name, connect, tmp_path, marker=True)
    assert granted, "the count held a_first while it waited for b_restored"
    assert facts["waited"]["exit_code"] is None
    assert facts["row_counts"] == {"public.a_first": 3, "public.b_restored": 5, "public.c_last": 7}
    assert facts["sequences"] == {"public.s_used": 42}


def test_one_statement_holds_the_tables_it_locked_first(database, tmp_path):
    # The contrast that makes the test above mean something: the source's count (one statement, one snapshot)
    # would have stalled the restore's ALTER TABLE on a_first.
    server, name, connect = database
    facts, granted = _count_while_locked(server, name, connect, tmp_path, marker=False)
    assert not granted
    assert facts["row_counts"] == {"public.a_first": 3, "public.b_restored": 5, "public.c_last": 7}
