# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which tenant a module works on, for the modules that follow odoo_tenant; pairs with _odoo.tenant_argument_spec()."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  name:
    description: The tenant, as given to odoo_tenant.
    type: str
    required: true
  namespace:
    description: The tenant's namespace. Defaults to C(odoo-<name>).
    type: str
"""
