"""Small helpers for the integration tests."""

import time


def wait_for(check, timeout=60, interval=0.25, what="condition"):
    """Poll `check()` on a monotonic clock until it returns a truthy value; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
