"""The pure parts of the backups: GFS selection, prune planning, cron and time-zone checks, container names,
archive versions, and the CronJob renderer."""

import datetime
import json
import re

import pytest

from ansible_collections.odoo_saas.platform.plugins.module_utils._backup import (
    archive_version, check_restore_tool, gfs_keep, plan_prune)
from ansible_collections.odoo_saas.platform.plugins.module_utils._backup_cron import (
    check_cron, check_time_zone, render)
from ansible_collections.odoo_saas.platform.plugins.module_utils._blob import (
    auth_mode, doubling_retry, blob_argument_spec, check_container, check_retries)
from ansible_collections.odoo_saas.platform.plugins.module_utils._common import InputError

UTC = datetime.timezone.utc


def ids(start, days, hour=2):
    return [(start + datetime.timedelta(days=d)).replace(hour=hour).strftime("%Y%m%dT%H%M%SZ") for d in range(days)]


def test_gfs_daily_weekly_monthly():
    daily = ids(datetime.datetime(2026, 1, 1), 120)  # 2026-01-01 .. 2026-04-30
    keep = gfs_keep(daily, 7, 4, 3)
    days = sorted(daily, reverse=True)
    assert set(days[:7]) <= keep  # the last 7 days
    # weekly: the newest of each of the last 4 ISO weeks (Sundays, and the newest day of the current week)
    assert {"20260426T020000Z", "20260419T020000Z", "20260412T020000Z"} <= keep
    # monthly: the newest of April, March and February
    assert {"20260331T020000Z", "20260228T020000Z"} <= keep and "20260131T020000Z" not in keep
    # Apr 24-30 daily; weeks add Apr 19 and 12 (Apr 26 and 30 are daily); months add Mar 31 and Feb 28
    assert len(keep) == 7 + 2 + 2


def test_gfs_takes_the_newest_of_a_day():
    day = ["20260301T020000Z", "20260301T140000Z", "20260228T020000Z"]
    assert gfs_keep(day, 1, 0, 0) == {"20260301T140000Z"}
    assert gfs_keep(day, 2, 0, 0) == {"20260301T140000Z", "20260228T020000Z"}
    assert gfs_keep(day, 0, 0, 1) == {"20260301T140000Z"}
    assert gfs_keep([], 7, 4, 3) == set()


def test_gfs_counts_periods_that_have_backups_not_calendar_days():
    sparse = ["20260101T020000Z", "20260301T020000Z", "20260601T020000Z"]
    assert gfs_keep(sparse, 3, 0, 0) == set(sparse)


def test_plan_prune_grace_for_incomplete():
    now = datetime.datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    complete = [{"id": i} for i in ids(datetime.datetime(2026, 4, 1), 30)]
    incomplete = [{"id": "20260430T020000Z", "started": datetime.datetime(2026, 4, 30, 2, tzinfo=UTC)},
                  {"id": "20260501T110000Z", "started": datetime.datetime(2026, 5, 1, 11, tzinfo=UTC)}]
    kept, old, stale = plan_prune(complete, incomplete, 7, 0, 0, 24, now)
    assert len(kept) == 7 and len(old) == 23
    assert [b["id"] for b in stale] == ["20260430T020000Z"]


@pytest.mark.parametrize("expr", ["30 2 * * *", "*/15 * * * *", "0 0 1 jan,jul *", "0 3 * * mon-fri", "@daily",
                                  "0 0 * * 7", "5 4 1-15/2 * ?"])
def test_valid_cron(expr):
    assert check_cron(expr) == expr


@pytest.mark.parametrize("expr, fragment", [
    ("61 * * * *", "minute 61 is out of range"), ("* 24 * * *", "hour 24 is out of range"),
    ("* * 0 * *", "day of month 0 is out of range"), ("* * * 13 *", "month 13 is out of range"),
    ("* * *", "has 3 fields"), ("* * * * * *", "has 6 fields"), ("@fortnightly", "not a cron descriptor"),
    ("*/0 * * * *", "must be a positive number"), ("5-1 * * * *", "runs backwards"),
    ("x * * * *", "'x' is not a valid minute"), ("TZ=UTC 0 2 * * *", "time_zone option"), ("", "is empty"),
])
def test_invalid_cron(expr, fragment):
    with pytest.raises(InputError) as caught:
        check_cron(expr)
    assert fragment in caught.value.msg


def test_time_zone():
    assert check_time_zone("Europe/Brussels") == "Europe/Brussels"
    assert check_time_zone(None) is None
    with pytest.raises(InputError):
        check_time_zone("Mars/Olympus_Mons")


@pytest.mark.parametrize("name", ["abc", "odoo-backups-prod", "a1b", "x" * 63])
def test_valid_container(name):
    assert check_container(name) == name


@pytest.mark.parametrize("name", ["ab", "Odoo", "odoo_backups", "-odoo", "odoo-", "odoo--x", "x" * 64, ""])
def test_invalid_container(name):
    with pytest.raises(InputError):
        check_container(name)


def test_auth_mode():
    assert auth_mode({"connection_string": "x"}) == "connection_string"
    assert auth_mode({"account_name": "a", "account_key": "k"}) == "key"
    assert auth_mode({"account_name": "a"}) == "entra"
    with pytest.raises(InputError):
        auth_mode({})
    with pytest.raises(InputError):
        auth_mode({"auth_mode": "key", "account_name": "a"})


def test_archive_versions():
    assert archive_version(b"PGDMP\x01\x0e\x00rest") == (1, 14)
    with pytest.raises(Exception):
        archive_version(b"not a dump")
    check_restore_tool("pg_restore 15.5", 15, (1, 14))
    check_restore_tool("pg_restore 17.0", 17, (1, 16))
    with pytest.raises(InputError) as caught:
        check_restore_tool("pg_restore (PostgreSQL) 15.5", 15, (1, 16))
    assert "from PostgreSQL 17 on" in caught.value.msg
    with pytest.raises(InputError):
        check_restore_tool("pg_restore 17", 17, (1, 17))  # a format newer than any known reader


def _params(**extra):
    params = {"tenant": "acme", "namespace": None, "database": "acme", "container": "odoo-backups",
              "odoo_version": "17.0", "filestore_compression": "none", "keep_daily": 7, "keep_weekly": 4,
              "keep_monthly": 3, "incomplete_grace_hours": 24, "db_host": "pg.internal", "login_host": "localhost",
              "login_port": 5432, "db_user": None, "ssl_mode": "require", "db_password": "pw-secret",
              "connection_string": "DefaultEndpointsProtocol=https;AccountKey=key-secret", "account_key": None,
              "account_name": None, "account_url": None, "tenant_id": None, "client_id": None, "authority": None,
              "image": "ee:1", "schedule": "30 2 * * *", "time_zone": "Europe/Brussels",
              "starting_deadline_seconds": 600, "active_deadline_seconds": 14400,
              "successful_jobs_history_limit": 3, "failed_jobs_history_limit": 1,
              "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
              "node_pool": "worker", "filestore_claim": True, "service_account": None}
    params.update(extra)
    return params


def test_render_cronjob():
    secret, cronjob = render(_params(), "connection_string")
    assert secret["metadata"] == {"name": "odoo-backup", "namespace": "odoo-acme", "labels": secret["metadata"]["labels"]}
    assert set(secret["stringData"]) == {"PGPASSWORD", "AZURE_STORAGE_CONNECTION_STRING"}
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid" and spec["timeZone"] == "Europe/Brussels"
    assert spec["failedJobsHistoryLimit"] == 1 and spec["startingDeadlineSeconds"] == 600
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["volumes"][0]["persistentVolumeClaim"] == {"claimName": "odoo-filestore", "readOnly": True}
    container = pod["containers"][0]
    assert container["securityContext"]["runAsNonRoot"] is True
    text = json.dumps(cronjob)
    assert "pw-secret" not in text and "key-secret" not in text
    args = json.loads(container["command"][-1])
    assert args["filestore_path"] == "/var/lib/odoo/filestore/acme" and args["login_user"] == "acme"
    assert args["login_host"] == "pg.internal" and args["auth_mode"] == "connection_string"


def test_render_entra_uses_workload_identity():
    _secret, cronjob = render(_params(connection_string=None, account_name="st", service_account="backup"), "entra")
    template = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert template["spec"]["serviceAccountName"] == "backup"


def test_nested_kubernetes_fragment_matches_the_top_level_one():
    import yaml  # pylint: disable=import-outside-toplevel
    from ansible_collections.odoo_saas.platform.plugins.doc_fragments.kubernetes import ModuleDocFragment
    from ansible_collections.odoo_saas.platform.plugins.module_utils._kube import kube_argument_spec

    top = yaml.safe_load(re.sub(r"O\((\w+)\)", r"O(kubernetes.\1)", ModuleDocFragment.DOCUMENTATION))["options"]
    nested = yaml.safe_load(ModuleDocFragment.NESTED)["options"]["kubernetes"]["suboptions"]
    assert nested == top and set(nested) == set(kube_argument_spec())


def test_blob_retry_backoff_doubles_with_jitter_and_counts_every_kind_of_error():
    spec = blob_argument_spec()
    policy = doubling_retry(spec["blob_retries"]["default"], spec["blob_retry_backoff"]["default"])
    assert (policy.total_retries, policy.connect_retries, policy.read_retries, policy.status_retries) == (3, 3, 3, 3)
    for count, base in ((1, 12.0), (2, 24.0), (3, 48.0)):
        waits = [policy.get_backoff_time({"count": count}) for _attempt in range(200)]
        assert all(0.8 * base <= w <= 1.2 * base for w in waits), (count, min(waits), max(waits))
    fast = doubling_retry(2, 0.2)
    assert fast.total_retries == 2 and fast.get_backoff_time({"count": 2}) <= 0.48
    assert doubling_retry(0, 1.0).total_retries == 0


@pytest.mark.parametrize("params, fragment", [
    ({"blob_retries": -1, "blob_retry_backoff": 1.0}, "blob_retries=-1 is negative"),
    ({"blob_retries": 1, "blob_retry_backoff": -2.0}, "blob_retry_backoff=-2.0 is negative"),
])
def test_blob_retry_settings_are_checked(params, fragment):
    with pytest.raises(InputError, match=re.escape(fragment)):
        check_retries(params)
    check_retries({"blob_retries": 0, "blob_retry_backoff": 0.0})
