#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_server
short_description: An Azure Database for PostgreSQL flexible server for Odoo tenants
version_added: 0.1.0
description:
  - Creates, updates or deletes a PostgreSQL flexible server through azure-mgmt-postgresqlflexibleservers.
    It does not use azure-mgmt-rdbms, whose flexible-server API is 2021-06-01.
  - An existing server is changed with one PATCH that holds only the fields that differ. Firewall rules and server
    parameters are read with one list call each, and written one by one, only where they differ.
  - The C(azure.extensions) allow-list always holds C(pg_trgm) and C(unaccent), which Odoo uses.
  - Options that are not set are left as they are on the server. O(tags) are replaced.
  - Fields that Azure only accepts at create are refused with a clear message when a change is asked for. These are
    geo-redundant backup, the private-access network, the availability zone and the admin login. So are a smaller
    storage size and an older version.
  - Databases and tenant roles on the server are the job of M(odoo_saas.platform.pg_database), with the admin login
    this module sets.
author: odoo_saas.platform maintainers (@odoo-saas)
extends_documentation_fragment:
  - odoo_saas.platform.azure
options:
  resource_group:
    description: The resource group of the server. It must exist.
    type: str
    required: true
  name:
    description: The server's name, 3-63 lowercase letters, digits and hyphens. It is also the first label of its FQDN.
    type: str
    required: true
  location:
    description: The Azure region. Required to create the server.
    type: str
  state:
    description: V(present) creates or updates the server; V(absent) deletes it, with its databases.
    type: str
    default: present
    choices: [present, absent]
  version:
    description: The PostgreSQL major version. Required at create. A major upgrade is done in place; a downgrade is refused.
    type: str
  sku:
    description: The compute size. Required at create.
    type: dict
    suboptions:
      name:
        description: The size, for example C(Standard_D2ds_v5). It must belong to O(sku.tier).
        type: str
        required: true
      tier:
        description: The tier.
        type: str
        required: true
        choices: [Burstable, GeneralPurpose, MemoryOptimized]
  storage:
    description: Storage.
    type: dict
    suboptions:
      size_gb:
        description: The size in GB, one of 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384 or 32767. It can grow,
          never shrink.
        type: int
      auto_grow:
        description: Grow storage automatically when it fills up.
        type: bool
  availability_zone:
    description: The primary's zone. Fixed after create.
    type: str
  high_availability:
    description: A standby server. Not offered on the Burstable tier.
    type: dict
    suboptions:
      mode:
        description: V(ZoneRedundant) keeps the standby in another zone.
        type: str
        choices: [Disabled, ZoneRedundant, SameZone]
      standby_availability_zone:
        description: The standby's zone, other than O(availability_zone).
        type: str
  backup:
    description: Backups.
    type: dict
    suboptions:
      retention_days:
        description: Days to keep backups, 7 to 35.
        type: int
      geo_redundant:
        description: Copy backups to the paired region. Can only be set at create.
        type: bool
  maintenance_window:
    description: A custom weekly maintenance window. Without it, Azure picks one.
    type: dict
    suboptions:
      day_of_week:
        description: The day, 0 (Sunday) to 6.
        type: int
        required: true
      start_hour:
        description: The hour, 0 to 23, UTC.
        type: int
        default: 0
      start_minute:
        description: The minute, 0 to 59.
        type: int
        default: 0
  network:
    description: Public access with firewall rules, or private access in a delegated subnet.
    type: dict
    suboptions:
      public_access:
        description: Whether the server has a public endpoint.
        type: bool
      delegated_subnet_id:
        description: The delegated subnet for private access. Can only be set at create.
        type: str
      private_dns_zone_id:
        description: The private DNS zone for private access. Can only be set at create.
        type: str
  firewall_rules:
    description: IPv4 ranges allowed to connect to a server with public access.
    type: list
    elements: dict
    suboptions:
      name:
        description: The rule's name.
        type: str
        required: true
      start_ip:
        description: The first address.
        type: str
        required: true
      end_ip:
        description: The last address.
        type: str
        required: true
  purge_firewall_rules:
    description:
      - Delete firewall rules that O(firewall_rules) does not list. Ignored when O(firewall_rules) is not set.
      - It defaults to true because a forgotten rule is an open door, unlike a node pool, whose deletion is opt-in.
    type: bool
    default: true
  parameters:
    description: Server parameters, by name, for example C(max_connections) or C(idle_in_transaction_session_timeout).
      Parameters not listed are left as they are.
    type: dict
  extensions:
    description: The C(azure.extensions) allow-list. C(pg_trgm) and C(unaccent) are always added. Extensions not listed
      are taken off the list.
    type: list
    elements: str
    default: [pg_trgm, unaccent]
  administrator_login:
    description: The admin login. Required at create; fixed afterwards.
    type: str
  administrator_login_password:
    description: The admin password. Required at create. Never logged or returned.
    type: str
  update_password:
    description: V(always) sets O(administrator_login_password) on every run (the task then always reports a change);
      V(on_create) sets it only when the server is created.
    type: str
    default: on_create
    choices: [always, on_create]
  tags:
    description: Tags of the server.
    type: dict
  purge_tags:
    description: Remove tags not in O(tags). Ignored when O(tags) is not set.
    type: bool
    default: true
notes:
  - Supports check mode and diff mode. The diff covers the server's managed fields, its firewall rules and the
    parameters this module manages.
"""

EXAMPLES = r"""
- name: The shared environment's server
  odoo_saas.platform.pg_server:
    resource_group: rg-odoo-shared
    name: pg-odoo-shared
    location: westeurope
    version: "16"
    sku: {name: Standard_D4ds_v5, tier: GeneralPurpose}
    storage: {size_gb: 256, auto_grow: true}
    availability_zone: "1"
    high_availability: {mode: ZoneRedundant, standby_availability_zone: "2"}
    backup: {retention_days: 14, geo_redundant: true}
    maintenance_window: {day_of_week: 0, start_hour: 2}
    firewall_rules:
      - {name: aks-egress, start_ip: 20.50.0.10, end_ip: 20.50.0.10}
    parameters: {max_connections: "800", idle_in_transaction_session_timeout: "600000"}
    extensions: [pg_trgm, unaccent, pgcrypto]
    administrator_login: odooadmin
    administrator_login_password: "{{ vault_pg_admin_password }}"
"""

RETURN = r"""
pg_server:
  description: The server's facts after the run (before it, in check mode). Null when absent. Never holds the password.
  returned: always
  type: dict
  sample:
    name: pg-odoo-shared
    fqdn: pg-odoo-shared.postgres.database.azure.com
    version: "16"
    state: Ready
    extensions: [pg_trgm, pgcrypto, unaccent]
    firewall_rules: {aks-egress: {start_ip: 20.50.0.10, end_ip: 20.50.0.10}}
actions:
  description: The changes made, or that a real run would make in check mode.
  returned: always
  type: list
  elements: str
pending:
  description: With O(wait=false), the operations not started yet; run again to carry them out.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.odoo_saas.platform.plugins.module_utils._azure import (
    azure_argument_spec, azure_required_if, execute_arm)
from ansible_collections.odoo_saas.platform.plugins.module_utils._azure_pg import ServerRunner, validate
from ansible_collections.odoo_saas.platform.plugins.module_utils._common import run_module


def argument_spec():
    spec = azure_argument_spec()
    spec.update(
        resource_group={"type": "str", "required": True},
        name={"type": "str", "required": True},
        location={"type": "str"},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
        version={"type": "str"},
        sku={"type": "dict", "options": {
            "name": {"type": "str", "required": True},
            "tier": {"type": "str", "required": True, "choices": ["Burstable", "GeneralPurpose", "MemoryOptimized"]}}},
        storage={"type": "dict", "options": {"size_gb": {"type": "int"}, "auto_grow": {"type": "bool"}}},
        availability_zone={"type": "str"},
        high_availability={"type": "dict", "options": {
            "mode": {"type": "str", "choices": ["Disabled", "ZoneRedundant", "SameZone"]},
            "standby_availability_zone": {"type": "str"}}},
        backup={"type": "dict", "options": {"retention_days": {"type": "int"}, "geo_redundant": {"type": "bool"}}},
        maintenance_window={"type": "dict", "options": {
            "day_of_week": {"type": "int", "required": True},
            "start_hour": {"type": "int", "default": 0},
            "start_minute": {"type": "int", "default": 0}}},
        network={"type": "dict", "options": {
            "public_access": {"type": "bool"}, "delegated_subnet_id": {"type": "str"},
            "private_dns_zone_id": {"type": "str"}}},
        firewall_rules={"type": "list", "elements": "dict", "options": {
            "name": {"type": "str", "required": True}, "start_ip": {"type": "str", "required": True},
            "end_ip": {"type": "str", "required": True}}},
        purge_firewall_rules={"type": "bool", "default": True},
        parameters={"type": "dict"},
        extensions={"type": "list", "elements": "str", "default": ["pg_trgm", "unaccent"]},
        administrator_login={"type": "str"},
        administrator_login_password={"type": "str", "no_log": True},
        update_password={"type": "str", "default": "on_create", "choices": ["always", "on_create"], "no_log": False},
        tags={"type": "dict"},
        purge_tags={"type": "bool", "default": True},
    )
    return spec


SPEC_OPTIONS = {"required_if": azure_required_if()}


def execute(params, check_mode, diff, no_log):  # pylint: disable=unused-argument
    return execute_arm(params, check_mode, diff, ServerRunner, validate, "pg_server")


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **SPEC_OPTIONS)
    run_module(module, lambda: execute(module.params, module.check_mode, module._diff,  # pylint: disable=protected-access
                                       module.no_log))


if __name__ == "__main__":
    main()
