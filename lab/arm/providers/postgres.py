"""Microsoft.DBforPostgreSQL: flexible servers, their databases, firewall rules and configurations.

Every write answers 202 with `Azure-AsyncOperation` (`.../locations/<loc>/azureAsyncOperation/<id>`) and
`Location` (`.../operationResults/<id>`), as the service does and as azure-mgmt-postgresqlflexibleservers
expects. A server's `properties.state` moves Provisioning/Updating/Dropping -> Ready.

Lab side: a server's FQDN is `<name>.<suffix>` (`postgres.localhost` on the lab, which libnss-myhostname
resolves to 127.0.0.1), and its administrator is a login role in the lab's one platform PostgreSQL (see
`arm/labsync.py`). Several emulated servers therefore share one PostgreSQL; a login used by two servers is
one role, whose password is the last one set. Databases and firewall rules are recorded in the store only:
nothing is created in PostgreSQL, and the firewall is not enforced. Configurations are a fixed catalogue
per server (`catalogue.py`); they can be read and set, not created or deleted, and are recorded only.
The administrator password is write-only: it is never stored and never returned.
"""

import copy
import ipaddress
import re

from arm import labsync
from arm.errors import ArmError, bad_request
from arm.providers.catalogue import CONFIGURATIONS, check_value
from arm.resources import Kind, check_body, merge_patch

PROVIDER = "Microsoft.DBforPostgreSQL"
VERSIONS = ("13", "14", "15", "16", "17")
MINOR = {"13": "22", "14": "19", "15": "14", "16": "10", "17": "6"}
STORAGE_SIZES = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767)
STORAGE_TIER = {32: "P4", 64: "P6", 128: "P10", 256: "P15", 512: "P20", 1024: "P30", 2048: "P40", 4096: "P50",
                8192: "P60", 16384: "P70", 32767: "P80"}
SKU_NAMES = {
    "Burstable": re.compile(r"^Standard_B(1ms|2s|2ms|4ms|8ms|12ms|16ms|20ms)$"),
    "GeneralPurpose": re.compile(r"^Standard_D(2|4|8|16|32|48|64|96)(a?ds_v[45]|s_v3)$"),
    "MemoryOptimized": re.compile(r"^Standard_E(2|4|8|16|20|32|48|64|96)(a?ds_v[45]|s_v3)$"),
}
SKU_EXAMPLES = {"Burstable": "Standard_B1ms", "GeneralPurpose": "Standard_D2ds_v5",
                "MemoryOptimized": "Standard_E2ds_v5"}
RESERVED_LOGINS = ("azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public")
SERVER_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
LOGIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
SYSTEM_DATABASES = ("azure_maintenance", "azure_sys", "postgres")
STATES = {"create": "Provisioning", "update": "Updating", "delete": "Dropping", "done": "Ready",
          "failed": "Disabled"}


def invalid(field, value, hint):
    return bad_request("InvalidParameterValue", f"Invalid value given for parameter {field}: {value!r}. {hint}",
                       target=field)


def check_password(password, login):
    """Azure's complexity rules; the message never includes the password."""
    if not isinstance(password, str) or not 8 <= len(password) <= 128:
        raise bad_request("PasswordNotComplex", "The administrator password must be 8 to 128 characters long.",
                          target="properties.administratorLoginPassword")
    classes = [any(c.isupper() for c in password), any(c.islower() for c in password),
               any(c.isdigit() for c in password), any(not c.isalnum() for c in password)]
    if sum(classes) < 3:
        raise bad_request("PasswordNotComplex", "The administrator password must contain characters from three "
                          "of these categories: uppercase letters, lowercase letters, digits (0-9), and "
                          "non-alphanumeric characters (!, $, #, %, and so on).",
                          target="properties.administratorLoginPassword")
    if login and login.lower() in password.lower():
        raise bad_request("PasswordNotComplex", "The administrator password must not contain the login name "
                          f"'{login}'.", target="properties.administratorLoginPassword")


def check_login(login):
    if not login:
        raise invalid("properties.administratorLogin", login, "administratorLogin is required when a server is "
                      "created.")
    if not LOGIN.match(login) or login.lower() in RESERVED_LOGINS or login.lower().startswith("pg_"):
        raise bad_request("InvalidAdministratorLogin",
                          f"The administrator login '{login}' is not allowed: it must be 1-63 letters, digits and "
                          "underscores, not start with a digit or 'pg_', and not be one of "
                          f"{', '.join(RESERVED_LOGINS)}.", target="properties.administratorLogin")


def check_server(props, sku, old, old_sku):
    """The documented rules for a server's properties and SKU. `old` is {} on create."""
    version = props.get("version")
    if version not in VERSIONS:
        raise invalid("properties.version", version, f"Supported versions are {', '.join(VERSIONS)}.")
    if old.get("version") and int(version) < int(old["version"]):
        raise bad_request("ServerVersionDowngradeNotSupported", f"The server runs PostgreSQL {old['version']}; "
                          f"changing properties.version to {version} would be a downgrade, which is not supported.",
                          target="properties.version")
    tier, name = sku.get("tier"), sku.get("name")
    if tier not in SKU_NAMES:
        raise invalid("sku.tier", tier, "Use Burstable, GeneralPurpose or MemoryOptimized.")
    if not SKU_NAMES[tier].match(name or ""):
        raise invalid("sku.name", name, f"It is not a {tier} compute size (for example {SKU_EXAMPLES[tier]}).")
    size = (props.get("storage") or {}).get("storageSizeGB")
    if size not in STORAGE_SIZES:
        raise invalid("properties.storage.storageSizeGB", size,
                      f"Specify one of {', '.join(map(str, STORAGE_SIZES))}.")
    old_size = (old.get("storage") or {}).get("storageSizeGB")
    if old_size and size < old_size:
        raise bad_request("StorageSizeDecreaseNotSupported", f"Storage size cannot be decreased: the server has "
                          f"{old_size} GB and the request asks for {size} GB.",
                          target="properties.storage.storageSizeGB")
    backup = props.get("backup") or {}
    days = backup.get("backupRetentionDays")
    if not isinstance(days, int) or not 7 <= days <= 35:
        raise invalid("properties.backup.backupRetentionDays", days, "Specify a value between 7 and 35.")
    if old and backup.get("geoRedundantBackup") != (old.get("backup") or {}).get("geoRedundantBackup"):
        raise bad_request("GeoRedundantBackupChangeNotSupported",
                          "Geo-redundant backup can only be chosen when the server is created: the server has "
                          f"'{old['backup'].get('geoRedundantBackup')}', the request asks for "
                          f"'{backup.get('geoRedundantBackup')}'.", target="properties.backup.geoRedundantBackup")
    for field in ("delegatedSubnetResourceId", "privateDnsZoneArmResourceId"):
        new, was = (props.get("network") or {}).get(field), (old.get("network") or {}).get(field)
        if old and (new or None) != (was or None):
            raise bad_request("NetworkChangeNotSupported", f"properties.network.{field} can only be set when the "
                              f"server is created (it is {was!r}, the request asks for {new!r}).",
                              target=f"properties.network.{field}")
    zone = props.get("availabilityZone")
    if zone not in (None, "", "1", "2", "3"):
        raise invalid("properties.availabilityZone", zone, "Specify 1, 2 or 3.")
    ha = props.get("highAvailability") or {}
    mode = ha.get("mode") or "Disabled"
    if mode not in ("Disabled", "ZoneRedundant", "SameZone"):
        raise invalid("properties.highAvailability.mode", mode, "Specify Disabled, ZoneRedundant or SameZone.")
    if mode != "Disabled" and tier == "Burstable":
        raise bad_request("HANotSupportedForBurstableSkus", f"High availability ({mode}) is not supported for the "
                          f"Burstable tier ({name}); choose GeneralPurpose or MemoryOptimized.",
                          target="properties.highAvailability.mode")
    standby = ha.get("standbyAvailabilityZone")
    if mode == "ZoneRedundant" and standby and zone and standby == zone:
        raise bad_request("InvalidStandbyAvailabilityZone", f"The standby availability zone ({standby}) must differ "
                          f"from the primary availability zone ({zone}) for zone-redundant high availability.",
                          target="properties.highAvailability.standbyAvailabilityZone")


def server_defaults(props, emu, name):
    """Fill what Azure fills when a property is left out, and the read-only properties."""
    suffix = emu.config.get("postgres", {}).get("suffix", "postgres.localhost")
    props.setdefault("version", "17")
    props["minorVersion"] = MINOR.get(props["version"], "0")
    storage = props.setdefault("storage", {})
    storage.setdefault("storageSizeGB", 128)
    storage.setdefault("autoGrow", "Disabled")
    storage.setdefault("type", "Premium_LRS")
    storage["tier"] = STORAGE_TIER.get(storage["storageSizeGB"], "P10")
    storage["iops"] = {"P4": 120, "P6": 240, "P10": 500, "P15": 1100, "P20": 2300}.get(storage["tier"], 5000)
    backup = props.setdefault("backup", {})
    backup.setdefault("backupRetentionDays", 7)
    backup.setdefault("geoRedundantBackup", "Disabled")
    network = props.setdefault("network", {})
    network.setdefault("publicNetworkAccess", "Disabled" if network.get("delegatedSubnetResourceId") else "Enabled")
    ha = props.setdefault("highAvailability", {})
    ha.setdefault("mode", "Disabled")
    ha["state"] = "NotEnabled" if ha["mode"] == "Disabled" else "Healthy"
    props.setdefault("availabilityZone", "1")
    props.setdefault("authConfig", {"activeDirectoryAuth": "Disabled", "passwordAuth": "Enabled"})
    props.setdefault("dataEncryption", {"type": "SystemManaged"})
    props.setdefault("maintenanceWindow", {"customWindow": "Disabled", "dayOfWeek": 0, "startHour": 0,
                                           "startMinute": 0})
    props.update({"replicationRole": "Primary", "replicaCapacity": 5,
                  "replica": {"role": "Primary", "capacity": 5},
                  "fullyQualifiedDomainName": f"{name}.{suffix}"})
    props.pop("administratorLoginPassword", None)
    props.pop("createMode", None)
    return props


class FlexibleServers(Kind):
    provider = PROVIDER
    segments = ("flexibleServers",)
    type_name = "Microsoft.DBforPostgreSQL/flexibleServers"
    state_field = "state"
    states = STATES
    status_segment, result_segment = "azureAsyncOperation", "operationResults"
    put_create_status = put_update_status = patch_status = 202

    def build(self, req, ids, current, body):
        from azure.mgmt.postgresqlflexibleservers.models import Server  # pylint: disable=import-outside-toplevel

        check_body(Server, body)
        return self.apply(req, ids, current, body, patch=False)

    def patch(self, req, ids, current, body):
        from azure.mgmt.postgresqlflexibleservers.models import (  # pylint: disable=import-outside-toplevel
            ServerForPatch)

        check_body(ServerForPatch, body, require=False)
        return self.apply(req, ids, current, body, patch=True)

    def apply(self, req, ids, current, body, patch):
        if current is None and not SERVER_NAME.match(ids.name):
            raise bad_request("InvalidResourceName", f"The server name '{ids.name}' is invalid: it must be 3-63 "
                              "lowercase letters, digits and hyphens, and not start or end with a hyphen.",
                              target="name")
        if len(body.get("tags") or {}) > 50:
            raise bad_request("InvalidTag", f"A resource can have at most 50 tags; the request has "
                              f"{len(body['tags'])}.", target="tags")
        requested = dict(body.get("properties") or {})
        password = requested.pop("administratorLoginPassword", None)
        old = copy.deepcopy((current or {}).get("properties", {}))
        old_login = old.get("administratorLogin")
        if current is None:
            check_login(requested.get("administratorLogin"))
            props = copy.deepcopy(requested)
            sku = dict(body.get("sku") or {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"})
        else:
            login = requested.get("administratorLogin")
            if login and login != old_login:
                raise bad_request("AdministratorLoginChangeNotSupported", f"The administrator login of a server "
                                  f"cannot be changed (it is '{old_login}', the request asks for '{login}').",
                                  target="properties.administratorLogin")
            props = merge_patch(old, requested)
            sku = merge_patch((current or {}).get("sku") or {}, body.get("sku") or {})
        password_auth = (props.get("authConfig") or {}).get("passwordAuth", "Enabled") == "Enabled"
        if password is not None:
            check_password(password, props.get("administratorLogin"))
        elif current is None and password_auth:
            raise bad_request("PasswordNotComplex", "administratorLoginPassword is required when a server with "
                              "password authentication is created.", target="properties.administratorLoginPassword")
        server_defaults(props, req.emu, current["name"] if current else ids.name)
        check_server(props, sku, old, (current or {}).get("sku") or {})
        req.transient["password"] = password
        resource = {"id": ids.id, "name": current["name"] if current else ids.name, "type": self.type_name,
                    "location": current["location"] if current else body["location"].lower().replace(" ", ""),
                    "tags": body["tags"] if body.get("tags") is not None else (current or {}).get("tags", {}),
                    "sku": sku, "properties": props}
        if body.get("identity") or (current or {}).get("identity"):
            resource["identity"] = body.get("identity") or current["identity"]
        if current is None:
            self.seed_children(req.emu, ids.id)
        return resource

    @staticmethod
    def seed_children(emu, server_id):
        """A new server has Azure's system databases and the full configuration catalogue."""
        for name in SYSTEM_DATABASES:
            emu.store.put(f"{server_id}/databases/{name}", {
                "id": f"{server_id}/databases/{name}", "name": name, "type": DATABASES.type_name,
                "properties": {"charset": "UTF8", "collation": "en_US.utf8"}})
        for name, entry in CONFIGURATIONS.items():
            emu.store.put(f"{server_id}/configurations/{name}", {
                "id": f"{server_id}/configurations/{name}", "name": name, "type": CONFIGS.type_name,
                "properties": dict(entry, value=entry["defaultValue"], source="system-default",
                                   isConfigPendingRestart=False)})

    def completed(self, emu, resource, previous, transient):
        password = transient.get("password")
        if previous is None or password is not None:
            labsync.ensure_admin_role(emu.config["postgres"], resource["properties"]["administratorLogin"],
                                      password)


def delete_server_hook(emu, server):
    login = server["properties"].get("administratorLogin")
    others = [r for r in list(emu.store.resources.values())
              if r.get("type", "").lower() == FlexibleServers.type_name.lower() and r["id"].lower() !=
              server["id"].lower() and r["properties"].get("administratorLogin") == login]
    if login and not others:
        labsync.drop_admin_role(emu.config["postgres"], login)


class ServerChild(Kind):
    """A child of a flexible server: no state of its own, asynchronous writes answered with 202."""

    provider = PROVIDER
    state_field = None
    status_segment, result_segment = "azureAsyncOperation", "operationResults"
    put_create_status = put_update_status = 202
    patchable = False


class Databases(ServerChild):
    segments = ("flexibleServers", "databases")
    type_name = "Microsoft.DBforPostgreSQL/flexibleServers/databases"

    def build(self, req, ids, current, body):
        from azure.mgmt.postgresqlflexibleservers.models import Database  # pylint: disable=import-outside-toplevel

        check_body(Database, body)
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$", ids.name) or ids.name.lower().startswith("pg_"):
            raise bad_request("InvalidDatabaseName", f"The database name '{ids.name}' is invalid: 1-63 letters, "
                              "digits, '_', '$' and '-', not starting with a digit or 'pg_'.", target="name")
        props = body.get("properties") or {}
        return {"id": ids.id, "name": ids.name, "type": self.type_name,
                "properties": {"charset": props.get("charset") or "UTF8",
                               "collation": props.get("collation") or "en_US.utf8"}}


class FirewallRules(ServerChild):
    segments = ("flexibleServers", "firewallRules")
    type_name = "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules"

    def build(self, req, ids, current, body):
        from azure.mgmt.postgresqlflexibleservers.models import FirewallRule  # pylint: disable=import-outside-toplevel

        check_body(FirewallRule, body)
        if not re.match(r"^[-\w.]{1,128}$", ids.name):
            raise bad_request("InvalidFirewallRuleName", f"The firewall rule name '{ids.name}' is invalid: 1-128 "
                              "letters, digits, '-', '_' and '.'.", target="name")
        server = req.emu.store.get(ids.top_id)
        if (server["properties"].get("network") or {}).get("delegatedSubnetResourceId"):
            raise bad_request("FirewallRuleNotSupportedOnPrivateAccess", "Firewall rules apply to servers with "
                              "public access; this server is in a virtual network.", target="name")
        props = body.get("properties") or {}
        addresses = []
        for field in ("startIpAddress", "endIpAddress"):
            try:
                addresses.append(ipaddress.IPv4Address(props.get(field) or ""))
            except ValueError:
                raise bad_request("FirewallRuleNotIPv4Address", f"The {field} '{props.get(field)}' is not a valid "
                                  "IPv4 address.", target=f"properties.{field}") from None
        if addresses[0] > addresses[1]:
            raise bad_request("FirewallRuleStartIpAddressGreaterThanEndIpAddress",
                              f"The start IP address {addresses[0]} is greater than the end IP address "
                              f"{addresses[1]}.", target="properties.startIpAddress")
        return {"id": ids.id, "name": ids.name, "type": self.type_name,
                "properties": {"startIpAddress": str(addresses[0]), "endIpAddress": str(addresses[1])}}


class Configurations(Kind):
    provider = PROVIDER
    segments = ("flexibleServers", "configurations")
    type_name = "Microsoft.DBforPostgreSQL/flexibleServers/configurations"
    state_field = None
    status_segment, result_segment = "azureAsyncOperation", "operationResults"
    put_create_status = put_update_status = patch_status = 202
    creatable = deletable = False

    def dispatch(self, req):
        if req.method in ("GET", "PUT", "PATCH"):
            ids = self.resolve(req)
            if req.emu.store.get(ids.id) is None:
                raise ArmError(404, "ConfigurationNotExists", f"The configuration '{ids.name}' does not exist for "
                               f"server '{ids.names[0]}'.", target="name")
        return super().dispatch(req)

    def build(self, req, ids, current, body):
        from azure.mgmt.postgresqlflexibleservers.models import Configuration  # pylint: disable=import-outside-toplevel

        check_body(Configuration, body)
        return self.apply(current, body)

    def patch(self, req, ids, current, body):
        from azure.mgmt.postgresqlflexibleservers.models import (  # pylint: disable=import-outside-toplevel
            ConfigurationForUpdate)

        check_body(ConfigurationForUpdate, body, require=False)
        return self.apply(current, body)

    @staticmethod
    def apply(current, body):
        props = body.get("properties") or {}
        entry = copy.deepcopy(current)
        conf = entry["properties"]
        if conf.get("isReadOnly"):
            raise bad_request("ConfigurationReadOnly", f"The configuration '{current['name']}' is read-only.")
        source = props.get("source") or "user-override"
        value = props.get("value")
        if source == "system-default" and value in (None, conf["defaultValue"]):
            value = conf["defaultValue"]
        elif value is None:
            raise bad_request("InvalidParameterValue", f"A value is required to set configuration "
                              f"'{current['name']}'.", target="properties.value")
        else:
            value = check_value(current["name"], conf, value)
        changed = value != conf.get("value")
        conf["value"], conf["source"] = value, source
        if changed and not conf.get("isDynamicConfig"):
            conf["isConfigPendingRestart"] = True
        return entry


SERVERS = FlexibleServers()
DATABASES = Databases()
FIREWALL_RULES = FirewallRules()
CONFIGS = Configurations()
DELETE_HOOKS = {SERVERS.type_name.lower(): delete_server_hook}


def routes():
    return SERVERS.routes() + DATABASES.routes() + FIREWALL_RULES.routes() + CONFIGS.routes()
