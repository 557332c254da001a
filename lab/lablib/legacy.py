"""The lab's legacy VM: an Odoo 16 host reached over SSH, as a migration finds it.

- an sshd on 127.0.0.1 with its own configuration and host key in the lab state folder, key-only
  authentication with an ed25519 key made by the lab, and a known_hosts file for clients (the
  system's own sshd is left alone);
- a "VM root" folder holding `etc/odoo/odoo.conf`, the data_dir with its filestore, a stand-in Odoo
  HTTP server and `odooctl start|stop|status` (a PID file; status 0 running, 3 stopped);
- an Odoo-shaped database on the lab's legacy PostgreSQL, owned by the role `odoo`, whose
  ir_attachment rows match the filestore files by name and SHA-1.

`seed_odoo_database()` is reused by bench/migration.py with a size (pgbench scale, rows, files).
"""

import hashlib
import os
import random
import shutil
import socket
import subprocess
import uuid

from . import legacy_odoo
from .procs import LabError

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
DATABASE = "hooli"
DB_OWNER = "odoo"
SEED_MARKER = "lab.seed"

# Odoo 16 modules as a small shop has them: (name, state, latest_version).
MODULES = [
    ("base", "installed", "16.0.1.3"), ("web", "installed", "16.0.1.0"), ("mail", "installed", "16.0.1.10"),
    ("contacts", "installed", "16.0.1.0"), ("product", "installed", "16.0.1.2"), ("sale", "installed", "16.0.1.2"),
    ("account", "installed", "16.0.1.2"), ("stock", "installed", "16.0.1.1"), ("point_of_sale", "uninstalled", None),
    ("website", "uninstalled", None),
]

SCHEMA = """
CREATE TABLE ir_module_module (
    id serial PRIMARY KEY, name varchar NOT NULL UNIQUE, state varchar(16), latest_version varchar,
    author varchar, summary jsonb, create_date timestamp DEFAULT (now() AT TIME ZONE 'UTC'), write_date timestamp);
CREATE TABLE ir_config_parameter (
    id serial PRIMARY KEY, key varchar NOT NULL UNIQUE, value text NOT NULL,
    create_date timestamp DEFAULT (now() AT TIME ZONE 'UTC'), write_date timestamp);
CREATE TABLE res_company (id serial PRIMARY KEY, name varchar NOT NULL, partner_id integer, currency_id integer);
CREATE TABLE res_partner (
    id serial PRIMARY KEY, name varchar, display_name varchar, email varchar, phone varchar, street varchar,
    city varchar, zip varchar, country_id integer, company_id integer REFERENCES res_company(id),
    is_company boolean DEFAULT false, active boolean DEFAULT true,
    create_date timestamp DEFAULT (now() AT TIME ZONE 'UTC'), write_date timestamp);
CREATE INDEX res_partner_name_trgm ON res_partner USING gin (name gin_trgm_ops);
CREATE TABLE res_users (
    id serial PRIMARY KEY, login varchar NOT NULL UNIQUE, password varchar, partner_id integer NOT NULL
    REFERENCES res_partner(id), company_id integer REFERENCES res_company(id), active boolean DEFAULT true,
    share boolean DEFAULT false, create_date timestamp DEFAULT (now() AT TIME ZONE 'UTC'));
CREATE TABLE ir_attachment (
    id serial PRIMARY KEY, name varchar NOT NULL, res_model varchar, res_field varchar, res_id integer,
    company_id integer, type varchar NOT NULL DEFAULT 'binary', url varchar, public boolean DEFAULT false,
    access_token varchar, db_datas bytea, store_fname varchar, file_size integer, checksum varchar(40),
    mimetype varchar, index_content text, create_date timestamp DEFAULT (now() AT TIME ZONE 'UTC'));
CREATE INDEX ir_attachment_checksum_index ON ir_attachment (checksum);
CREATE INDEX ir_attachment_res_idx ON ir_attachment (res_model, res_id);
CREATE TABLE product_template (
    id serial PRIMARY KEY, name jsonb NOT NULL, default_code varchar, list_price numeric, active boolean DEFAULT true);
CREATE TABLE product_product (
    id serial PRIMARY KEY, product_tmpl_id integer NOT NULL REFERENCES product_template(id), barcode varchar);
CREATE TABLE sale_order (
    id serial PRIMARY KEY, name varchar NOT NULL, partner_id integer NOT NULL REFERENCES res_partner(id),
    date_order timestamp NOT NULL, state varchar, amount_total numeric);
CREATE TABLE sale_order_line (
    id serial PRIMARY KEY, order_id integer NOT NULL REFERENCES sale_order(id) ON DELETE CASCADE,
    product_id integer REFERENCES product_product(id), name text, product_uom_qty numeric, price_unit numeric);
CREATE INDEX sale_order_line_order_id_index ON sale_order_line (order_id);
CREATE TABLE account_move (
    id serial PRIMARY KEY, name varchar, partner_id integer REFERENCES res_partner(id), date date NOT NULL,
    state varchar NOT NULL, amount_total numeric, ref text);
CREATE TABLE account_move_line (
    id serial PRIMARY KEY, move_id integer NOT NULL REFERENCES account_move(id) ON DELETE CASCADE,
    account_code varchar, name text, debit numeric DEFAULT 0, credit numeric DEFAULT 0);
CREATE INDEX account_move_line_move_id_index ON account_move_line (move_id);
"""

# Business rows, per unit of `rows`: partners, products, orders (3 lines each), moves (2 lines each).
BUSINESS = """
INSERT INTO res_partner (name, display_name, email, phone, street, city, zip, country_id, company_id, is_company)
SELECT 'Partner ' || g, 'Partner ' || g, 'partner' || g || '@example.com', '+32 2 555 ' || lpad(g::text, 4, '0'),
       g || ' Avenue Louise', (ARRAY['Brussels','Ghent','Liege','Namur'])[1 + g % 4], (1000 + g % 9000)::text, 21, 1,
       g % 7 = 0
FROM generate_series(1, %(partners)s) g;
INSERT INTO product_template (name, default_code, list_price)
SELECT jsonb_build_object('en_US', 'Product ' || g), 'P' || lpad(g::text, 6, '0'), (g % 500) + 0.99
FROM generate_series(1, %(products)s) g;
INSERT INTO product_product (product_tmpl_id, barcode) SELECT id, '54' || lpad(id::text, 11, '0') FROM product_template;
INSERT INTO sale_order (name, partner_id, date_order, state, amount_total)
SELECT 'S' || lpad(g::text, 6, '0'), 2 + g % %(partners)s, timestamp '2023-01-01' + g * interval '17 minutes',
       (ARRAY['draft','sale','done','cancel'])[1 + g % 4], round((g % 997) * 1.37, 2)
FROM generate_series(1, %(orders)s) g;
INSERT INTO sale_order_line (order_id, product_id, name, product_uom_qty, price_unit)
SELECT o.id, 1 + (o.id * l) % %(products)s, 'line ' || l || ' of ' || o.name, l, 9.99 * l
FROM sale_order o, generate_series(1, 3) l;
INSERT INTO account_move (name, partner_id, date, state, amount_total, ref)
SELECT 'INV/2023/' || lpad(g::text, 6, '0'), 2 + g % %(partners)s, date '2023-01-01' + g % 365, 'posted',
       round((g % 997) * 1.37, 2), 'S' || lpad(g::text, 6, '0')
FROM generate_series(1, %(orders)s) g;
INSERT INTO account_move_line (move_id, account_code, name, debit, credit)
SELECT m.id, c.code, m.name, CASE WHEN c.code = '400000' THEN m.amount_total ELSE 0 END,
       CASE WHEN c.code = '700000' THEN m.amount_total ELSE 0 END
FROM account_move m, (VALUES ('400000'), ('700000')) c(code);
"""


def _connect(pg, dbname):
    import psycopg  # pylint: disable=import-outside-toplevel

    return psycopg.connect(host=pg["host"], port=pg["port"], user=pg["user"], password=pg["password"],
                           dbname=dbname, autocommit=True)


def seeded(pg, dbname):
    """True when `dbname` exists and its seeding finished."""
    with _connect(pg, "postgres") as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            return False
    with _connect(pg, dbname) as conn:
        if not conn.execute("SELECT 1 FROM pg_class WHERE relname = 'ir_config_parameter'").fetchone():
            return False
        return bool(conn.execute("SELECT 1 FROM ir_config_parameter WHERE key = %s", (SEED_MARKER,)).fetchone())


def _filestore_files(filestore, count, total_bytes, seed):
    """Write `count` files of about total_bytes in all (random, incompressible) into filestore/<2 hex>/<sha1>."""
    rng = random.Random(seed)
    rows = []
    if count <= 0:
        return rows
    mean = max(64, total_bytes // count)
    for index in range(count):
        size = max(16, int(mean * rng.uniform(0.5, 1.5)))
        data = rng.randbytes(size) if size < 65536 else os.urandom(size)
        sha1 = hashlib.sha1(data).hexdigest()
        folder = os.path.join(filestore, sha1[:2])
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, sha1), "wb") as handle:
            handle.write(data)
        kind = ("application/pdf", "image/png", "image/jpeg")[index % 3]
        rows.append((f"document-{index}.{kind.split('/')[1]}", f"{sha1[:2]}/{sha1}", sha1, size, kind))
    return rows


def seed_odoo_database(pg, dbname, owner, owner_password, data_dir, *, rows=1, files=24, filestore_bytes=2 << 20,
                       pgbench_scale=0, pg_bin_dir="/usr/lib/postgresql/15/bin", base_url=None):
    """Create an Odoo-16-shaped database `dbname` owned by `owner`, and its filestore under data_dir.

    pg is a superuser connection dict (host, port, user, password). `rows` scales the business tables
    (1 unit = 200 partners, 500 orders); `files` and `filestore_bytes` size the filestore;
    `pgbench_scale` > 0 adds pgbench's tables (about 15 MB per unit) to make the database big.
    Idempotent: a finished seed is kept; a half-finished one is dropped and made again.
    Returns a summary dict.
    """
    if seeded(pg, dbname):
        return {"database": dbname, "seeded": False}
    filestore = os.path.join(data_dir, "filestore", dbname)
    shutil.rmtree(filestore, ignore_errors=True)
    os.makedirs(filestore, exist_ok=True)
    with _connect(pg, "postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)).fetchone():
            conn.execute(f"ALTER ROLE \"{owner}\" LOGIN PASSWORD '{owner_password}'")
        else:
            conn.execute(f"CREATE ROLE \"{owner}\" LOGIN CREATEDB PASSWORD '{owner_password}'")
        conn.execute(f'CREATE DATABASE "{dbname}" OWNER "{owner}" TEMPLATE template0 ENCODING UTF8')
    attachments = _filestore_files(filestore, files, filestore_bytes, seed=dbname)
    units = {"partners": 200 * rows, "products": 50 * rows, "orders": 500 * rows}
    with _connect(pg, dbname) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        conn.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        conn.execute(f'SET ROLE "{owner}"')
        conn.execute(SCHEMA)
        conn.execute("INSERT INTO res_company (id, name, partner_id, currency_id) VALUES (1, %s, 1, 1)",
                     (dbname.capitalize() + " SA",))
        conn.execute("SELECT setval('res_company_id_seq', 1)")
        conn.execute("INSERT INTO res_partner (name, display_name, company_id, is_company) VALUES (%s, %s, 1, true)",
                     (dbname.capitalize() + " SA", dbname.capitalize() + " SA"))
        conn.execute(BUSINESS.replace("%(partners)s", str(units["partners"]))
                     .replace("%(products)s", str(units["products"])).replace("%(orders)s", str(units["orders"])))
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO ir_module_module (name, state, latest_version, author) "
                            "VALUES (%s, %s, %s, 'Odoo S.A.')", MODULES)
            cur.executemany("INSERT INTO res_users (login, password, partner_id, company_id, share) "
                            "VALUES (%s, %s, %s, 1, %s)",
                            [("__system__", None, 1, False), ("admin", "$pbkdf2-sha512$25000$lab", 1, False)]
                            + [(f"user{n}@example.com", None, 1 + n, n > 5) for n in range(1, 11)])
            cur.executemany("INSERT INTO ir_attachment (name, res_model, res_id, store_fname, checksum, file_size, "
                            "mimetype, type, company_id) VALUES (%s, 'res.partner', 2, %s, %s, %s, %s, 'binary', 1)",
                            attachments)
            # An attachment stored in the database, and a URL one: neither has a file.
            cur.execute("INSERT INTO ir_attachment (name, type, db_datas, file_size) "
                        "VALUES ('inline.txt', 'binary', 'hello', 5)")
            cur.execute("INSERT INTO ir_attachment (name, type, url) VALUES ('docs', 'url', 'https://www.odoo.com')")
            params = [("database.uuid", None), ("database.secret", None),
                      ("web.base.url", base_url or f"https://{dbname}.example.com"),
                      ("database.create_date", "2023-01-01 09:00:00"), ("base.module_uninstall", "False")]
            for key, value in params:
                if value is None:
                    value = str(uuid.uuid4()) if key == "database.uuid" else os.urandom(16).hex()
                cur.execute("INSERT INTO ir_config_parameter (key, value) VALUES (%s, %s)", (key, value))
        conn.execute("RESET ROLE")
    if pgbench_scale > 0:
        env = dict(os.environ, PGPASSWORD=owner_password)
        result = subprocess.run([os.path.join(pg_bin_dir, "pgbench"), "-i", "-q", "-s", str(pgbench_scale),
                                 "-h", pg["host"], "-p", str(pg["port"]), "-U", owner, dbname],
                                env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LabError(f"legacy-vm: pgbench -i failed: {result.stderr.strip()}")
    with _connect(pg, dbname) as conn:
        conn.execute("ANALYZE")
        conn.execute("INSERT INTO ir_config_parameter (key, value) VALUES (%s, 'done')", (SEED_MARKER,))
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {"database": dbname, "seeded": True, "size_bytes": size, "files": len(attachments),
            "filestore_bytes": sum(row[3] for row in attachments)}


def write_vm_files(root, conf_settings):
    """Write a VM root's odoo.conf, stand-in Odoo and odooctl. Returns (conf path, odooctl path)."""
    for sub in ("etc/odoo", "opt/odoo", "var/lib/odoo", "var/log/odoo", "var/run/odoo"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    conf = os.path.join(root, "etc/odoo/odoo.conf")
    odoo_bin = os.path.join(root, "opt/odoo/odoo-bin")
    odooctl = os.path.join(root, "opt/odoo/odooctl")
    _write(conf, legacy_odoo.odoo_conf(conf_settings), 0o640)
    _write(odoo_bin, legacy_odoo.ODOO_BIN, 0o755)
    _write(odooctl, legacy_odoo.odooctl(conf, odoo_bin), 0o755)
    return conf, odooctl


def _write(path, text, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, mode)


def _ssh_banner(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            return sock.recv(64).startswith(b"SSH-2.0-")
    except OSError:
        return False


class LegacyVM:
    """The legacy VM: its sshd is a lab service (`legacy-vm`); its Odoo is the VM's own, run by odooctl."""

    def __init__(self, lab, ssh_port, odoo_port):
        self.lab = lab
        self.dir = os.path.join(lab.state, "legacy")
        self.ssh_dir = os.path.join(self.dir, "ssh")
        self.root = os.path.join(self.dir, "vm")
        self.ssh_port = ssh_port
        self.odoo_port = odoo_port
        self.conf = os.path.join(self.root, "etc/odoo/odoo.conf")
        self.odooctl = os.path.join(self.root, "opt/odoo/odooctl")
        self.data_dir = os.path.join(self.root, "var/lib/odoo")

    # -------------------------------------------------------------- ssh
    def _keys(self):
        os.makedirs(self.ssh_dir, mode=0o700, exist_ok=True)
        os.chmod(self.dir, 0o755)
        host_key = os.path.join(self.ssh_dir, "ssh_host_ed25519_key")
        client_key = os.path.join(self.ssh_dir, "id_ed25519")
        for path, comment in ((host_key, "legacy-vm host key"), (client_key, "odoo-saas-lab migration")):
            if not os.path.exists(path):
                subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
                               check=True, capture_output=True)
        with open(client_key + ".pub", encoding="utf-8") as handle:
            _write(os.path.join(self.ssh_dir, "authorized_keys"), handle.read(), 0o600)
        with open(host_key + ".pub", encoding="utf-8") as handle:
            kind, key = handle.read().split()[:2]
        known_hosts = os.path.join(self.ssh_dir, "known_hosts")
        _write(known_hosts, f"[127.0.0.1]:{self.ssh_port} {kind} {key}\n", 0o644)
        return host_key, client_key, known_hosts

    def _sshd_config(self, host_key):
        path = os.path.join(self.ssh_dir, "sshd_config")
        _write(path, "\n".join([
            f"Port {self.ssh_port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}",
            f"PidFile {os.path.join(self.ssh_dir, 'sshd.pid')}",
            f"AuthorizedKeysFile {os.path.join(self.ssh_dir, 'authorized_keys')}",
            "PubkeyAuthentication yes", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password", "AllowUsers root", "UsePAM no", "StrictModes yes",
            "PrintMotd no", "X11Forwarding no", "AllowTcpForwarding yes", "Subsystem sftp internal-sftp",
            "LogLevel INFO", "",
        ]), 0o600)
        result = subprocess.run([SSHD, "-t", "-f", path], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LabError(f"legacy-vm: sshd rejects its configuration {path}: {result.stderr.strip()}")
        return path

    # ----------------------------------------------------------- public
    def start(self, pg_legacy):
        if not os.path.exists(SSHD):
            raise LabError(f"legacy-vm: {SSHD} not found; install Debian's openssh-server (make deps does).")
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
        host_key, client_key, known_hosts = self._keys()
        config = self._sshd_config(host_key)
        db_password = self.lab.secrets.get("legacy-odoo-db")
        conf, odooctl = write_vm_files(self.root, {
            "admin_passwd": self.lab.secrets.get("legacy-odoo-admin"),
            "db_host": pg_legacy["host"], "db_port": pg_legacy["port"], "db_user": DB_OWNER,
            "db_password": db_password, "db_name": DATABASE, "dbfilter": f"^{DATABASE}$", "list_db": "False",
            "data_dir": self.data_dir,
            "addons_path": f"{self.root}/opt/odoo/odoo/addons,{self.root}/opt/odoo/custom-addons",
            "http_interface": "127.0.0.1", "http_port": self.odoo_port, "proxy_mode": "True", "workers": "2",
            "max_cron_threads": "1", "logfile": f"{self.root}/var/log/odoo/odoo.log",
            "pidfile": f"{self.root}/var/run/odoo/odoo.pid",
        })
        seed = seed_odoo_database(pg_legacy, DATABASE, DB_OWNER, db_password, self.data_dir,
                                  pg_bin_dir=pg_legacy["bin_dir"], base_url=f"https://{DATABASE}.example.com")
        booted = not self.lab.procs.recorded("legacy-vm")
        self.lab._launch("legacy-vm", [SSHD, "-D", "-e", "-f", config],  # pylint: disable=protected-access
                         port=self.ssh_port, ready=lambda: _ssh_banner(self.ssh_port))
        disabled = legacy_odoo.disabled_mark(conf)
        if seed["seeded"] and os.path.exists(disabled):
            os.unlink(disabled)  # a VM seeded afresh is a new VM, with its service enabled
        if seed["seeded"] or (booted and not os.path.exists(disabled)):
            # The VM (re)booted: its Odoo service starts when it is enabled, as a systemd unit would.
            result = subprocess.run(["/usr/bin/python3", odooctl, "start"], capture_output=True, text=True,
                                    check=False)
            if result.returncode != 0:
                raise LabError(f"legacy-vm: odooctl start failed: {result.stderr.strip()} "
                               f"(log {self.root}/var/log/odoo/odoo.log)")
        return {
            "ssh_host": "127.0.0.1", "ssh_port": self.ssh_port, "ssh_user": "root",
            "ssh_private_key": client_key, "known_hosts": known_hosts, "python": "/usr/bin/python3",
            "root": self.root, "odoo_conf": conf, "odooctl": odooctl, "odoo_url": f"http://127.0.0.1:{self.odoo_port}",
            "data_dir": self.data_dir, "filestore": os.path.join(self.data_dir, "filestore", DATABASE),
            "database": DATABASE, "db_user": DB_OWNER, "db_password": db_password,
            "pg_bin_dir": pg_legacy["bin_dir"], "odoo_version": "16.0",
            # Where migrated tenants' filestores land: stands for each tenant's mounted Azure Files share.
            "tenant_filestores": os.path.join(self.lab.state, "filestores"),
            "migration_workdir": os.path.join(self.lab.state, "migration"),
        }

    def stop_odoo(self):
        """Stop the VM's Odoo (lab-down); True when it was running."""
        if not os.path.exists(self.odooctl):
            return False
        running = subprocess.run(["/usr/bin/python3", self.odooctl, "status"], capture_output=True,
                                 check=False).returncode == 0
        subprocess.run(["/usr/bin/python3", self.odooctl, "stop"], capture_output=True, check=False)
        return running

    def odoo_running(self):
        return os.path.exists(self.odooctl) and subprocess.run(
            ["/usr/bin/python3", self.odooctl, "status"], capture_output=True, check=False).returncode == 0
