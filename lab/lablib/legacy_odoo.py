"""The files of the lab's legacy VM: a stand-in Odoo server, its `odooctl`, and its `odoo.conf`.

These are written into the VM's root folder as text; they run with the VM's `/usr/bin/python3`
and the standard library only, as a real VM's tools would.
"""

ODOO_BIN = r'''#!/usr/bin/python3
"""A stand-in Odoo 16 HTTP server: /web/health and /web/webclient/version_info. Reads odoo.conf."""
import configparser
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION_INFO = {"server_version": "16.0", "server_version_info": [16, 0, 0, "final", 0, ""],
                "server_serie": "16.0", "protocol_version": 1}


def main():
    conf = sys.argv[sys.argv.index("-c") + 1]
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(conf)
    options = parser["options"]

    class Handler(BaseHTTPRequestHandler):
        def _json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802
            if self.path == "/web/health":
                self._json(200, {"status": "pass"})
            elif self.path.startswith("/web/webclient/version_info"):
                self._json(200, {"jsonrpc": "2.0", "id": None, "result": VERSION_INFO})
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.do_GET()

        def log_message(self, fmt, *args):
            sys.stdout.write("%s %s\n" % (self.address_string(), fmt % args))
            sys.stdout.flush()

    server = ThreadingHTTPServer((options.get("http_interface", "127.0.0.1"), int(options["http_port"])), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("odoo stand-in 16.0 serving database %s on port %s" % (options.get("db_name"), options["http_port"]),
          flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
'''

ODOOCTL = r'''#!/usr/bin/python3
"""odooctl start|stop|status|restart|enable [--now]|disable [--now]|is-enabled: the legacy VM's Odoo service, by
its PID file, as systemctl runs a unit. status: 0 running, 3 stopped. A disabled service does not start when the VM
boots (the lab's lab-up); is-enabled: 0 enabled, 1 disabled."""
import configparser
import os
import signal
import subprocess
import sys
import time
import urllib.request

CONF = @CONF@
ODOO_BIN = @ODOO_BIN@


def options():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(CONF)
    return parser["options"]


def running_pid(opts):
    try:
        with open(opts["pidfile"], encoding="utf-8") as handle:
            pid = int(handle.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            cmdline = handle.read()
        state = open("/proc/%d/stat" % pid, encoding="utf-8").read().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError):
        return None
    if ODOO_BIN.encode() not in cmdline or state == "Z":
        return None
    return pid


def healthy(opts):
    url = "http://%s:%s/web/health" % (opts.get("http_interface", "127.0.0.1"), opts["http_port"])
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def start(opts):
    pid = running_pid(opts)
    if pid:
        print("odoo is running (pid %d)" % pid)
        return 0
    os.makedirs(os.path.dirname(opts["pidfile"]), exist_ok=True)
    os.makedirs(os.path.dirname(opts["logfile"]), exist_ok=True)
    with open(opts["logfile"], "ab") as log:
        proc = subprocess.Popen([sys.executable, ODOO_BIN, "-c", CONF], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    with open(opts["pidfile"], "w", encoding="utf-8") as handle:
        handle.write("%d\n" % proc.pid)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print("odoo exited with code %s; read %s" % (proc.returncode, opts["logfile"]), file=sys.stderr)
            return 1
        if healthy(opts):
            print("odoo started (pid %d)" % proc.pid)
            return 0
        time.sleep(0.1)
    print("odoo did not answer /web/health within 15s; read %s" % opts["logfile"], file=sys.stderr)
    return 1


def stop(opts):
    pid = running_pid(opts)
    if not pid:
        print("odoo is stopped")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and running_pid(opts):
        time.sleep(0.1)
    if running_pid(opts):
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    try:
        os.unlink(opts["pidfile"])
    except OSError:
        pass
    print("odoo stopped (was pid %d)" % pid)
    return 0


def status(opts):
    pid = running_pid(opts)
    if pid:
        print("odoo is running (pid %d)" % pid)
        return 0
    print("odoo is stopped")
    return 3


DISABLED = @DISABLED@


def enable(opts, now):
    if os.path.exists(DISABLED):
        os.unlink(DISABLED)
        print("odoo enabled")
    return start(opts) if now else 0


def disable(opts, now):
    if not os.path.exists(DISABLED):
        open(DISABLED, "w", encoding="utf-8").close()
        print("odoo disabled")
    return stop(opts) if now else 0


def is_enabled(_opts):
    enabled = not os.path.exists(DISABLED)
    print("enabled" if enabled else "disabled")
    return 0 if enabled else 1


def main():
    args = sys.argv[1:]
    now = args[1:] == ["--now"] and args[0] in ("enable", "disable")
    if not args or len(args) > 1 + now or args[0] not in ("start", "stop", "status", "restart", "enable", "disable",
                                                          "is-enabled"):
        print("usage: odooctl start|stop|status|restart|enable [--now]|disable [--now]|is-enabled", file=sys.stderr)
        return 2
    opts = options()
    if args[0] == "restart":
        stop(opts)
        return start(opts)
    if args[0] in ("enable", "disable"):
        return {"enable": enable, "disable": disable}[args[0]](opts, now)
    return {"start": start, "stop": stop, "status": status, "is-enabled": is_enabled}[args[0]](opts)


if __name__ == "__main__":
    sys.exit(main())
'''


def odoo_conf(settings):
    """An Odoo 16 odoo.conf, from a dict of options (written in this order)."""
    lines = ["[options]"] + [f"{key} = {value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def disabled_mark(conf_path):
    """odooctl disable's mark: while it exists, the VM's Odoo does not start when the VM boots (as systemctl disable
    removes a unit's links)."""
    return conf_path + ".disabled"


def odooctl(conf_path, odoo_bin_path):
    return (ODOOCTL.replace("@CONF@", repr(conf_path)).replace("@ODOO_BIN@", repr(odoo_bin_path))
            .replace("@DISABLED@", repr(disabled_mark(conf_path))))
