"""Run one module task through ansible-playbook, as a user would, and return its registered result.

The collection is made visible as odoo_saas.platform through a symlink in a temporary collections path.
stdout is kept so that tests can check that no secret was printed, even with -vvv.
"""

import importlib
import json
import os
import subprocess
import sys
import tempfile

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_COLLECTIONS = tempfile.mkdtemp(prefix="odoo-saas-collections-")
os.makedirs(os.path.join(_COLLECTIONS, "ansible_collections", "odoo_saas"))
os.symlink(REPO, os.path.join(_COLLECTIONS, "ansible_collections", "odoo_saas", "platform"))


def module_utils(name):
    """The collection's module_utils `name` (`_kube`), imported as the modules import it, for tests that drive the
    helpers directly."""
    if _COLLECTIONS not in sys.path:
        sys.path.insert(0, _COLLECTIONS)
    return importlib.import_module(f"ansible_collections.odoo_saas.platform.plugins.module_utils.{name}")


class TaskResult(dict):
    """The registered result, with the playbook's output in `.output`."""

    output = ""


def run_task(module, args, check=False, diff=False, no_log=False, verbosity=0, via="worker"):
    results = run_tasks(module, [args], check=check, diff=diff, no_log=no_log, verbosity=verbosity, via=via)
    return results[0]


def run_tasks(module, arg_list, check=False, diff=False, no_log=False, verbosity=0, via="worker"):
    """Run one task per args dict, in one playbook (one Ansible start-up); return their results in order.

    The host is localhost with the controller's Python, so a module with an action plugin from
    plugins/plugin_utils/_in_process.py runs in the worker; via="module" sets an `environment:` on the tasks, which
    makes that plugin start the module as Ansible does for any other host."""
    with tempfile.TemporaryDirectory(prefix="odoo-saas-task-") as tmp:
        out = os.path.join(tmp, "result.json")
        tasks = []
        for index, args in enumerate(arg_list):
            tasks.append({"name": f"task under test {index}", f"odoo_saas.platform.{module}": args,
                          "register": f"result{index}", "check_mode": check, "diff": diff, "no_log": no_log,
                          "ignore_errors": True})
            if via == "module":
                tasks[-1]["environment"] = {"ODOO_SAAS_TEST_VIA": "module"}
        collected = "[" + ", ".join(f"result{i}" for i in range(len(arg_list))) + "]"
        content = "{{ " + collected + " | to_json }}"
        record = {"name": "record the results",
                  "ansible.builtin.copy": {"content": content, "dest": out, "mode": "0600"},
                  "no_log": True, "check_mode": False, "diff": False}
        playbook = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks + [record]}]
        path = os.path.join(tmp, "play.yml")
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(playbook, handle)
        argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
                "-e", f"ansible_python_interpreter={sys.executable}", path]
        if verbosity:
            argv.append("-" + "v" * verbosity)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_COLLECTIONS, ANSIBLE_NOCOLOR="1",
                   ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if not os.path.exists(out):
            raise AssertionError(f"the playbook did not run: {proc.stdout}\n{proc.stderr}")
        with open(out, encoding="utf-8") as handle:
            results = [TaskResult(r) for r in json.load(handle)]
        for result in results:
            result.output = proc.stdout + proc.stderr
        return results
