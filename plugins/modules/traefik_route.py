#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: traefik_route
short_description: Traefik IngressRoutes and Middlewares for one Odoo tenant's hosts
version_added: 0.1.0
description:
  - Writes C(traefik.io/v1alpha1) IngressRoutes and Middlewares in the tenant's namespace. C(/) goes to port 8069;
    the websocket path (C(/websocket) from Odoo 16, C(/longpolling/) before) goes to 8072 with a higher priority;
    C(/web/database) is blocked.
  - Middlewares add HSTS and secure headers, compression, a rate limit, request buffering on the main route only, and
    a redirect from http to https.
  - TLS comes from a C(certResolver) or a C(secretName).
  - A host already claimed by another tenant's route is refused before any write, naming that tenant.
  - Objects are compared with the live ones first; a run with nothing to do sends no write.
author: odoo_saas.platform maintainers (@odoo-saas)
extends_documentation_fragment:
  - odoo_saas.platform.kubernetes
  - odoo_saas.platform.tenant
options:
  odoo_version:
    description: The tenant's Odoo version, which decides the websocket path.
    type: str
    required: true
    choices: ["15.0", "16.0", "17.0", "18.0", "19.0"]
  hosts:
    description: The tenant's host names.
    type: list
    elements: str
    required: true
  allow_wildcard:
    description: Accept wildcard hosts such as C(*.acme.example.com), for a tenant that owns the whole domain.
    type: bool
    default: false
  tls:
    description: Where the certificate comes from. Exactly one of O(tls.cert_resolver) and O(tls.secret_name).
    type: dict
    required: true
    suboptions:
      cert_resolver:
        description: A Traefik certificate resolver, such as an ACME one.
        type: str
      secret_name:
        description: A TLS Secret in the tenant's namespace.
        type: str
  entry_point:
    description: Traefik's https entry point.
    type: str
    default: websecure
  http_entry_point:
    description: Traefik's http entry point, redirected to https.
    type: str
    default: web
  rate_limit:
    description: Requests per second per client IP, on average and in a burst.
    type: dict
    default: {average: 50, burst: 100}
    suboptions:
      average:
        description: Average requests per second.
        type: int
        default: 50
      burst:
        description: Burst size.
        type: int
        default: 100
  max_body_bytes:
    description: The largest request body buffered on the main route (uploads included).
    type: int
    default: 134217728
  state:
    description: V(present) or V(absent).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Check mode uses the API server's dry run. When the namespace does not exist yet (a playbook's earlier
    odoo_tenant task would create it), check mode reports every object as created; the host claims are still checked.
  - Diff mode shows the managed fields before and after.
"""

EXAMPLES = r"""
- name: Route acme's hosts, with certificates from the ACME resolver
  odoo_saas.platform.traefik_route:
    name: acme
    odoo_version: "17.0"
    hosts: [acme.example.com, erp.acme.example]
    tls:
      cert_resolver: letsencrypt
"""

RETURN = r"""
route:
  description: The routes and middlewares of the tenant, and its hosts.
  returned: always
  type: dict
  sample: {namespace: odoo-acme, hosts: [acme.example.com], objects: [IngressRoute/odoo-acme/odoo]}
changed_objects:
  description: The objects written (or that would be, in check mode).
  returned: always
  type: list
  elements: str
api_writes:
  description: How many write requests reached the API server.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.odoo_saas.platform.plugins.module_utils._common import run_module
from ansible_collections.odoo_saas.platform.plugins.module_utils._kube import (
    Client, converge_result, kube_argument_spec)
from ansible_collections.odoo_saas.platform.plugins.module_utils._odoo import tenant_argument_spec
from ansible_collections.odoo_saas.platform.plugins.module_utils._routes import RouteRunner


def argument_spec():
    spec = dict(kube_argument_spec(), **tenant_argument_spec())
    spec.update(
        odoo_version={"type": "str", "required": True, "choices": ["15.0", "16.0", "17.0", "18.0", "19.0"]},
        hosts={"type": "list", "elements": "str", "required": True},
        allow_wildcard={"type": "bool", "default": False},
        tls={"type": "dict", "required": True, "options": {"cert_resolver": {"type": "str"},
                                                           "secret_name": {"type": "str"}},
             "mutually_exclusive": [["cert_resolver", "secret_name"]],
             "required_one_of": [["cert_resolver", "secret_name"]]},
        entry_point={"type": "str", "default": "websecure"},
        http_entry_point={"type": "str", "default": "web"},
        rate_limit={"type": "dict", "default": {"average": 50, "burst": 100},
                    "options": {"average": {"type": "int", "default": 50}, "burst": {"type": "int", "default": 100}}},
        max_body_bytes={"type": "int", "default": 134217728},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
    )
    return spec


SPEC_OPTIONS = {}


def execute(params, check_mode, diff, no_log):  # pylint: disable=unused-argument
    """The module's work, from main() or from its action plugin, which runs it in the worker
    (plugin_utils/_in_process.py)."""
    with Client(params) as client:
        runner = RouteRunner(client, params, check_mode)
        route = runner.run()
        return converge_result(runner.conv, client, diff, route=route)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **SPEC_OPTIONS)
    run_module(module, lambda: execute(module.params, module.check_mode, module._diff,  # pylint: disable=protected-access
                                       module.no_log))


if __name__ == "__main__":
    main()
