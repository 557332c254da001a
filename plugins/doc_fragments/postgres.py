# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options of the PostgreSQL modules; pairs with _postgres.postgres_argument_spec()."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  login_host:
    description:
      - Host name of the PostgreSQL server, for example an Azure Flexible Server's FQDN.
      - Falls back to the E(PGHOST) environment variable.
    type: str
    default: localhost
    aliases: [host]
  login_port:
    description: Port of the server. Falls back to E(PGPORT).
    type: int
    default: 5432
    aliases: [port]
  login_user:
    description:
      - The admin to connect as. It need not be a superuser; on a managed server such as Azure Flexible
        Server it is the server admin, with CREATEROLE and CREATEDB.
      - Falls back to E(PGUSER).
    type: str
    default: postgres
  login_password:
    description: The admin's password. Falls back to E(PGPASSWORD). Never logged.
    type: str
  maintenance_db:
    description: The database to connect to for cluster-wide work.
    type: str
    default: postgres
  ssl_mode:
    description: libpq's C(sslmode). Use V(verify-full) with O(ca_cert) against Azure.
    type: str
    default: prefer
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  ca_cert:
    description: CA bundle that signs the server's certificate, for V(verify-ca) and V(verify-full).
    type: path
    aliases: [ssl_rootcert]
  connect_timeout:
    description: Seconds to wait for a connection.
    type: int
    default: 10
requirements:
  - psycopg >= 3.1
"""
