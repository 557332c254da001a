"""controller_job: jobs on the controller, started by the task's worker, read back from their files and processes."""

import os
import signal
import time

from integration.ansible_task import run_tasks

SECRET = "s3cret:pa\\ss-controller-job"


def test_a_started_job_gets_its_stdin_and_is_waited_for(tmp_path):
    done, copy = str(tmp_path / "job.done"), str(tmp_path / "stdin-copy")
    started, waited = run_tasks("controller_job", [
        {"mode": "start", "script": f"umask 077; cat > {copy}; sleep 1.2; echo copied; echo warned >&2",
         "stdin": SECRET, "exit_file": done, "env": {"JOB_FLAVOUR": "test"}},
        {"mode": "wait", "exit_file": done, "timeout": 60},
    ], verbosity=3)
    assert started["changed"] and started["pid"] > 0 and started["log_file"] == done + ".log", started
    assert not waited.get("failed") and waited["rc"] == 0 and not waited["changed"], waited
    # ended_at is the exit file's mtime, from the kernel's coarse clock (a few ms behind time.time()): the job sleeps
    # 1.2 s, so that it ends at least 1 s after its start whatever that tick.
    assert waited["output"] == "copied\nwarned\n" and waited["ended_at"] >= started["started_at"] + 1
    # Read back: the job got the secret on its stdin; its exit code and output are in their files (0600 output).
    with open(copy, encoding="utf-8") as handle:
        assert handle.read() == SECRET
    with open(done, encoding="utf-8") as handle:
        assert handle.read() == "0\n"
    assert os.stat(done + ".log").st_mode & 0o777 == 0o600
    # The secret shows nowhere in the playbook's output, even at -vvv.
    assert SECRET not in started.output and "pa\\\\ss" not in started.output


def test_a_failed_run_reports_its_code_and_output(tmp_path):
    done = str(tmp_path / "fail.done")
    [failed] = run_tasks("controller_job", [{"argv": ["sh", "-c", "echo 'pg_restore: error: boom' >&2; exit 3"],
                                             "exit_file": done}])
    assert failed["failed"] and failed["rc"] == 3, failed
    assert "exit code 3" in failed["msg"] and "pg_restore: error: boom" in failed["msg"], failed["msg"]
    with open(done, encoding="utf-8") as handle:
        assert handle.read() == "3\n"


def test_a_killed_job_ends_with_128_plus_its_signal(tmp_path):
    done, pidfile = str(tmp_path / "killed.done"), str(tmp_path / "pid")
    [started] = run_tasks("controller_job", [{"mode": "start", "script": f"echo $$ > {pidfile}; exec sleep 60",
                                              "exit_file": done}])
    assert started["changed"], started
    deadline = time.monotonic() + 10
    while not os.path.exists(pidfile) and time.monotonic() < deadline:
        time.sleep(0.05)
    with open(pidfile, encoding="utf-8") as handle:
        os.kill(int(handle.read()), signal.SIGKILL)
    [waited] = run_tasks("controller_job", [{"mode": "wait", "exit_file": done, "timeout": 30}])
    assert waited["failed"] and waited["rc"] == 128 + signal.SIGKILL, waited


def test_check_mode_starts_nothing(tmp_path):
    done, mark = str(tmp_path / "check.done"), str(tmp_path / "ran")
    results = run_tasks("controller_job", [{"mode": mode, "argv": ["touch", mark], "exit_file": done}
                                           for mode in ("start", "run")], check=True)
    for result in results:
        assert result["skipped"] and result["changed"] and "check mode" in result["msg"], result
    assert not os.path.exists(mark) and not os.path.exists(done) and not os.path.exists(done + ".log")


def test_bad_input_is_refused_before_anything_starts(tmp_path):
    done, mark = str(tmp_path / "bad.done"), str(tmp_path / "ran")
    results = run_tasks("controller_job", [
        {"mode": "start", "exit_file": done},
        {"argv": ["touch", mark], "script": f"touch {mark}", "exit_file": done},
        {"mode": "wait", "exit_file": str(tmp_path / "never.done"), "timeout": 1},
    ])
    assert results[0]["failed"] and "argv" in results[0]["msg"] and "script" in results[0]["msg"], results[0]
    assert results[1]["failed"] and "mutually exclusive" in results[1]["msg"], results[1]
    assert results[2]["failed"] and "has not ended after 1 s" in results[2]["msg"], results[2]
    assert not os.path.exists(mark) and not os.path.exists(done)
