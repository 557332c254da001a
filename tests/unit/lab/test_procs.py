"""The process table stops exactly what it started, and never a process that reused a pid."""

import json
import os
import socket
import subprocess
import sys

import pytest
from lablib.procs import LabError, ProcessTable, ensure_port_free, wait_until


@pytest.fixture
def table(tmp_path):
    return ProcessTable(str(tmp_path / "run"), str(tmp_path / "logs"))


def test_start_record_and_stop(table):
    proc = table.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    assert table.recorded("sleeper")["pid"] == proc.pid
    assert table.stop("sleeper") is True
    assert proc.wait(timeout=5) is not None
    assert table.recorded("sleeper") is None
    assert table.stop("sleeper") is False


def test_a_reused_pid_is_not_ours(table, tmp_path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # pylint: disable=consider-using-with
    try:
        with open(tmp_path / "run" / "ghost.pid", "w", encoding="utf-8") as handle:
            json.dump({"pid": other.pid, "start": "1", "argv": []}, handle)
        assert table.recorded("ghost") is None
        assert table.stop("ghost") is False
        assert other.poll() is None  # still running: it was never ours to stop
    finally:
        other.kill()
        other.wait()


def test_a_taken_port_names_the_service_and_its_log():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(LabError) as caught:
            ensure_port_free("redis", port, "/state/logs/redis.log")
    message = str(caught.value)
    assert message.startswith("redis: port") and str(port) in message and "/state/logs/redis.log" in message


def test_a_service_that_exits_early_is_reported_with_its_log(table):
    proc = table.start("crasher", [sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(LabError) as caught:
        wait_until("crasher", lambda: False, 10, table.log_path("crasher"), proc=proc)
    assert "exited with code 3" in str(caught.value) and table.log_path("crasher") in str(caught.value)


def test_a_service_that_never_gets_ready_times_out(table):
    with pytest.raises(LabError) as caught:
        wait_until("slow", lambda: False, 0.3, "/logs/slow.log")
    assert "slow: not ready within" in str(caught.value) and "/logs/slow.log" in str(caught.value)
    assert os.path.isdir(table.log_dir)
