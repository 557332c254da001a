#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: resource_group
short_description: An Azure resource group for an Odoo SaaS environment
version_added: 0.1.0
description:
  - Creates, retags or deletes a resource group through azure-mgmt-resource. Each environment keeps its AKS cluster
    (M(odoo_saas.platform.aks_cluster)) and PostgreSQL server (M(odoo_saas.platform.pg_server)) in one.
  - A group cannot move to another region; a different O(location) is refused before any write.
  - O(tags) are replaced when O(purge_tags=true), merged otherwise; when O(tags) is not set they are left alone.
author: odoo_saas.platform maintainers (@odoo-saas)
extends_documentation_fragment:
  - odoo_saas.platform.azure
options:
  name:
    description: The group's name, 1-90 letters, digits, underscores, hyphens, periods and parentheses.
    type: str
    required: true
  location:
    description: The Azure region. Required to create the group.
    type: str
  state:
    description:
      - V(present) creates the group or updates its tags.
      - V(absent) deletes it B(with every resource in it), as Azure does.
    type: str
    default: present
    choices: [present, absent]
  tags:
    description: Tags of the group.
    type: dict
  purge_tags:
    description: Remove tags not in O(tags). Ignored when O(tags) is not set.
    type: bool
    default: true
notes:
  - Supports check mode and diff mode.
"""

EXAMPLES = r"""
- name: The shared environment's resource group
  odoo_saas.platform.resource_group:
    name: rg-odoo-shared-weu
    location: westeurope
    tags:
      environment: shared
      cost-centre: platform
"""

RETURN = r"""
resource_group:
  description: The group's facts after the run (what it would be, in check mode). Null when absent.
  returned: always
  type: dict
  sample:
    name: rg-odoo-shared-weu
    location: westeurope
    tags: {environment: shared}
    provisioning_state: Succeeded
actions:
  description: The changes made, or that a real run would make in check mode.
  returned: always
  type: list
  elements: str
pending:
  description: Always empty; a group is written in one call.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.odoo_saas.platform.plugins.module_utils._azure import (
    azure_argument_spec, azure_required_if, execute_arm)
from ansible_collections.odoo_saas.platform.plugins.module_utils._azure_rg import GroupRunner, validate
from ansible_collections.odoo_saas.platform.plugins.module_utils._common import run_module


def argument_spec():
    spec = azure_argument_spec()
    spec.update(
        name={"type": "str", "required": True},
        location={"type": "str"},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
        tags={"type": "dict"},
        purge_tags={"type": "bool", "default": True},
    )
    return spec


SPEC_OPTIONS = {"required_if": azure_required_if()}


def execute(params, check_mode, diff, no_log):  # pylint: disable=unused-argument
    return execute_arm(params, check_mode, diff, GroupRunner, validate, "resource_group")


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **SPEC_OPTIONS)
    run_module(module, lambda: execute(module.params, module.check_mode, module._diff,  # pylint: disable=protected-access
                                       module.no_log))


if __name__ == "__main__":
    main()
