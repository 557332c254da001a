"""The ARM emulator's PostgreSQL flexible servers, driven by azure-mgmt-postgresqlflexibleservers: the
ARM protocol, Azure's rules, and a server whose FQDN and admin login lead to the lab's platform PostgreSQL."""

import json
import os
import socket

import psycopg
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

from integration.lab.armclients import client, inject_fault, lab_call, requests_for, unique

PASSWORD = "Lab-Adm1n-pass"


@pytest.fixture(scope="module")
def pg(lab):
    return client(PostgreSQLManagementClient, lab["arm"])


@pytest.fixture
def rg(resource_group):
    return resource_group


def _body(login, **props):
    return {"location": "westeurope", "sku": {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"},
            "properties": dict({"administratorLogin": login, "administratorLoginPassword": PASSWORD,
                                "version": "16", "storage": {"storageSizeGB": 64},
                                "backup": {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"}}, **props)}


def _superuser(lab):
    platform = lab["postgres"]["platform"]
    return psycopg.connect(host=platform["host"], port=platform["port"], user="postgres",
                           password=platform["password"], dbname="postgres", autocommit=True)


def _refused(call, code, *fragments):
    with pytest.raises(HttpResponseError) as caught:
        call()
    assert caught.value.status_code == 400 and caught.value.error.code == code, caught.value.message
    for fragment in fragments:
        assert fragment in caught.value.error.message
    return caught.value


def test_a_server_leads_to_the_lab_postgresql_with_an_azure_like_admin(pg, rg, lab):
    login = f"adm_{unique('x')[2:]}"
    server = pg.servers.begin_create_or_update(rg, "pg-one", _body(login)).result()
    assert server.state == "Ready" and server.version == "16"
    assert server.fully_qualified_domain_name == "pg-one.postgres.localhost"
    assert server.administrator_login == login
    assert "administratorLoginPassword" not in json.dumps(server.as_dict())
    assert socket.getaddrinfo(server.fully_qualified_domain_name, None)[0][4][0] in ("127.0.0.1", "::1")
    with psycopg.connect(host=server.fully_qualified_domain_name, port=lab["postgres"]["platform"]["port"],
                         user=login, password=PASSWORD, dbname="postgres") as conn:
        role = conn.execute("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
                            ).fetchone()
        assert role == (False, True, True)
        member_of = {r[0] for r in conn.execute(
            "SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = current_user")}
        assert {"pg_signal_backend", "pg_read_all_settings", "pg_read_all_stats", "azure_pg_admin"} <= member_of
    # The password is write-only: neither returned nor stored.
    with open(os.path.join(lab["state_dir"], "arm", "resources.json"),
              encoding="utf-8") as handle:
        assert PASSWORD not in handle.read()
    status, body = lab_call(lab["arm"], "GET", "/metadata/endpoints?api-version=2022-09-01")[0::2]
    assert status == 200 and body["suffixes"]["postgresqlServerEndpoint"] == "postgres.localhost"
    # A new password reaches the role.
    pg.servers.begin_update(rg, "pg-one", {"properties": {"administratorLoginPassword": "An0ther-Secret"}}).result()
    psycopg.connect(host="pg-one.postgres.localhost", port=lab["postgres"]["platform"]["port"], user=login,
                    password="An0ther-Secret", dbname="postgres").close()
    assert [s.name for s in pg.servers.list_by_resource_group(rg)] == ["pg-one"]
    assert server.id in [s.id for s in pg.servers.list_by_subscription()]
    # Deleting the server drops its admin role.
    pg.servers.begin_delete(rg, "pg-one").result()
    with pytest.raises(ResourceNotFoundError):
        pg.servers.get(rg, "pg-one")
    with _superuser(lab) as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,)).fetchone() is None


def test_the_rules_azure_documents_are_enforced(pg, rg):
    login = f"adm_{unique('x')[2:]}"
    pg.servers.begin_create_or_update(rg, "pg-two", _body(login)).result()
    update = pg.servers.begin_update
    _refused(lambda: update(rg, "pg-two", {"properties": {"storage": {"storageSizeGB": 32}}}),
             "StorageSizeDecreaseNotSupported", "64", "32")
    _refused(lambda: update(rg, "pg-two", {"properties": {"storage": {"storageSizeGB": 100}}}),
             "InvalidParameterValue", "storageSizeGB", "100")
    _refused(lambda: update(rg, "pg-two", {"properties": {"backup": {"backupRetentionDays": 36}}}),
             "InvalidParameterValue", "backupRetentionDays", "36")
    _refused(lambda: update(rg, "pg-two", {"properties": {"backup": {"geoRedundantBackup": "Enabled"}}}),
             "GeoRedundantBackupChangeNotSupported")
    _refused(lambda: update(rg, "pg-two", {"properties": {"version": "15"}}), "ServerVersionDowngradeNotSupported")
    _refused(lambda: update(rg, "pg-two", {"sku": {"name": "Standard_B1ms", "tier": "GeneralPurpose"}}),
             "InvalidParameterValue", "Standard_B1ms")
    _refused(lambda: update(rg, "pg-two", {"properties": {"administratorLogin": "someoneelse"}}),
             "AdministratorLoginChangeNotSupported")
    _refused(lambda: update(rg, "pg-two", {"properties": {"network": {
        "delegatedSubnetResourceId": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/"
                                     "virtualNetworks/v/subnets/s"}}}), "NetworkChangeNotSupported")
    grown = update(rg, "pg-two", {"properties": {"storage": {"storageSizeGB": 128},
                                                 "backup": {"backupRetentionDays": 35}}}).result()
    assert grown.storage.storage_size_gb == 128 and grown.backup.backup_retention_days == 35
    create = pg.servers.begin_create_or_update
    _refused(lambda: create(rg, "pg-three", dict(_body(login, highAvailability={"mode": "ZoneRedundant"}),
                                                 sku={"name": "Standard_B2s", "tier": "Burstable"})),
             "HANotSupportedForBurstableSkus")
    _refused(lambda: create(rg, "pg-three", _body(login, availabilityZone="1", highAvailability={
        "mode": "ZoneRedundant", "standbyAvailabilityZone": "1"})), "InvalidStandbyAvailabilityZone")
    _refused(lambda: create(rg, "pg-three", _body("azure_superuser")), "InvalidAdministratorLogin")
    _refused(lambda: create(rg, "pg-three", _body("pg_admin")), "InvalidAdministratorLogin")
    _refused(lambda: create(rg, "pg-three", _body(login, version="12")), "InvalidParameterValue", "12")
    weak = dict(_body(login))
    weak["properties"] = dict(weak["properties"], administratorLoginPassword="alllowercase")
    error = _refused(lambda: create(rg, "pg-three", weak), "PasswordNotComplex")
    assert "alllowercase" not in error.error.message
    with pytest.raises(ResourceNotFoundError):
        pg.servers.get(rg, "pg-three")


def test_configurations_databases_and_firewall_rules(pg, rg, lab):
    login = f"adm_{unique('x')[2:]}"
    pg.servers.begin_create_or_update(rg, "pg-four", _body(login)).result()
    config = pg.configurations.get(rg, "pg-four", "azure.extensions")
    assert config.source == "system-default" and "pg_trgm" in config.allowed_values.split(",")
    pg.configurations.begin_put(rg, "pg-four", "azure.extensions", {"properties": {
        "value": "pg_trgm,unaccent,uuid-ossp", "source": "user-override"}}).result()
    config = pg.configurations.get(rg, "pg-four", "azure.extensions")
    assert config.value == "pg_trgm,unaccent,uuid-ossp" and config.source == "user-override"
    _refused(lambda: pg.configurations.begin_update(rg, "pg-four", "azure.extensions", {"properties": {
        "value": "pg_trgm,not_an_extension"}}).result(), "InvalidParameterValue", "not_an_extension")
    _refused(lambda: pg.configurations.begin_update(rg, "pg-four", "max_connections", {"properties": {
        "value": "10"}}).result(), "InvalidParameterValue", "25-5000")
    with pytest.raises(ResourceNotFoundError) as caught:
        pg.configurations.get(rg, "pg-four", "no_such_parameter")
    assert caught.value.error.code == "ConfigurationNotExists"
    names = {c.name for c in pg.configurations.list_by_server(rg, "pg-four")}
    assert {"azure.extensions", "shared_preload_libraries", "max_connections"} <= names

    rule = pg.firewall_rules.begin_create_or_update(rg, "pg-four", "office", {"properties": {
        "startIpAddress": "10.1.0.0", "endIpAddress": "10.1.0.255"}}).result()
    assert (rule.start_ip_address, rule.end_ip_address) == ("10.1.0.0", "10.1.0.255")
    pg.firewall_rules.begin_create_or_update(rg, "pg-four", "office", {"properties": {
        "startIpAddress": "10.1.0.0", "endIpAddress": "10.1.1.255"}}).result()
    assert pg.firewall_rules.get(rg, "pg-four", "office").end_ip_address == "10.1.1.255"
    assert [r.name for r in pg.firewall_rules.list_by_server(rg, "pg-four")] == ["office"]
    _refused(lambda: pg.firewall_rules.begin_create_or_update(rg, "pg-four", "bad", {"properties": {
        "startIpAddress": "10.0.0.9", "endIpAddress": "10.0.0.1"}}).result(),
        "FirewallRuleStartIpAddressGreaterThanEndIpAddress", "10.0.0.9")
    _refused(lambda: pg.firewall_rules.begin_create_or_update(rg, "pg-four", "bad", {"properties": {
        "startIpAddress": "10.0.0.300", "endIpAddress": "10.0.0.1"}}).result(), "FirewallRuleNotIPv4Address")
    pg.firewall_rules.begin_delete(rg, "pg-four", "office").result()
    with pytest.raises(ResourceNotFoundError):
        pg.firewall_rules.get(rg, "pg-four", "office")

    pg.databases.begin_create(rg, "pg-four", "tenant1", {"properties": {"charset": "UTF8"}}).result()
    assert pg.databases.get(rg, "pg-four", "tenant1").collation == "en_US.utf8"
    assert {"postgres", "tenant1"} <= {d.name for d in pg.databases.list_by_server(rg, "pg-four")}
    pg.databases.begin_delete(rg, "pg-four", "tenant1").result()
    with pytest.raises(ResourceNotFoundError):
        pg.databases.get(rg, "pg-four", "tenant1")
    # A child of a missing server is a 404 too.
    with pytest.raises(ResourceNotFoundError):
        pg.firewall_rules.begin_create_or_update(rg, "pg-none", "office", {"properties": {
            "startIpAddress": "10.1.0.0", "endIpAddress": "10.1.0.1"}})
    # The operations were polled through Azure-AsyncOperation, and every request was recorded.
    recorded = requests_for(lab["arm"], "/azureAsyncOperation/")
    assert recorded and all(r[0] == "GET" and r[2] == 200 for r in recorded)


def test_throttling_and_server_errors_are_retried_by_the_sdk(pg, rg, lab):
    login = f"adm_{unique('x')[2:]}"
    pg.servers.begin_create_or_update(rg, "pg-five", _body(login)).result()
    path = f"/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-five"
    inject_fault(lab["arm"], path, 429, retry_after=1, count=1, method="GET")
    inject_fault(lab["arm"], path, 503, count=1, method="GET")
    assert pg.servers.get(rg, "pg-five").name == "pg-five"
    statuses = [s for m, p, s in requests_for(lab["arm"], path) if m == "GET" and p.endswith("/pg-five")]
    assert statuses[-3:] == [429, 503, 200]
