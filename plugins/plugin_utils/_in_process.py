# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin of this collection's controller-side modules: their code runs in the task's worker, not in a
module process, when the module would run on this controller with this Python anyway.

Tenants and environments are hosts with `connection: local` and the controller's own Python
(`ansible_python_interpreter: "{{ ansible_playbook_python }}"`): their modules talk to PostgreSQL, Redis and the
Kubernetes API from the controller. Started as a module, each call costs about half a second of CPU before it does
anything: its zip is built, written and started, and every module_utils file, Ansible's own included, is compiled
again from source. Run here, a call costs its own work (a no-op read of a tenant: 0.06 s instead of 0.85 s). A
tenant's converge is four or five such calls, a fleet hundreds of tenants, and a legacy migration waits for them
before the freeze and after the copy.

The module file stays the one definition. Its `argument_spec()` and `SPEC_OPTIONS` (mutually exclusive, required
options) validate the arguments here as AnsibleModule validates them there, and its
`execute(params, check_mode, diff, no_log)` is what its own `main()` calls too. Errors and secrets are handled as
`run_module()` and AnsibleModule handle them: bad arguments and OdooSaasError fail with their message, and the
values of `no_log` options never reach the result. A task that this does not take on runs the module as usual:
another connection or Python, `async`, or an `environment:` keyword.

Each module's action plugin (plugins/action/<module>.py) is this class, imported under the name Ansible looks for.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase
from ansible_collections.odoo_saas.platform.plugins.module_utils._common import OdooSaasError


class ControllerModuleAction(ActionBase):
    """Runs the module of the task's action (odoo_saas.platform.<name>) here, or as a module."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if not self._runs_here(task_vars):
            result.update(self._execute_module(
                task_vars=task_vars, wrap_async=self._task.async_val and not self._connection.has_native_async))
            return result
        # Only this collection's plugins/action/<module>.py files import this class: the action is one of its modules.
        name = self._task.resolved_action.rpartition(".")[2]
        module = importlib.import_module(f"ansible_collections.odoo_saas.platform.plugins.modules.{name}")
        result.update(self._execute_here(module))
        return result

    def _runs_here(self, task_vars):
        """Whether the module would run on this controller, with this Python: a local connection whose interpreter,
        once templated, is the one running Ansible; no async, no environment to set."""
        environment = self._task.environment
        if self._connection.transport != "local" or self._task.async_val or (
                environment and (not isinstance(environment, list) or any(environment))):
            return False
        host_vars = task_vars
        if self._task.delegate_to:
            host_vars = (task_vars.get("ansible_delegated_vars") or {}).get(self._task.delegate_to, task_vars)
        interpreter = host_vars.get("ansible_python_interpreter")
        if not interpreter:
            return False
        interpreter = self._templar.template(interpreter)
        return isinstance(interpreter, str) and os.path.realpath(interpreter) == os.path.realpath(sys.executable)

    def _execute_here(self, module):
        validated = ArgumentSpecValidator(module.argument_spec(), **module.SPEC_OPTIONS).validate(
            dict(self._task.args))
        if validated.error_messages:
            return {"failed": True, "msg": "; ".join(validated.error_messages)}
        result = {}
        for warning in validated._warnings:  # pylint: disable=protected-access
            result.setdefault("warnings", []).append(
                f"Both option {warning.get('option')} and its alias {warning.get('alias')} are set.")
        try:
            result.update(module.execute(validated.validated_parameters, check_mode=bool(self._task.check_mode),
                                         diff=bool(self._task.diff), no_log=bool(self._task.no_log)))
        except OdooSaasError as exc:
            result.update(exc.details, failed=True, msg=exc.msg)
        except Exception as exc:  # pylint: disable=broad-except
            result.update(failed=True, msg=f"unexpected error: {type(exc).__name__}: {exc}",
                          exception=traceback.format_exc())
        return remove_values(result, validated._no_log_values)  # pylint: disable=protected-access
