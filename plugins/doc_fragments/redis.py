# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options of the Redis modules; pairs with _redis.redis_argument_spec()."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  login_host:
    description: Host name of the Redis endpoint. Falls back to E(REDIS_HOST).
    type: str
    default: localhost
  login_port:
    description: Port of the endpoint. Falls back to E(REDIS_PORT). Azure Managed Redis listens on 10000.
    type: int
    default: 6379
  login_user:
    description: The admin ACL user to connect as.
    type: str
    default: default
  login_password:
    description: The admin's password or access key. Falls back to E(REDIS_PASSWORD). Never logged.
    type: str
  tls:
    description: Connect with TLS, as Azure Managed Redis requires.
    type: bool
    default: false
  ca_cert:
    description: CA bundle for the endpoint's certificate, with O(tls).
    type: path
  validate_certs:
    description: Verify the endpoint's certificate, with O(tls).
    type: bool
    default: true
requirements:
  - redis >= 5
"""
