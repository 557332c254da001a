# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of odoo_saas.platform.aks_cluster: the module's code, run in the worker when the task's host is a local
connection with the controller's Python, else the module (plugins/plugin_utils/_in_process.py)."""

from __future__ import annotations

from ansible_collections.odoo_saas.platform.plugins.plugin_utils._in_process import (  # noqa: F401 pylint: disable=unused-import
    ControllerModuleAction as ActionModule,
)
