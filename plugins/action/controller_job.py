# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of odoo_saas.platform.controller_job (documented in plugins/modules/controller_job.py).

A command on the controller, run by the worker itself: no module is built, copied or started. A migration starts
its long copies this way (the filestore's pre-sync, the restore) and waits for them later, where `async` would
spend a module start on each, on the cores that the dump and the restore need.
"""

from __future__ import annotations

import os
import subprocess
import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.odoo_saas.platform.plugins.module_utils._common import ServiceError
from ansible_collections.odoo_saas.platform.plugins.module_utils._jobs import wait_for_exit_file

# The job's exit code lands in exit_file when it ends, through a temporary file and a rename: a reader never sees a
# half-written code. A job killed by a signal gets 128 + its number from the shell, as in a terminal.
_WRAPPER = 'rc=0; "$@" || rc=$?; printf "%s\\n" "$rc" > "$0.tmp" && mv -f "$0.tmp" "$0"'
_OUTPUT_TAIL = 8192

ARGUMENT_SPEC = {
    "mode": {"type": "str", "choices": ["start", "run", "wait"], "default": "run"},
    "argv": {"type": "list", "elements": "str"},
    "script": {"type": "str"},
    "stdin": {"type": "str", "no_log": True},
    "env": {"type": "dict", "default": {}},
    "exit_file": {"type": "path", "required": True},
    "log_file": {"type": "path"},
    "timeout": {"type": "int", "default": 14400},
}


def _tail(path):
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, os.path.getsize(path) - _OUTPUT_TAIL))
            return handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _spec, args = self.validate_argument_spec(
            argument_spec=ARGUMENT_SPEC,
            mutually_exclusive=[("argv", "script")],
            required_if=[("mode", "start", ("argv", "script"), True), ("mode", "run", ("argv", "script"), True)],
        )
        # The connection of the host the task runs on, or is delegated to.
        if self._connection.transport != "local":
            raise AnsibleActionFail(
                f"controller_job runs commands on the controller, but this task's host uses the connection "
                f"{self._connection.transport!r}. Delegate it to a host with connection local (a tenant host, or "
                "localhost).")
        exit_file = args["exit_file"]
        log_file = args["log_file"] or exit_file + ".log"
        if args["mode"] == "wait":
            return dict(result, **self._wait(exit_file, log_file, args["timeout"]))
        command = args["argv"] or ["/bin/bash", "-c", args["script"]]
        if self._task.check_mode:
            return dict(result, skipped=True, changed=True,
                        msg=f"check mode: would {args['mode']} {command[0]}, its exit code to {exit_file}")
        started = self._start(command, args["stdin"], args["env"], exit_file, log_file)
        result.update(changed=True, exit_file=exit_file, log_file=log_file, **started)
        if args["mode"] == "start":
            return result
        waited = self._wait(exit_file, log_file, args["timeout"])
        result.update({key: value for key, value in waited.items() if key != "changed"})
        return result

    @staticmethod
    def _start(command, stdin, env, exit_file, log_file):
        for path in (exit_file, exit_file + ".tmp"):
            if os.path.exists(path):
                os.unlink(path)
        os.makedirs(os.path.dirname(exit_file) or ".", mode=0o700, exist_ok=True)
        log = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            # A session of its own: the job outlives this worker and a SIGINT to ansible-playbook, as async jobs do.
            process = subprocess.Popen(  # pylint: disable=consider-using-with
                ["/bin/sh", "-c", _WRAPPER, exit_file] + [str(part) for part in command],
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, stdout=log, stderr=log,
                env=dict(os.environ, **{str(k): str(v) for k, v in env.items()}), start_new_session=True,
                close_fds=True)
        finally:
            os.close(log)
        if stdin is not None:
            try:
                process.stdin.write(stdin.encode("utf-8"))
            except BrokenPipeError:
                pass
            process.stdin.close()
        process.returncode = 0  # Reaped by init once this worker exits; no ResourceWarning for a running child.
        return {"pid": process.pid, "started_at": time.time()}

    @staticmethod
    def _wait(exit_file, log_file, timeout):
        try:
            code, ended_at = wait_for_exit_file(exit_file, timeout)
        except ServiceError:
            raise AnsibleActionFail(
                f"the job that writes {exit_file} has not ended after {timeout} s (its output: {log_file}). "
                f"Find it with `pgrep -af {os.path.basename(exit_file)}` and end its process group "
                "(`kill -- -<pid>`), or raise the timeout.") from None
        output = _tail(log_file)
        waited = {"changed": False, "rc": code, "ended_at": ended_at, "output": output}
        if code != 0:
            waited.update(failed=True, msg=f"the job that writes {exit_file} ended with exit code {code}: "
                                           f"{output.strip()[-600:] or 'no output'} (all of it: {log_file})")
        return waited
