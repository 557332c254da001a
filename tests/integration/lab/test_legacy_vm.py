"""Proof that the lab's legacy VM is real: SSH with the lab's key, its Odoo service, its database and filestore."""

import configparser
import hashlib
import json
import os
import subprocess
import urllib.request

import psycopg
import pytest

# The legacy migration's tests own the VM while they run (its Odoo stopped, its database changed): these run in turn
# with them (make integration).
pytestmark = pytest.mark.legacy_vm


def _ssh(vm, command, key=None, check=True):
    argv = ["ssh", "-i", key or vm["ssh_private_key"], "-p", str(vm["ssh_port"]),
            "-o", f"UserKnownHostsFile={vm['known_hosts']}", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", f"{vm['ssh_user']}@{vm['ssh_host']}", command]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if check and result.returncode not in (0, 3):
        raise AssertionError(f"ssh {command!r} failed ({result.returncode}): {result.stderr}")
    return result


def _conf(vm):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(vm["odoo_conf"])
    return parser["options"]


def _http(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except OSError:
        return None, None


@pytest.fixture(scope="module")
def vm(lab):
    return lab["legacy_vm"]


def test_ssh_with_the_lab_key_runs_a_command(vm):
    result = _ssh(vm, "id -un && /usr/bin/python3 -c 'import sys; print(sys.version_info[0])'")
    assert result.stdout.split() == ["root", "3"]


def test_ssh_listens_on_loopback_only_and_refuses_passwords_and_other_keys(vm, tmp_path):
    with open("/proc/net/tcp", encoding="utf-8") as handle:
        listening = [line.split()[1] for line in handle if line.split()[3] == "0A"]
    port = f"{vm['ssh_port']:04X}"
    assert f"0100007F:{port}" in listening and f"00000000:{port}" not in listening
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    result = _ssh(vm, "true", key=str(other), check=False)
    assert result.returncode == 255 and "Permission denied (publickey)" in result.stderr


def test_known_hosts_pins_the_host_key(vm, tmp_path):
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"[127.0.0.1]:{vm['ssh_port']} ssh-ed25519 "
                     "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
    result = subprocess.run(["ssh", "-i", vm["ssh_private_key"], "-p", str(vm["ssh_port"]), "-o", "BatchMode=yes",
                             "-o", f"UserKnownHostsFile={wrong}", "-o", "StrictHostKeyChecking=yes",
                             f"root@{vm['ssh_host']}", "true"], capture_output=True, text=True, check=False)
    assert result.returncode == 255 and "HOST IDENTIFICATION HAS CHANGED" in result.stderr


def test_odooctl_stops_starts_disables_and_enables_odoo(vm):
    url = vm["odoo_url"]
    was_running = _ssh(vm, f"{vm['odooctl']} status").returncode == 0
    was_enabled = _ssh(vm, f"{vm['odooctl']} is-enabled", check=False).returncode == 0
    try:
        assert _ssh(vm, f"{vm['odooctl']} stop").returncode == 0
        assert _ssh(vm, f"{vm['odooctl']} status").returncode == 3
        assert _http(url + "/web/health") == (None, None)
        assert _ssh(vm, f"{vm['odooctl']} stop").returncode == 0  # stopping a stopped Odoo is fine
        assert _ssh(vm, f"{vm['odooctl']} start").returncode == 0
        assert _ssh(vm, f"{vm['odooctl']} status").returncode == 0
        assert _http(url + "/web/health") == (200, {"status": "pass"})
        status, body = _http(url + "/web/webclient/version_info")
        assert status == 200 and body["result"]["server_serie"] == "16.0"
        pid = open(_conf(vm)["pidfile"], encoding="utf-8").read().strip()
        assert _ssh(vm, f"{vm['odooctl']} start").stdout.strip() == f"odoo is running (pid {pid})"
        # As systemctl: disable --now stops it and keeps it from starting at boot; enable --now undoes both.
        assert _ssh(vm, f"{vm['odooctl']} enable").returncode == 0
        assert _ssh(vm, f"{vm['odooctl']} is-enabled").stdout.strip() == "enabled"
        assert _ssh(vm, f"{vm['odooctl']} disable --now").returncode == 0
        disabled = _ssh(vm, f"{vm['odooctl']} is-enabled", check=False)
        assert disabled.returncode == 1 and disabled.stdout.strip() == "disabled"
        assert _ssh(vm, f"{vm['odooctl']} status").returncode == 3 and _http(url + "/web/health") == (None, None)
        assert _ssh(vm, f"{vm['odooctl']} enable --now").returncode == 0
        assert _ssh(vm, f"{vm['odooctl']} is-enabled").returncode == 0
        assert _http(url + "/web/health") == (200, {"status": "pass"})
        assert _ssh(vm, f"{vm['odooctl']} disable --later", check=False).returncode == 2  # usage
    finally:
        _ssh(vm, f"{vm['odooctl']} {'enable' if was_enabled else 'disable'}")
        _ssh(vm, f"{vm['odooctl']} {'start' if was_running else 'stop'}")


def test_odoo_conf_is_an_odoo_16_conf(vm, lab):
    conf = _conf(vm)
    assert conf["db_name"] == vm["database"] == "hooli"
    assert int(conf["db_port"]) == lab["postgres"]["legacy"]["port"]
    assert conf["db_user"] == "odoo" and conf["data_dir"] == vm["data_dir"]
    assert "addons_path" in conf and oct(os.stat(vm["odoo_conf"]).st_mode & 0o777) == "0o640"


def test_database_and_filestore_agree(vm):
    conf = _conf(vm)
    with psycopg.connect(host=conf["db_host"], port=int(conf["db_port"]), user=conf["db_user"],
                         password=conf["db_password"], dbname=conf["db_name"]) as conn:
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
        assert owner.fetchone()[0] == "odoo"
        base = conn.execute("SELECT state, latest_version FROM ir_module_module WHERE name = 'base'").fetchone()
        assert base == ("installed", "16.0.1.3")
        keys = {row[0] for row in conn.execute("SELECT key FROM ir_config_parameter")}
        assert {"database.uuid", "database.secret", "web.base.url"} <= keys
        assert conn.execute("SELECT count(*) FROM res_users").fetchone()[0] >= 2
        assert conn.execute("SELECT count(*) FROM res_partner").fetchone()[0] >= 100
        rows = conn.execute("SELECT store_fname, checksum, file_size FROM ir_attachment "
                            "WHERE store_fname IS NOT NULL").fetchall()
        extensions = {row[0] for row in conn.execute("SELECT extname FROM pg_extension")}
    assert extensions == {"plpgsql", "pg_trgm", "unaccent"}
    assert len(rows) >= 10
    filestore = os.path.join(conf["data_dir"], "filestore", conf["db_name"])
    on_disk = set()
    for folder in os.listdir(filestore):
        on_disk.update(f"{folder}/{name}" for name in os.listdir(os.path.join(filestore, folder)))
    assert on_disk == {row[0] for row in rows}
    for store_fname, checksum, size in rows:
        with open(os.path.join(filestore, store_fname), "rb") as handle:
            data = handle.read()
        assert hashlib.sha1(data).hexdigest() == checksum == store_fname.split("/")[1]
        assert len(data) == size
