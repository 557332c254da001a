"""An Odoo-shaped database and filestore for the backup tests, and an independent read of both.

The tables have Odoo's names and the columns the backup code reads (`ir_attachment.store_fname`,
`ir_config_parameter`, `ir_module_module.latest_version`), with a few thousand rows, unicode and NULL-heavy.
The filestore follows Odoo's layout: `<first two hex digits of the sha1>/<sha1>`.
"""

import hashlib
import os
import random
import uuid

import psycopg

SCHEMA = """
CREATE TABLE res_partner (id serial PRIMARY KEY, name varchar NOT NULL, email varchar, phone varchar,
    street varchar, city varchar, comment text, active boolean DEFAULT true, credit_limit numeric, write_date timestamp);
CREATE TABLE res_company (id serial PRIMARY KEY, name varchar NOT NULL, partner_id int REFERENCES res_partner(id));
CREATE TABLE ir_attachment (id serial PRIMARY KEY, name varchar NOT NULL, res_model varchar, res_id int,
    store_fname varchar, db_datas bytea, file_size int, checksum varchar(40), mimetype varchar);
CREATE TABLE ir_config_parameter (id serial PRIMARY KEY, key varchar NOT NULL UNIQUE, value text NOT NULL);
CREATE TABLE ir_module_module (id serial PRIMARY KEY, name varchar NOT NULL UNIQUE, state varchar,
    latest_version varchar);
CREATE TABLE ir_model_data (id serial PRIMARY KEY, module varchar, name varchar, model varchar, res_id int);
CREATE TABLE ir_cron (id serial PRIMARY KEY, name varchar, active boolean DEFAULT true);
CREATE TABLE ir_mail_server (id serial PRIMARY KEY, name varchar, smtp_host varchar, active boolean DEFAULT true);
CREATE INDEX ON res_partner (name);
"""
UNICODE = ["Zoë Ærøskøbing", "Łódź Sp. z o.o.", "東京商事株式会社", "Ελληνική Εταιρεία", "Öztürk Ticaret",
           "Société Générale d'Électricité", "Пётр Иванович", "مؤسسة الخليج", "🍕 Pizza & Co", "Nguyễn Văn Anh"]


def connect(lab, dbname="postgres"):
    server = lab["postgres"]["platform"]
    return psycopg.connect(host=server["host"], port=server["port"], user=server["user"],
                           password=server["password"], dbname=dbname, autocommit=True)


def seed(lab, dbname, filestore, partners=3000, files=400, seed_value=7):
    """Create `dbname` and fill `filestore`; returns the database uuid."""
    rng = random.Random(seed_value)
    with connect(lab) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}" TEMPLATE template0 ENCODING \'UTF8\'')
    db_uuid = str(uuid.uuid4())
    with connect(lab, dbname) as conn:
        conn.execute(SCHEMA)
        with conn.cursor() as cur:
            with cur.copy("COPY res_partner (name, email, phone, street, city, comment, active, credit_limit, "
                          "write_date) FROM STDIN") as copy:
                for index in range(partners):
                    if index % 5 == 0:  # NULL-heavy rows
                        copy.write_row((f"Sparse {index}", None, None, None, None, None, None, None, None))
                    else:
                        name = f"{rng.choice(UNICODE)} {index}"
                        copy.write_row((name, f"p{index}@example.com", f"+32 2 {index:06d}", f"Rue {index}",
                                        rng.choice(["Bruxelles", "Liège", "Gent", "Zürich"]),
                                        "line one\nline two\ttab 'quote' \"dq\" \\ backslash" * (index % 3),
                                        index % 7 != 0, index * 10.5, "2026-01-01 10:00:00"))
            conn.execute("INSERT INTO res_company (name, partner_id) VALUES ('Main Company', 1)")
            os.makedirs(filestore, exist_ok=True)
            with cur.copy("COPY ir_attachment (name, res_model, res_id, store_fname, file_size, checksum, mimetype, "
                          "db_datas) FROM STDIN") as copy:
                for index in range(files):
                    content = rng.randbytes(rng.randint(64, 20000)) + f"file {index}".encode()
                    sha = hashlib.sha1(content).hexdigest()
                    fname = f"{sha[:2]}/{sha}"
                    os.makedirs(os.path.join(filestore, sha[:2]), exist_ok=True)
                    with open(os.path.join(filestore, fname), "wb") as handle:
                        handle.write(content)
                    copy.write_row((f"attachment {index}.bin", "res.partner", index + 1, fname, len(content), sha,
                                    "application/octet-stream", None))
                for index in range(50):  # stored in the database, no file
                    copy.write_row((f"inline {index}", None, None, None, 3, None, "text/plain", b"abc"))
        conn.execute("INSERT INTO ir_config_parameter (key, value) VALUES ('database.uuid', %s), "
                     "('database.secret', %s), ('web.base.url', 'https://acme.example.com'), "
                     "('database.create_date', '2026-01-01 00:00:00')", (db_uuid, uuid.uuid4().hex))
        conn.execute("INSERT INTO ir_module_module (name, state, latest_version) VALUES "
                     "('base', 'installed', '17.0.1.3'), ('web', 'installed', '17.0.1.0'), "
                     "('sale', 'uninstalled', NULL)")
        conn.execute("INSERT INTO ir_cron (name) VALUES ('Base: Auto-vacuum internal data'), ('Mail: send')")
        conn.execute("INSERT INTO ir_model_data (module, name, model, res_id) VALUES "
                     "('base', 'autovacuum_job', 'ir.cron', 1)")
        conn.execute("INSERT INTO ir_mail_server (name, smtp_host) VALUES ('smtp', 'smtp.example.com')")
    return db_uuid


def table_counts(lab, dbname):
    with connect(lab, dbname) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                             "ORDER BY tablename")]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def table_digest(lab, dbname, table):
    """An md5 of a table's rows in id order, to compare contents across databases."""
    with connect(lab, dbname) as conn:
        return conn.execute(f'SELECT md5(string_agg(t::text, \'|\' ORDER BY id)) FROM "{table}" t').fetchone()[0]


def config(lab, dbname):
    with connect(lab, dbname) as conn:
        return dict(conn.execute("SELECT key, value FROM ir_config_parameter").fetchall())


def files(root):
    """{relative path: sha256} of every file under root."""
    out = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                out[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return out


def drop(lab, prefix):
    with connect(lab) as admin:
        for (name,) in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                     (prefix + "%",)).fetchall():
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
