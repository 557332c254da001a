#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: odoo_tenant_info
short_description: Read one Odoo tenant's state in Kubernetes, without changing anything
version_added: 0.1.0
description:
  - Reads the tenant's namespace and its C(odoo-web) and C(odoo-cron) Deployments, as M(odoo_saas.platform.odoo_tenant)
    writes them, over one kept-alive connection.
  - Returns whether the tenant exists, the Odoo version its database runs (the namespace's
    C(odoo-saas.platform/initialised-version), set when the database was initialised or upgraded), and each
    Deployment's replicas, ready replicas and image.
  - The tenant role reads a tenant with it before any step; it costs a fraction of a C(kubernetes.core.k8s_info)
    run, which counts across a fleet.
  - It only reads, and reports C(changed=false), also in check mode.
author: odoo_saas.platform maintainers (@odoo-saas)
extends_documentation_fragment:
  - odoo_saas.platform.kubernetes
  - odoo_saas.platform.tenant
"""

EXAMPLES = r"""
- name: Read the tenant acme
  odoo_saas.platform.odoo_tenant_info:
    kubeconfig: ~/.kube/odoo-shared
    name: acme
  register: acme

- name: Its version
  ansible.builtin.debug:
    msg: "acme runs Odoo {{ acme.version or 'nothing yet' }}, web {{ acme.workloads.web.ready_replicas }} ready"
"""

RETURN = r"""
exists:
  description: Whether the tenant's namespace exists.
  returned: always
  type: bool
namespace:
  description: The tenant's namespace.
  returned: always
  type: str
  sample: odoo-acme
version:
  description: The Odoo version the tenant's database runs; empty when the tenant does not exist or has none yet.
  returned: always
  type: str
  sample: "17.0"
annotations:
  description: The namespace's annotations.
  returned: always
  type: dict
workloads:
  description: The web and cron Deployments; C(exists=false) for one that is not there.
  returned: always
  type: dict
  sample: {web: {exists: true, replicas: 1, ready_replicas: 1, image: "odoo:17.0", odoo_version: "17.0"},
           cron: {exists: true, replicas: 1, ready_replicas: 1, image: "odoo:17.0", odoo_version: "17.0"}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.odoo_saas.platform.plugins.module_utils._common import run_module
from ansible_collections.odoo_saas.platform.plugins.module_utils._kube import Client, kube_argument_spec
from ansible_collections.odoo_saas.platform.plugins.module_utils._odoo import namespace_name, tenant_argument_spec
from ansible_collections.odoo_saas.platform.plugins.module_utils._tenant import read


def argument_spec():
    return dict(kube_argument_spec(), **tenant_argument_spec())


SPEC_OPTIONS = {}


def execute(params, check_mode, diff, no_log):  # pylint: disable=unused-argument
    """The module's work, from main() or from its action plugin, which runs it in the worker
    (plugin_utils/_in_process.py)."""
    with Client(params) as client:
        return dict(read(client, namespace_name(params)), changed=False)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **SPEC_OPTIONS)
    run_module(module, lambda: execute(module.params, module.check_mode, module._diff,  # pylint: disable=protected-access
                                       module.no_log))


if __name__ == "__main__":
    main()
