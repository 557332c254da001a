# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Background jobs that leave their exit code in a file when they end (controller_job writes them).

Shared by the controller_job action plugin, which waits for its jobs, and by legacy_odoo_facts, which waits for a
migration's restore in the module run that then verifies the copy. Standard library only: it also runs on a VM.
"""

from __future__ import annotations

import os
import time

from ._common import ServiceError


def read_exit_code(path):
    """The exit code in `path` and when it was written, or None while the job runs (no file, or not written yet)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
    except FileNotFoundError:
        return None
    return (int(text), os.stat(path).st_mtime) if text.lstrip("-").isdigit() else None


def wait_for_exit_file(path, timeout, poll=0.1):
    """Wait until `path` holds a background job's exit code; return the code and when the job wrote it."""
    deadline = time.monotonic() + timeout
    ended = read_exit_code(path)
    while ended is None:
        if time.monotonic() >= deadline:
            raise ServiceError(
                f"{path} holds no exit code after {timeout} s: the job that writes it has not ended. Raise the "
                f"timeout, or look at the job's output ({path}.log) for why it still runs.")
        time.sleep(poll)
        ended = read_exit_code(path)
    return ended
