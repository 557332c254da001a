"""The server parameters an emulated flexible server has, and the checks a new value must pass.

Each entry carries what the service returns for it (`dataType`, `allowedValues`, `defaultValue`, ...).
Values are checked as the service checks them: Boolean on/off, Integer and Numeric ranges `min-max`,
Enumeration one of the list, Set (`azure.extensions`, `shared_preload_libraries`) a comma-separated
subset of the list.
"""

import re

from arm.errors import bad_request

EXTENSIONS = sorted([
    "address_standardizer", "address_standardizer_data_us", "amcheck", "anon", "azure_ai", "azure_storage",
    "bloom", "btree_gin", "btree_gist", "citext", "cube", "dblink", "dict_int", "dict_xsyn", "earthdistance",
    "fuzzystrmatch", "hll", "hstore", "hypopg", "intagg", "intarray", "isn", "lo", "ltree", "orafce", "pageinspect",
    "pg_buffercache", "pg_cron", "pg_freespacemap", "pg_hint_plan", "pg_partman", "pg_prewarm", "pg_repack",
    "pg_squeeze", "pg_stat_statements", "pg_trgm", "pg_visibility", "pgaudit", "pgcrypto", "pglogical",
    "pgrouting", "pgrowlocks", "pgstattuple", "plpgsql", "plv8", "postgis", "postgis_raster", "postgis_sfcgal",
    "postgis_tiger_geocoder", "postgis_topology", "postgres_fdw", "semver", "session_variable", "sslinfo",
    "tablefunc", "tdigest", "tds_fdw", "timescaledb", "topn", "tsm_system_rows", "tsm_system_time", "unaccent",
    "uuid-ossp", "vector",
])
PRELOAD = ["auto_explain", "azure_storage", "pg_cron", "pg_failover_slots", "pg_hint_plan", "pg_partman_bgw",
           "pg_prewarm", "pg_squeeze", "pg_stat_statements", "pgaudit", "pglogical", "timescaledb", "wal2json"]


DOCS = "https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-server-parameters"


def _entry(data_type, allowed, default, description, dynamic=True, unit=None):
    entry = {"dataType": data_type, "allowedValues": allowed, "defaultValue": default, "description": description,
             "isDynamicConfig": dynamic, "isReadOnly": False,
             "documentationLink": DOCS}
    if unit:
        entry["unit"] = unit
    return entry


CONFIGURATIONS = {
    "azure.extensions": _entry("Set", ",".join(EXTENSIONS), "", "Specifies which extensions are allowed to be "
                               "created in the server."),
    "shared_preload_libraries": _entry("Set", ",".join(PRELOAD), "pg_cron,pg_stat_statements",
                                       "Lists shared libraries to preload into server.", dynamic=False),
    "max_connections": _entry("Integer", "25-5000", "859", "Sets the maximum number of concurrent connections.",
                              dynamic=False),
    "work_mem": _entry("Integer", "4096-2097151", "4096", "Sets the amount of memory to be used by internal sort "
                       "operations and hash tables before writing to temporary disk files.", unit="KB"),
    "maintenance_work_mem": _entry("Integer", "1024-2097151", "99328", "Sets the maximum memory to be used for "
                                   "maintenance operations.", unit="KB"),
    "statement_timeout": _entry("Integer", "0-2147483647", "0", "Sets the maximum allowed duration of any "
                                "statement.", unit="milliseconds"),
    "idle_in_transaction_session_timeout": _entry("Integer", "0-2147483647", "0", "Sets the maximum allowed "
                                                  "duration of any idling transaction.", unit="milliseconds"),
    "log_min_duration_statement": _entry("Integer", "-1-2147483647", "-1", "Sets the minimum execution time above "
                                         "which statements will be logged.", unit="milliseconds"),
    "log_connections": _entry("Boolean", "on,off", "on", "Logs each successful connection."),
    "log_disconnections": _entry("Boolean", "on,off", "off", "Logs end of a session, including duration."),
    "autovacuum": _entry("Boolean", "on,off", "on", "Starts the autovacuum subprocess."),
    "require_secure_transport": _entry("Boolean", "on,off", "on", "Whether client connections to the server are "
                                       "required to use some form of secure transport."),
    "password_encryption": _entry("Enumeration", "md5,scram-sha-256", "scram-sha-256", "Chooses the algorithm for "
                                  "encrypting passwords."),
    "pg_qs.query_capture_mode": _entry("Enumeration", "all,top,none", "none", "Selects which statements are "
                                       "tracked by the Query Store."),
    "random_page_cost": _entry("Numeric", "0-1.79769e+308", "2", "Sets the planner's estimate of the cost of a "
                               "nonsequentially fetched disk page."),
    "timezone": _entry("String", "[A-Za-z0-9/+_-]+", "UTC", "Sets the time zone for displaying and interpreting "
                       "time stamps."),
}


def _refuse(name, value, allowed):
    return bad_request("InvalidParameterValue", f"The value '{value}' for configuration '{name}' is not allowed. "
                       f"Allowed values: {allowed}.", target="properties.value")


def _range(allowed):
    """'25-5000' -> (25, 5000); '-1-2147483647' -> (-1, 2147483647)."""
    match = re.match(r"^(-?[0-9.e+]+)-(-?[0-9.e+]+)$", allowed)
    return float(match.group(1)), float(match.group(2))


def check_value(name, conf, value):
    """Return the value as stored, or raise 400 when `conf`'s dataType and allowedValues refuse it."""
    value = str(value).strip()
    kind, allowed = conf["dataType"], conf["allowedValues"]
    if kind == "Boolean":
        lowered = value.lower()
        if lowered in ("on", "true", "1", "yes"):
            return "on"
        if lowered in ("off", "false", "0", "no"):
            return "off"
        raise _refuse(name, value, allowed)
    if kind in ("Integer", "Numeric"):
        try:
            number = int(value) if kind == "Integer" else float(value)
        except ValueError:
            raise _refuse(name, value, allowed) from None
        low, high = _range(allowed)
        if not low <= number <= high:
            raise _refuse(name, value, allowed)
        return value
    if kind == "Enumeration":
        if value not in allowed.split(","):
            raise _refuse(name, value, allowed)
        return value
    if kind == "Set":
        items = [item.strip() for item in value.split(",") if item.strip()]
        choices = {item.lower(): item for item in allowed.split(",")}
        unknown = [item for item in items if item.lower() not in choices]
        if unknown:
            raise bad_request("InvalidParameterValue", f"The value '{value}' for configuration '{name}' is not "
                              f"allowed: {', '.join(unknown)} not in the allowed list ({allowed}).",
                              target="properties.value")
        return ",".join(dict.fromkeys(choices[item.lower()] for item in items))
    return value
