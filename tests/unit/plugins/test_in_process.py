"""plugin_utils/_in_process.py: when a module's code runs in the worker, and how its result is made there (the
integration tests run the real modules both ways, through ansible-playbook)."""

import sys
import types

import pytest

from ansible_collections.odoo_saas.platform.plugins.module_utils._common import InputError
from ansible_collections.odoo_saas.platform.plugins.plugin_utils._in_process import ControllerModuleAction


class _Templar:
    def __init__(self, variables):
        self.variables = variables

    def template(self, value):
        return self.variables["ansible_playbook_python"] if value == "{{ ansible_playbook_python }}" else value


def _action(transport="local", async_val=0, environment=None, delegate_to=None, args=None, check_mode=False,
            no_log=False):
    action = object.__new__(ControllerModuleAction)
    action._connection = types.SimpleNamespace(transport=transport)
    action._task = types.SimpleNamespace(async_val=async_val, environment=environment if environment is not None else
                                         [{}], delegate_to=delegate_to, args=args or {}, check_mode=check_mode,
                                         diff=False, no_log=no_log)
    action._templar = _Templar({"ansible_playbook_python": sys.executable})
    return action


HERE = {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}


@pytest.mark.parametrize("action, task_vars, expected", [
    (_action(), HERE, True),
    (_action(), {"ansible_python_interpreter": sys.executable}, True),
    (_action(transport="ssh"), HERE, False),
    (_action(), {"ansible_python_interpreter": "/usr/bin/python3.9"}, False),
    (_action(), {}, False),  # a discovered interpreter is not assumed to be this one
    (_action(async_val=60), HERE, False),
    (_action(environment=[{"PGSSLMODE": "require"}]), HERE, False),
    (_action(environment="{{ proxy_env }}"), HERE, False),
    (_action(delegate_to="acme"), {"ansible_delegated_vars": {"acme": HERE}}, True),
    (_action(delegate_to="vm"), {"ansible_delegated_vars": {"vm": {"ansible_python_interpreter": "/usr/bin/python3"}},
                                 **HERE}, False),
], ids=["local", "same-path", "ssh", "other-python", "discovered", "async", "environment", "templated-environment",
        "delegated-local", "delegated-elsewhere"])
def test_runs_here_only_where_the_module_would_run_with_this_python(action, task_vars, expected):
    assert action._runs_here(task_vars) is expected


def _module(execute):
    return types.SimpleNamespace(
        argument_spec=lambda: {"name": {"type": "str", "required": True}, "password": {"type": "str", "no_log": True},
                               "workers": {"type": "int", "default": 2}},
        SPEC_OPTIONS={}, execute=execute)


def test_the_module_gets_its_validated_parameters_and_the_task_flags():
    seen = {}

    def execute(params, check_mode, diff, no_log):
        seen.update(params=params, check_mode=check_mode, diff=diff, no_log=no_log)
        return {"changed": True, "echo": f"user {params['name']} with {params['password']}"}

    result = _action(args={"name": "acme", "password": "s3cret-value", "workers": "4"}, check_mode=True,
                     no_log=True)._execute_here(_module(execute))
    assert seen == {"params": {"name": "acme", "password": "s3cret-value", "workers": 4}, "check_mode": True,
                    "diff": False, "no_log": True}
    # As AnsibleModule does: a no_log option's value never reaches the result.
    assert result == {"changed": True, "echo": "user acme with ********"}


def test_bad_arguments_fail_before_the_module_runs():
    def execute(*_args, **_kwargs):
        raise AssertionError("must not run")

    result = _action(args={"workers": "many", "colour": "red"})._execute_here(_module(execute))
    assert result["failed"] is True
    for part in ("name", "colour", "workers"):
        assert part in result["msg"]


def test_errors_fail_with_their_message_and_details_and_no_secret():
    def refuse(params, **_flags):
        raise InputError(f"name={params['name']!r} is taken (password {params['password']})", hint="pick another")

    result = _action(args={"name": "acme", "password": "s3cret-value"})._execute_here(_module(refuse))
    assert result == {"failed": True, "msg": "name='acme' is taken (password ********)", "hint": "pick another"}

    def crash(**_kwargs):
        raise KeyError("boom")

    crashed = _action(args={"name": "acme"})._execute_here(_module(lambda params, **flags: crash()))
    assert crashed["failed"] is True and crashed["msg"] == "unexpected error: KeyError: 'boom'"
    assert "KeyError: 'boom'" in crashed["exception"]
