"""_kube.Client's retries and _kube.wait_for's timeout, over real HTTP to a local server that answers as an API
server does when it sheds load (429 with Retry-After), fails (5xx) or refuses (4xx)."""

import http.server
import json
import threading
import time

import pytest

from ansible_collections.odoo_saas.platform.plugins.module_utils import _kube


class Scripted(http.server.BaseHTTPRequestHandler):
    """Answers each request with the next (status, headers) of the server's script, then 200 with a ConfigMap."""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append((self.command, self.path))
        status, headers = self.server.script.pop(0) if self.server.script else (200, {})
        body = json.dumps({"kind": "ConfigMap", "metadata": {"name": "c"}} if status < 400
                          else {"kind": "Status", "message": f"scripted {status}", "reason": "Scripted"}).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PATCH = do_POST = do_DELETE = _answer

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    httpd.script, httpd.seen = [], []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def client_for(server):
    return _kube.Client({"host": f"http://127.0.0.1:{server.server_address[1]}", "api_key": "t"})


def test_429_is_retried_after_the_servers_retry_after(server):
    server.script = [(429, {"Retry-After": "1"}), (429, {"Retry-After": "0"})]
    started = time.monotonic()
    with client_for(server) as kube:
        assert kube.get("ConfigMap", "c", "n")["metadata"]["name"] == "c"
        assert kube.requests == 3 and kube.writes == 0
    assert len(server.seen) == 3 and time.monotonic() - started >= 1.0


def test_5xx_on_an_apply_is_retried_and_every_attempt_counts_as_a_write(server):
    server.script = [(503, {}), (500, {})]
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}
    with client_for(server) as kube:
        kube.apply(obj)
        assert kube.writes == 3
    assert [m for m, _p in server.seen] == ["PATCH"] * 3
    assert "fieldManager=odoo_saas.platform" in server.seen[0][1] and "force=true" in server.seen[0][1]


def test_a_refusal_is_not_retried_and_says_what_was_refused(server):
    server.script = [(422, {})]
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}
    with client_for(server) as kube:
        with pytest.raises(_kube.KubeError) as caught:
            kube.apply(obj)
    assert len(server.seen) == 1 and caught.value.status == 422
    assert "apply ConfigMap n/c: 422 scripted 422" in caught.value.msg


def test_retries_stop_after_the_last_attempt(server):
    server.script = [(503, {"Retry-After": "0"})] * 10
    with client_for(server) as kube:
        status, _data = kube.request("GET", "/api/v1/namespaces/n/configmaps/c", attempts=3)
    assert status == 503 and len(server.seen) == 3


def test_a_dry_run_is_not_counted_as_a_write(server):
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}
    with client_for(server) as kube:
        kube.apply(obj, dry_run=True)
        assert kube.writes == 0 and kube.requests == 1
    assert "dryRun=All" in server.seen[0][1]


def test_a_wait_that_times_out_raises_with_the_last_state_it_saw():
    seen = []

    def check():
        seen.append(len(seen))
        return False, {"ready": 0, "polls": len(seen)}

    started = time.monotonic()
    with pytest.raises(_kube.KubeError) as caught:
        _kube.wait_for(check, 0.3, "Deployment n/odoo-web to be Available", interval=0.05)
    assert time.monotonic() - started >= 0.3
    assert caught.value.msg == "timed out after 0.3s waiting for Deployment n/odoo-web to be Available"
    assert caught.value.details["state"] == {"ready": 0, "polls": len(seen)} and len(seen) >= 2
