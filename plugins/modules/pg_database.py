#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_database
short_description: One Odoo tenant's PostgreSQL database and login role, isolated, in one call
version_added: 0.1.0
description:
  - Creates or removes a tenant's login role and its database on a shared or dedicated PostgreSQL server.
  - The role is LOGIN, NOSUPERUSER and NOCREATEROLE, with a SCRAM password. The database is owned by the role,
    created from template0 in UTF8, with its extensions.
  - CONNECT and TEMPORARY are revoked from PUBLIC on the tenant database, and CREATE on its public schema, so that
    no other tenant's role can reach it. The role keeps CONNECT on the C(postgres) database, where Odoo's bus LISTENs.
  - Works where the admin is not a superuser, as on Azure Database for PostgreSQL Flexible Server; the admin is
    granted membership in the tenant role only where it needs it to create a database owned by it.
  - Can make a staging copy of another database with O(clone_from), neutralised when the source is an Odoo database.
  - Returns the SQL it ran as RV(queries), with secrets redacted. Passwords reach the server as SCRAM verifiers.
author: odoo_saas.platform maintainers (@odoo-saas)
extends_documentation_fragment:
  - odoo_saas.platform.postgres
options:
  name:
    description: The tenant database, for example the tenant's name.
    type: str
    required: true
  role:
    description: The tenant's login role. Defaults to O(name).
    type: str
  password:
    description:
      - The role's password. Applied when the role is created, and later only when it differs from the stored one,
        or always with O(update_password=always).
      - When it is omitted and the role does not exist yet, a password is generated and returned once as
        RV(generated_password). The task must then have C(no_log=true); the module refuses otherwise.
    type: str
  update_password:
    description:
      - V(when_changed) sets O(password) when it does not match the stored one. The stored SCRAM verifier is checked,
        or, where the admin cannot read it (a managed server), a login with the password is tried.
      - V(always) sets it on every run. V(on_create) sets it only when the role is created.
    type: str
    choices: [when_changed, always, on_create]
    default: when_changed
  createdb:
    description: Give the role CREATEDB, for Odoo's database manager. SaaS tenants normally do not need it.
    type: bool
    default: false
  conn_limit:
    description:
      - The role's connection limit, V(-1) for none. Mutually exclusive with O(workers).
      - When neither this nor O(workers) is given, the limit is left as it is (unlimited at creation).
    type: int
  workers:
    description:
      - Odoo's C(workers). With it the connection limit is derived as
        (O(workers) + O(max_cron_threads) + 1) x O(db_maxconn).
    type: int
  max_cron_threads:
    description: Odoo's C(max_cron_threads), used with O(workers). Odoo's default is 2.
    type: int
  db_maxconn:
    description: Odoo's C(db_maxconn), used with O(workers). Odoo's default is 64.
    type: int
  lc_collate:
    description: The database's collation, at creation. A different value on an existing database is refused.
    type: str
  lc_ctype:
    description: The database's character classification, at creation. A different value on an existing database is refused.
    type: str
  extensions:
    description:
      - Extensions to create in the database. Existing extensions that are not listed are left alone.
      - On Azure each must be in the server's C(azure.extensions) allow-list (see the pg_server module).
    type: list
    elements: str
    default: [pg_trgm, unaccent]
  clone_from:
    description:
      - Make the new database a copy of this database on the same server, for staging. Only used when O(name) does
        not exist yet.
      - The copy is made into a temporary database with C(pg_dump -Fc | pg_restore --no-owner --no-acl), neutralised,
        verified, and only then renamed to O(name). A failure drops the temporary copy.
      - Neutralisation, for an Odoo database, regenerates C(database.uuid) and C(database.secret), replaces
        C(web.base.url) with O(base_url), deactivates outgoing and incoming mail servers and scheduled actions (but
        the autovacuum), and sets C(database.is_neutralized).
    type: str
  base_url:
    description: The C(web.base.url) of a clone, for example V(https://staging.acme.example.com).
    type: str
  pg_bin_dir:
    description: Folder holding C(pg_dump) and C(pg_restore), used by O(clone_from). Defaults to the PATH.
    type: path
  force:
    description: With O(state=absent), terminate other sessions on the database instead of refusing to drop it.
    type: bool
    default: false
  state:
    description: V(present) creates or updates; V(absent) drops the database, then the role.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Check mode reports the statements a real run would run, in RV(queries), and runs none of them.
  - Diff mode returns the role's attributes, the database's settings and its extensions, before and after.
"""

EXAMPLES = r"""
- name: Create the tenant's database, sized for 4 workers
  odoo_saas.platform.pg_database:
    login_host: "{{ pg_fqdn }}"
    login_user: odooadmin
    login_password: "{{ pg_admin_password }}"
    ssl_mode: verify-full
    ca_cert: /etc/ssl/certs/DigiCertGlobalRootG2.crt.pem
    name: acme
    password: "{{ acme_db_password }}"
    workers: 4
    max_cron_threads: 1
    db_maxconn: 8

- name: Make a neutralised staging copy
  odoo_saas.platform.pg_database:
    name: acme_staging
    role: acme_staging
    clone_from: acme
    base_url: https://staging.acme.example.com
  no_log: true
  register: staging

- name: Offboard the tenant
  odoo_saas.platform.pg_database:
    name: acme
    state: absent
    force: true
"""

RETURN = r"""
database:
  description: The database's facts after the run.
  returned: always
  type: dict
  sample: {name: acme, role: acme, exists: true, owner: acme, encoding: UTF8, collate: C.UTF-8, ctype: C.UTF-8,
           size_bytes: 7762435, extensions: {pg_trgm: "1.6", unaccent: "1.1", plpgsql: "1.0"}, conn_limit: 192}
queries:
  description: The SQL the module ran, or would run in check mode, with passwords and secrets replaced by C(********).
  returned: always
  type: list
  elements: str
  sample: ['CREATE ROLE "acme" LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB INHERIT NOREPLICATION NOBYPASSRLS PASSWORD ''********''']
generated_password:
  description: The password generated for a new role, returned this once. The task runs with C(no_log).
  returned: when the role was created without O(password)
  type: str
neutralisation:
  description: What was done to a clone, and its verification.
  returned: when O(clone_from) made a copy
  type: dict
  sample: {odoo: true, uuid: 8d7c8d5e-7f0e-4b53-bb3c-5a1d2c2e9b1e, mail_servers_disabled: true, crons_disabled: true}
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.odoo_saas.platform.plugins.module_utils._common import InputError, run_module
from ansible_collections.odoo_saas.platform.plugins.module_utils._postgres import (
    Server, TenantDatabase, check_identifier, postgres_argument_spec)


def argument_spec():
    spec = postgres_argument_spec()
    spec.update(
        name={"type": "str", "required": True},
        role={"type": "str"},
        password={"type": "str", "no_log": True},
        update_password={"type": "str", "default": "when_changed", "choices": ["when_changed", "always", "on_create"],
                         "no_log": False},
        createdb={"type": "bool", "default": False},
        conn_limit={"type": "int"},
        workers={"type": "int"},
        max_cron_threads={"type": "int"},
        db_maxconn={"type": "int"},
        lc_collate={"type": "str"},
        lc_ctype={"type": "str"},
        extensions={"type": "list", "elements": "str", "default": ["pg_trgm", "unaccent"]},
        clone_from={"type": "str"},
        base_url={"type": "str"},
        pg_bin_dir={"type": "path"},
        force={"type": "bool", "default": False},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
    )
    return spec


def validate(params):
    check_identifier("name", params["name"], kind="database")
    check_identifier("role", params["role"] or params["name"])
    if params["clone_from"]:
        check_identifier("clone_from", params["clone_from"], kind="database")
        if params["clone_from"] == params["name"]:
            raise InputError(f"clone_from={params['clone_from']!r} is the database itself; name a different source.")
    for ext in params["extensions"]:
        if not re.match(r"^[a-z0-9_]{1,63}$", ext):
            raise InputError(f"extensions: {ext!r} is not an extension name (lowercase letters, digits and '_').")
    if params["base_url"] and not re.match(r"^https?://[^\s/]+", params["base_url"]):
        raise InputError(f"base_url={params['base_url']!r} is not an http(s) URL, for example "
                         "'https://staging.acme.example.com'.")


SPEC_OPTIONS = {"mutually_exclusive": [["conn_limit", "workers"]]}


def execute(params, check_mode, diff, no_log):
    """The module's work, from main() or from its action plugin, which runs it in the worker
    (plugin_utils/_in_process.py)."""
    params = dict(params, _no_log=no_log)
    validate(params)
    server = Server(params)
    try:
        tenant = TenantDatabase(server, params, check_mode)
        facts = tenant.present() if params["state"] == "present" else tenant.absent()
    finally:
        server.close()
    result = {"changed": bool(server.queries), "database": facts, "queries": server.queries}
    if diff:
        result["diff"] = {"before": tenant.diff_before, "after": tenant.diff_after}
    if tenant.generated_password:
        result["generated_password"] = tenant.generated_password
    if tenant.neutralised:
        result["neutralisation"] = tenant.neutralised
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **SPEC_OPTIONS)
    run_module(module, lambda: execute(module.params, module.check_mode, module._diff,  # pylint: disable=protected-access
                                       module.no_log))


if __name__ == "__main__":
    main()
