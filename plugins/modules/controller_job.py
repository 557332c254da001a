#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: controller_job
short_description: Run, start or wait for a command on the controller, without a module start
version_added: 0.1.0
description:
  - Runs a command on the controller from the task's worker (an action plugin), so nothing is copied or started but the
    command itself. A migration starts its long copies with it (the filestore's pre-sync, the restore), does other
    work, and waits for them later. C(async) with C(poll=0) does the same at the cost of a module start per job and
    per status poll.
  - The command's output (stdout and stderr) goes to O(log_file), mode 0600. When it ends, its exit code is written
    to O(exit_file) (through a temporary file and a rename); a command ended by a signal gets 128 plus its number.
  - A started job runs in a session of its own, so it outlives the playbook, as an C(async) job does. RV(pid) is
    that session's and process group's id - C(kill -- -PID) ends the job with every process it started. A job
    ended that way writes no exit code, so its waiters fail at their O(timeout).
  - Only for hosts with connection C(local) (tenant hosts, C(localhost)); other hosts fail the task.
author: odoo_saas.platform maintainers (@odoo-saas)
options:
  mode:
    description:
      - C(run) starts the command and waits for it; C(start) starts it and returns at once; C(wait) waits for the
        O(exit_file) of a job started earlier.
      - C(run) and C(wait) fail when the exit code is not 0, with the end of the output in the message.
    type: str
    choices: [start, run, wait]
    default: run
  argv:
    description: The command, as a list. Mutually exclusive with O(script).
    type: list
    elements: str
  script:
    description: A C(bash) script, run by C(/bin/bash -c). Mutually exclusive with O(argv).
    type: str
  stdin:
    description:
      - Written to the command's stdin, which is then closed. Never logged nor returned; the way to pass a secret,
        which argv and the environment would show to other users of the controller.
      - Use C(no_log) on the task as well, so that a failed argument check cannot show it.
    type: str
  env:
    description: Variables added to the controller's environment for the command.
    type: dict
    default: {}
  exit_file:
    description: Where the exit code is written when the command ends. Removed when a command starts.
    type: path
    required: true
  log_file:
    description: The command's output. Defaults to O(exit_file) with C(.log) appended.
    type: path
  timeout:
    description: Seconds that C(run) and C(wait) wait for the exit code before they fail. The job goes on.
    type: int
    default: 14400
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: In check mode C(start) and C(run) start nothing and report the task skipped; C(wait) waits as usual.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Start a long copy
  odoo_saas.platform.controller_job:
    mode: start
    argv: [rsync, -a, "vm:/srv/files/", /var/tmp/files/]
    exit_file: /var/tmp/copy.done
  register: copy_job
  delegate_to: localhost

- name: Wait for it
  odoo_saas.platform.controller_job:
    mode: wait
    exit_file: /var/tmp/copy.done
  delegate_to: localhost
  when: copy_job.pid is defined
"""

RETURN = r"""
pid:
  description:
    - The id of the job's session and process group (C(start), C(run)) - the small shell that runs the command and
      then writes its exit code.
  returned: when a command started
  type: int
started_at:
  description: When the command started, in seconds since the epoch.
  returned: when a command started
  type: float
rc:
  description: The command's exit code.
  returned: C(run), C(wait)
  type: int
ended_at:
  description: When the exit code was written, in seconds since the epoch.
  returned: C(run), C(wait)
  type: float
output:
  description: The last 8 KiB of the command's output.
  returned: C(run), C(wait)
  type: str
log_file:
  description: The file with all of the command's output.
  returned: when a command started
  type: str
"""
