# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An Azure Database for PostgreSQL flexible server: validate, render, diff, then apply through _azure.

The server itself is created with one PUT and changed with one PATCH that carries only the fields
that differ. Firewall rules and server parameters (the `azure.extensions` allow-list among them)
are read with one list call each and written one by one, only where they differ.
"""

from __future__ import annotations

import copy
import ipaddress
import re

from ._azure import arm_errors, begin, check_tags, dig, fetch, merged_tags, put_path, resource_id
from ._common import InputError

PROVIDER = "Microsoft.DBforPostgreSQL"
VERSIONS = ("13", "14", "15", "16", "17", "18")
STORAGE_SIZES = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767)
ODOO_EXTENSIONS = ("pg_trgm", "unaccent")
SKU_PREFIX = {"Burstable": "Standard_B", "GeneralPurpose": "Standard_D", "MemoryOptimized": "Standard_E"}
RESERVED_LOGINS = ("azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public")
SERVER_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{1,61}[a-z0-9])$")
LOGIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
RULE_NAME = re.compile(r"^[-\w]{1,128}$")
EXTENSION = re.compile(r"^[a-z0-9_][a-z0-9_-]*$")
PARAMETER = re.compile(r"^[a-z0-9_.]+$")

# option path -> (ARM path under properties or the resource, can change after create)
SERVER_FIELDS = [
    (("version",), ("properties", "version"), True),
    (("sku", "name"), ("sku", "name"), True),
    (("sku", "tier"), ("sku", "tier"), True),
    (("storage", "size_gb"), ("properties", "storage", "storageSizeGB"), True),
    (("storage", "auto_grow"), ("properties", "storage", "autoGrow"), True),
    (("availability_zone",), ("properties", "availabilityZone"), False),
    (("high_availability", "mode"), ("properties", "highAvailability", "mode"), True),
    (("high_availability", "standby_availability_zone"),
     ("properties", "highAvailability", "standbyAvailabilityZone"), True),
    (("backup", "retention_days"), ("properties", "backup", "backupRetentionDays"), True),
    (("backup", "geo_redundant"), ("properties", "backup", "geoRedundantBackup"), False),
    (("network", "public_access"), ("properties", "network", "publicNetworkAccess"), True),
    (("network", "delegated_subnet_id"), ("properties", "network", "delegatedSubnetResourceId"), False),
    (("network", "private_dns_zone_id"), ("properties", "network", "privateDnsZoneArmResourceId"), False),
    (("maintenance_window", "day_of_week"), ("properties", "maintenanceWindow", "dayOfWeek"), True),
    (("maintenance_window", "start_hour"), ("properties", "maintenanceWindow", "startHour"), True),
    (("maintenance_window", "start_minute"), ("properties", "maintenanceWindow", "startMinute"), True),
    (("administrator_login",), ("properties", "administratorLogin"), False),
]
ENABLED = {True: "Enabled", False: "Disabled"}
BOOL_FIELDS = {("storage", "auto_grow"), ("backup", "geo_redundant"), ("network", "public_access")}


def _option(params, option):
    value = params.get(option[0])
    if len(option) == 2:
        value = (value or {}).get(option[1])
    if value is not None and option in BOOL_FIELDS:
        value = ENABLED[value]
    return value


def extensions(params):
    """The allow-list: what was asked for, plus what Odoo needs, in a stable order."""
    wanted = list(params.get("extensions") or [])
    for name in ODOO_EXTENSIONS:
        if name not in wanted:
            wanted.append(name)
    return sorted(set(wanted), key=str.lower)


# ------------------------------------------------------------------ validation
def validate(params):
    """Refuse what Azure would refuse, before any call; each message names the option and the rule."""
    if not SERVER_NAME.match(params["name"]):
        raise InputError(f"name={params['name']!r} is not a valid flexible server name: use 3-63 lowercase letters, "
                         "digits and hyphens, starting and ending with a letter or digit.")
    if params["state"] == "absent":
        return
    if params.get("version") and params["version"] not in VERSIONS:
        raise InputError(f"version={params['version']!r} is not a PostgreSQL major version that flexible server "
                         f"offers: use one of {', '.join(VERSIONS)}.")
    sku = params.get("sku")
    if sku and not sku["name"].startswith(SKU_PREFIX[sku["tier"]]):
        raise InputError(f"sku.name={sku['name']!r} does not belong to sku.tier={sku['tier']!r}: {sku['tier']} "
                         f"sizes start with {SKU_PREFIX[sku['tier']]} (for example {SKU_PREFIX[sku['tier']]}"
                         f"{'2s' if sku['tier'] == 'Burstable' else '2ds_v5'}).")
    storage = params.get("storage") or {}
    if storage.get("size_gb") is not None and storage["size_gb"] not in STORAGE_SIZES:
        raise InputError(f"storage.size_gb={storage['size_gb']} is not a size Azure offers: use one of "
                         f"{', '.join(str(s) for s in STORAGE_SIZES)}.")
    backup = params.get("backup") or {}
    if backup.get("retention_days") is not None and not 7 <= backup["retention_days"] <= 35:
        raise InputError(f"backup.retention_days={backup['retention_days']} is out of range: Azure keeps backups "
                         "7 to 35 days.")
    _validate_ha(params)
    _validate_admin(params)
    _validate_window(params.get("maintenance_window"))
    _validate_network(params)
    check_tags(params.get("tags"))
    for name in params.get("extensions") or []:
        if not EXTENSION.match(name):
            raise InputError(f"extensions holds {name!r}, which is not an extension name (lowercase letters, digits, "
                             "underscores and hyphens, as in 'pg_trgm' or 'uuid-ossp').")
    for name in params.get("parameters") or {}:
        if not PARAMETER.match(name) or name == "azure.extensions":
            raise InputError(f"parameters holds {name!r}: give server parameter names in lowercase (for example "
                             "'max_connections'), and the extension allow-list through the extensions option.")


def _validate_ha(params):
    ha = params.get("high_availability") or {}
    sku = params.get("sku") or {}
    if ha.get("mode") in ("ZoneRedundant", "SameZone") and sku.get("tier") == "Burstable":
        raise InputError(f"high_availability.mode={ha['mode']!r} is not offered on the Burstable tier: choose "
                         "sku.tier GeneralPurpose or MemoryOptimized, or mode Disabled.")
    standby = ha.get("standby_availability_zone")
    if standby and ha.get("mode") == "ZoneRedundant" and standby == params.get("availability_zone"):
        raise InputError(f"high_availability.standby_availability_zone={standby!r} equals availability_zone: a "
                         "zone-redundant standby must be in another zone.")
    for option, zone in (("availability_zone", params.get("availability_zone")),
                         ("high_availability.standby_availability_zone", standby)):
        if zone and zone not in ("1", "2", "3"):
            raise InputError(f"{option}={zone!r} is not an availability zone: use '1', '2' or '3'.")


def _validate_admin(params):
    login = params.get("administrator_login")
    if login and (not LOGIN.match(login) or login.lower() in RESERVED_LOGINS or login.lower().startswith("pg_")):
        raise InputError(f"administrator_login={login!r} is not allowed: use 1-63 letters, digits and underscores, "
                         f"not starting with pg_ and not one of {', '.join(RESERVED_LOGINS)}.")
    password = params.get("administrator_login_password")
    if password is not None:
        classes = sum(bool(re.search(p, password)) for p in (r"[A-Z]", r"[a-z]", r"[0-9]", r"[^A-Za-z0-9]"))
        if not 8 <= len(password) <= 128 or classes < 3 or (login and login.lower() in password.lower()):
            raise InputError("administrator_login_password breaks Azure's rules: 8-128 characters from three of "
                             "upper case, lower case, digits and symbols, without the login name. (The value is not "
                             "shown.)")


def _validate_window(window):
    if not window:
        return
    for option, low, high in (("day_of_week", 0, 6), ("start_hour", 0, 23), ("start_minute", 0, 59)):
        value = window.get(option)
        if value is not None and not low <= value <= high:
            raise InputError(f"maintenance_window.{option}={value} is out of range {low}-{high}"
                             f"{' (0 is Sunday)' if option == 'day_of_week' else ''}.")


def _validate_network(params):
    net = params.get("network") or {}
    private = bool(net.get("delegated_subnet_id"))
    if private and net.get("public_access"):
        raise InputError("network.public_access=true cannot be combined with network.delegated_subnet_id: a "
                         "server in a VNet (private access) has no public endpoint.")
    rules = params.get("firewall_rules") or []
    if private and rules:
        raise InputError("firewall_rules do not apply to a server with private access (network.delegated_subnet_id); "
                         "control access with the VNet's network security groups instead.")
    names = set()
    for rule in rules:
        if not RULE_NAME.match(rule["name"]) or rule["name"] in names:
            raise InputError(f"firewall_rules name {rule['name']!r} is invalid or repeated: use 1-128 letters, "
                             "digits, hyphens and underscores, each name once.")
        names.add(rule["name"])
        try:
            start, end = ipaddress.IPv4Address(rule["start_ip"]), ipaddress.IPv4Address(rule["end_ip"])
        except ValueError:
            raise InputError(f"firewall_rules[{rule['name']}]: {rule['start_ip']!r}-{rule['end_ip']!r} is not a "
                             "range of IPv4 addresses.") from None
        if start > end:
            raise InputError(f"firewall_rules[{rule['name']}]: start_ip {start} is after end_ip {end}.")


# ------------------------------------------------------------------- rendering
def predict(params, current):
    """The server as it should be, in ARM's JSON, from the current one (None when it does not exist)."""
    body = copy.deepcopy(current) if current else {"location": params.get("location"), "properties": {
        "createMode": "Create"}}
    for option, path, _mutable in SERVER_FIELDS:
        value = _option(params, option)
        if value is not None:
            put_path(body, path, value)
    if params.get("maintenance_window"):
        put_path(body, ("properties", "maintenanceWindow", "customWindow"), "Enabled")
    body["tags"] = merged_tags(body.get("tags"), params.get("tags"), params["purge_tags"])
    return body


def server_changes(current, predicted):
    """The ARM paths that differ; refuses a change Azure only allows at create, or a shrink/downgrade."""
    changed = []
    for option, path, mutable in SERVER_FIELDS:
        before, after = dig(current, path), dig(predicted, path)
        if before == after or after is None:
            continue
        name = ".".join(option)
        if not mutable and before is not None:
            raise InputError(f"{name} can only be set when the server is created (it is {before!r}, you asked for "
                             f"{after!r}). Keep it, or create a new server and restore into it.")
        if option == ("storage", "size_gb") and before and after < before:
            raise InputError(f"storage.size_gb={after} is smaller than the server's {before} GB: Azure storage can "
                             "grow but never shrink. Keep the size, or raise it.")
        if option == ("version",) and before and int(after) < int(before):
            raise InputError(f"version={after!r} is older than the server's {before!r}: PostgreSQL cannot be "
                             "downgraded in place. Restore into a new server instead.")
        changed.append(path)
    if (current.get("tags") or {}) != predicted.get("tags"):
        changed.append(("tags",))
    return changed


def patch_body(predicted, paths):
    """A ServerForPatch body holding only the changed fields (whole sub-objects, as ARM merges them)."""
    body = {}
    for path in paths:
        top = path[:2] if path[0] == "properties" else path[:1]
        put_path(body, top, copy.deepcopy(dig(predicted, top)))
    return body


def server_view(body, rules=None, settings=None):
    if body is None:
        return None
    view = {}
    for option, path, _mutable in SERVER_FIELDS:
        value = dig(body, path)
        if value is not None:
            if len(option) == 2:
                view.setdefault(option[0], {})[option[1]] = value
            else:
                view[option[0]] = value
    view["tags"] = body.get("tags") or {}
    if rules is not None:
        view["firewall_rules"] = rules
    if settings is not None:
        view["parameters"] = settings
    return view


def rule_plan(params, live):
    """(verb, name, start, end) for firewall rules: live is {name: (start, end)}."""
    if params.get("firewall_rules") is None:
        return []
    ops = []
    wanted = {r["name"]: (r["start_ip"], r["end_ip"]) for r in params["firewall_rules"]}
    for name, (start, end) in wanted.items():
        if live.get(name) != (start, end):
            ops.append(("put", name, start, end))
    if params["purge_firewall_rules"]:
        ops.extend(("delete", name, None, None) for name in live if name not in wanted)
    return ops


def desired_settings(params):
    settings = {name: str(value) for name, value in (params.get("parameters") or {}).items()}
    settings["azure.extensions"] = ",".join(extensions(params))
    return settings


def _same_setting(name, wanted, live):
    if live is None:
        return False
    if name == "azure.extensions":
        return sorted(v.strip().lower() for v in live.split(",") if v.strip()) == \
            sorted(v.lower() for v in wanted.split(","))
    return str(live).strip().lower() == wanted.strip().lower()


# -------------------------------------------------------------------- runner
class ServerRunner:
    """Reads the server, its firewall rules and parameters; writes only what differs."""

    def __init__(self, session, params, check_mode):
        self.params = params
        self.check_mode = check_mode
        self.client = session.postgres()
        self.group, self.name = params["resource_group"], params["name"]
        self.rid = resource_id(session.subscription_id, self.group, PROVIDER, "flexibleServers", self.name)
        self.actions = []
        self.pending = []

    def get(self):
        return fetch(lambda: self.client.servers.get(self.group, self.name), self.rid)

    def run(self):
        current = self.get()
        if self.params["state"] == "absent":
            if current is None:
                return {"changed": False, "facts": None, "diff": {"before": None, "after": None}}
            self.actions.append("delete server")
            if not self.check_mode:
                begin(lambda: self.client.servers.begin_delete(self.group, self.name), "DELETE", self.rid) \
                    .finish(self.params["wait"], self.params["wait_timeout"])
            return {"changed": True, "facts": None, "diff": {"before": server_view(current), "after": None}}
        return self.present(current)

    def present(self, current):
        wait, timeout = self.params["wait"], self.params["wait_timeout"]
        predicted = predict(self.params, current)
        paths = []
        if current is None:
            for option in ("location", "administrator_login", "administrator_login_password", "version", "sku"):
                if not self.params.get(option):
                    raise InputError(f"{option} is required to create the server {self.name}.")
            self.actions.append("create server")
            live_rules, live_settings = {}, {}
        else:
            paths = server_changes(current, predicted)
            if self.params.get("administrator_login_password") and self.params["update_password"] == "always":
                paths.append(("properties", "administratorLoginPassword"))
            self.actions.extend(f"set {'.'.join(p[1:] if p[0] == 'properties' else p)}" for p in paths)
            live_rules = self._rules()
            live_settings = self._settings()
        rules = rule_plan(self.params, live_rules)
        wanted = desired_settings(self.params)
        settings = [(n, v) for n, v in wanted.items() if not _same_setting(n, v, live_settings.get(n))]
        self.actions.extend(f"{'delete' if op[0] == 'delete' else 'set'} firewall rule {op[1]}" for op in rules)
        self.actions.extend(f"set parameter {name}" for name, _value in settings)
        after_rules = {n: list(v) for n, v in live_rules.items()}
        for verb, name, start, end in rules:
            if verb == "delete":
                after_rules.pop(name)
            else:
                after_rules[name] = [start, end]
        before_settings = {n: live_settings.get(n) for n in wanted}
        diff = {"before": server_view(current, {n: list(v) for n, v in live_rules.items()}, before_settings)
                if current else None, "after": server_view(predicted, after_rules, wanted)}
        if self.check_mode or not self.actions:
            return {"changed": bool(self.actions), "facts": facts(current, live_rules, before_settings),
                    "diff": diff}
        ops = self._writes(current, predicted, paths, rules, settings)
        for index, (call, what, rid) in enumerate(ops):
            operation = begin(call, what, rid)
            if not wait:
                self.pending = [o[1] + " " + o[2] for o in ops[index + 1:]]
                break
            operation.finish(True, timeout)
        current = self.get()
        rules_after = self._rules() if current else {}
        settings_after = self._settings(list(wanted)) if current else {}
        return {"changed": True, "facts": facts(current, rules_after, settings_after), "diff": diff}

    def _writes(self, current, predicted, paths, rules, settings):
        servers, fw, conf = self.client.servers, self.client.firewall_rules, self.client.configurations
        ops = []
        if current is None:
            body = copy.deepcopy(predicted)
            body["properties"]["administratorLoginPassword"] = self.params["administrator_login_password"]
            ops.append((lambda b=body: servers.begin_create_or_update(self.group, self.name, b), "PUT", self.rid))
        elif paths:
            body = patch_body(predicted, [p for p in paths if p[-1] != "administratorLoginPassword"])
            if ("properties", "administratorLoginPassword") in paths:
                body.setdefault("properties", {})["administratorLoginPassword"] = \
                    self.params["administrator_login_password"]
            ops.append((lambda b=body: servers.begin_update(self.group, self.name, b), "PATCH", self.rid))
        for verb, name, start, end in rules:
            rid = f"{self.rid}/firewallRules/{name}"
            if verb == "delete":
                ops.append((lambda n=name: fw.begin_delete(self.group, self.name, n), "DELETE", rid))
            else:
                rule = {"properties": {"startIpAddress": start, "endIpAddress": end}}
                ops.append((lambda n=name, r=rule: fw.begin_create_or_update(self.group, self.name, n, r), "PUT", rid))
        for name, value in settings:
            setting = {"properties": {"value": value, "source": "user-override"}}
            ops.append((lambda n=name, b=setting: conf.begin_put(self.group, self.name, n, b), "PUT",
                        f"{self.rid}/configurations/{name}"))
        return ops

    def _rules(self):
        with arm_errors("LIST", f"{self.rid}/firewallRules"):
            return {r.name: (r.properties.start_ip_address, r.properties.end_ip_address)
                    for r in self.client.firewall_rules.list_by_server(self.group, self.name)}

    def _settings(self, names=None):
        names = names or list(desired_settings(self.params))
        with arm_errors("LIST", f"{self.rid}/configurations"):
            return {c.name: c.properties.value for c in self.client.configurations.list_by_server(self.group, self.name)
                    if c.name in names}


def facts(body, rules, settings):
    if body is None:
        return None
    props = body.get("properties") or {}
    return {
        "id": body.get("id"), "name": body.get("name"), "location": body.get("location"),
        "fqdn": props.get("fullyQualifiedDomainName"), "state": props.get("state"),
        "version": props.get("version"), "sku": body.get("sku"),
        "administrator_login": props.get("administratorLogin"),
        "storage": props.get("storage"), "backup": props.get("backup"),
        "high_availability": props.get("highAvailability"), "network": props.get("network"),
        "availability_zone": props.get("availabilityZone"), "maintenance_window": props.get("maintenanceWindow"),
        "tags": body.get("tags") or {},
        "firewall_rules": {n: {"start_ip": s, "end_ip": e} for n, (s, e) in rules.items()},
        "parameters": settings,
        "extensions": [e for e in (settings.get("azure.extensions") or "").split(",") if e],
    }
