"""Start, find and stop the lab's processes, by the process ids the lab recorded itself.

A pid file holds the pid and the process start time (from /proc), so a pid that the
kernel has since reused for another program is never mistaken for ours, and never killed.
"""

import errno
import json
import os
import signal
import socket
import subprocess
import time


class LabError(Exception):
    """A lab service could not be brought up; the message names the service and its log."""


def _start_time(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            return None  # a zombie has exited; only its parent has not collected it yet
        return fields[19]  # field 22 of stat: starttime, in clock ticks since boot
    except OSError:
        return None


class ProcessTable:
    def __init__(self, run_dir, log_dir):
        self.run_dir = run_dir
        self.log_dir = log_dir
        os.makedirs(run_dir, exist_ok=True)
        os.makedirs(log_dir, exist_ok=True)

    def log_path(self, name):
        return os.path.join(self.log_dir, name + ".log")

    def _pid_path(self, name):
        return os.path.join(self.run_dir, name + ".pid")

    def recorded(self, name):
        """The live process recorded for `name`, as a dict, or None."""
        try:
            with open(self._pid_path(name), encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError):
            return None
        if _start_time(record["pid"]) != record["start"]:
            return None
        return record

    def names(self):
        return sorted(f[:-4] for f in os.listdir(self.run_dir) if f.endswith(".pid"))

    def start(self, name, argv, env=None, cwd=None, user=None):
        """Start argv in its own session, with output to the service log; record its pid."""
        log = open(self.log_path(name), "ab")  # pylint: disable=consider-using-with
        log.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {name}: {' '.join(argv)}\n".encode())
        log.flush()
        kwargs = {}
        if user is not None:
            kwargs["user"] = user
        try:
            proc = subprocess.Popen(  # pylint: disable=consider-using-with
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
                **kwargs,
            )
        except OSError as exc:
            raise LabError(f"{name}: cannot start {argv[0]}: {exc}. Log: {self.log_path(name)}") from exc
        finally:
            log.close()
        record = {"pid": proc.pid, "start": None, "argv": argv}
        for _attempt in range(50):
            record["start"] = _start_time(proc.pid)
            if record["start"]:
                break
            time.sleep(0.01)
        with open(self._pid_path(name), "w", encoding="utf-8") as handle:
            json.dump(record, handle)
        return proc

    def stop(self, name, timeout=20.0, stop_signal=signal.SIGTERM):
        """Stop the recorded process of `name` and its process group; True when something was stopped."""
        record = self.recorded(name)
        path = self._pid_path(name)
        if record is None:
            if os.path.exists(path):
                os.unlink(path)
            return False
        pid = record["pid"]
        try:
            pgid = os.getpgid(pid)
        except OSError:
            pgid = None
        self._signal(pid, pgid, stop_signal)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _start_time(pid) == record["start"]:
            time.sleep(0.1)
        if _start_time(pid) == record["start"]:
            self._signal(pid, pgid, signal.SIGKILL)
            time.sleep(0.2)
        if os.path.exists(path):
            os.unlink(path)
        return True

    @staticmethod
    def _signal(pid, pgid, sig):
        try:
            if pgid is not None and pgid == pid:
                os.killpg(pgid, sig)
            else:
                os.kill(pid, sig)
        except OSError as exc:
            if exc.errno != errno.ESRCH:
                raise


def group_memory(pgid):
    """(current RSS, sum of peak RSS) in KiB of the processes in process group `pgid`."""
    rss = peak = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) != pgid:
                continue
            with open(f"/proc/{entry}/status", encoding="utf-8") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        peak += int(line.split()[1])
        except OSError:
            continue
    return rss, peak


def port_open(port, host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def ensure_port_free(service, port, log_path):
    if port_open(port):
        raise LabError(
            f"{service}: port {port} on 127.0.0.1 is already taken by a process the lab did not start. "
            f"Stop that process, or set another port in lab/lablib/services.py. Log: {log_path}"
        )


def wait_until(service, check, timeout, log_path, proc=None, what="ready"):
    """Poll check() on a monotonic clock until it is true; fail naming the service and its log."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    last_error = None
    while True:
        try:
            if check():
                return
        except Exception as exc:  # pylint: disable=broad-except
            last_error = exc
        if proc is not None and proc.poll() is not None:
            raise LabError(
                f"{service}: the process exited with code {proc.returncode} before it was {what}. "
                f"Read its log: {log_path}"
            )
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise LabError(
                f"{service}: not {what} within {timeout:.0f}s{detail}. Read its log: {log_path}"
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
