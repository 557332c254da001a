"""legacy_odoo_facts' wait for a background job's exit file (a migration's restore writes one when it ends)."""

import os
import threading
import time

import pytest

from ansible_collections.odoo_saas.platform.plugins.module_utils._common import ServiceError
from ansible_collections.odoo_saas.platform.plugins.module_utils._jobs import wait_for_exit_file
from ansible_collections.odoo_saas.platform.plugins.module_utils._legacy import gather


def _write_later(path, text, delay):
    def write():
        time.sleep(delay)
        # As the restore's EXIT trap does: the file may exist, empty, for a moment before the code lands in it.
        with open(path, "w", encoding="utf-8") as handle:
            handle.flush()
            time.sleep(0.05)
            handle.write(text)
    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_waits_until_the_file_holds_the_exit_code(tmp_path):
    done = tmp_path / ".restore.done"
    thread = _write_later(done, "0\n", 0.3)
    started = time.time()
    code, ended_at = wait_for_exit_file(str(done), timeout=10)
    thread.join()
    assert code == 0
    assert time.time() - started >= 0.3
    assert ended_at == os.stat(done).st_mtime


def test_a_failed_job_fails_the_module_and_nothing_is_gathered(tmp_path):
    done = tmp_path / ".restore.done"
    done.write_text("143\n")
    params = {"wait_for_exit_file": str(done), "wait_timeout": 5, "gather": ["row_counts"], "db_name": "x",
              "db_user": "y"}
    with pytest.raises(ServiceError) as raised:
        gather(params)
    assert "ended with exit code 143" in raised.value.msg and str(done) in raised.value.msg
    assert raised.value.details["waited"]["exit_code"] == 143


def test_a_job_that_does_not_end_times_out_with_a_clear_message(tmp_path):
    done = tmp_path / ".restore.done"
    done.write_text("")
    with pytest.raises(ServiceError) as raised:
        wait_for_exit_file(str(done), timeout=0.3)
    assert "holds no exit code after 0.3 s" in raised.value.msg


def test_the_wait_is_returned_with_the_facts(tmp_path):
    done = tmp_path / ".restore.done"
    done.write_text("0\n")
    facts = gather({"wait_for_exit_file": str(done), "wait_timeout": 5, "gather": ["filestore_size"],
                    "filestore": str(tmp_path)})
    assert facts["waited"] == {"path": str(done), "exit_code": 0, "ended_at": os.stat(done).st_mtime}
    assert facts["filestore_size"]["files"] == 1
