#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: legacy_odoo_facts
short_description: Facts about an Odoo database and its filestore, on a legacy VM or after a migration
version_added: 0.1.0
description:
  - Reads a legacy Odoo's C(odoo.conf) and its database to learn what a migration needs (returned in RV(odoo_database)) -
    the database and its owner, the Odoo version (from the C(base) module's C(latest_version)), the installed
    modules, the PostgreSQL server version and extensions, the client tools' versions, the free disk space.
  - Counts the rows of every table in one statement (one snapshot), and checks the SHA-1 of every filestore file
    that C(ir_attachment) references against its C(checksum) column, for the verification of a migration. Run on
    the target with O(db_host), O(db_name) and O(filestore), it gives the same facts for the copy.
  - Runs on the VM with the standard library only; it calls C(psql), so it needs no PostgreSQL driver there.
  - Reads only; it changes nothing but its own O(manifest). The database password (from C(odoo.conf) or O(db_password)) reaches
    C(psql) in its environment, and is never returned.
author: odoo_saas.platform maintainers (@odoo-saas)
options:
  odoo_conf:
    description:
      - Path of the Odoo configuration file on the host the module runs on. Supplies C(db_host), C(db_port),
        C(db_user), C(db_password), C(db_name) and C(data_dir) unless the options below are given.
    type: path
  db_host:
    description: The PostgreSQL host. Defaults to C(db_host) of O(odoo_conf), else C(localhost).
    type: str
  db_port:
    description: The PostgreSQL port. Defaults to C(db_port) of O(odoo_conf), else 5432.
    type: int
  db_user:
    description: The role to connect as. Defaults to C(db_user) of O(odoo_conf).
    type: str
  db_password:
    description: The role's password. Defaults to C(db_password) of O(odoo_conf). Never logged nor returned.
    type: str
  db_name:
    description: The Odoo database. Defaults to C(db_name) of O(odoo_conf).
    type: str
  sslmode:
    description: libpq's C(sslmode), for example C(verify-full) against Azure.
    type: str
  filestore:
    description:
      - The database's filestore folder (the one holding the C(<2 hex>/<sha1>) files).
        Defaults to C(<data_dir>/filestore/<db_name>) from O(odoo_conf).
    type: path
  pg_bin_dir:
    description: Folder of C(psql), C(pg_dump) and C(pg_restore). Defaults to the PATH.
    type: path
  gather:
    description:
      - What to gather. C(postgres) (always gathered with any database fact), C(odoo), C(tools), C(disk),
        C(row_counts) (exact, every table; and where each sequence stands), C(filestore_size) (files and bytes
        on disk, cheap),
        C(filestore_presence) (which referenced files are not on disk, a stat each, cheap) and C(filestore)
        (sizes and checksums, reads every referenced file, or takes its SHA-1 from O(manifest) when its size and
        modification time have not changed since).
      - C(filestore_hashes) reads every file under O(filestore), connects to no database, and writes the SHA-1 of each
        to O(manifest), so that a migration hashes its copy while the database is still being restored. Gathered
        alone, it runs at the lowest CPU priority (nice 19).
      - C(service) runs O(status_command); C(migration_records) reads the records in O(record_dir). Neither needs a
        database; a migration's preflight reads them with the database's facts, in one round trip to the VM.
      - C(data_streams) splits the tables' data into O(streams) groups of about equal size (C(pg_table_size)), for a
        copy in as many parallel C(pg_dump --section=data | pg_restore) pipes.
    type: list
    elements: str
    choices: [odoo, postgres, tools, disk, row_counts, data_streams, filestore, filestore_size, filestore_presence,
              filestore_hashes, service, migration_records]
    default: [odoo, postgres, tools]
  streams:
    description:
      - For C(data_streams), how many groups to split the tables' data into. The 32 largest tables go, largest
        first, to the group with the fewest bytes so far; every other table, and every sequence, stays in the first
        group. Fewer groups come back when there are fewer tables.
    type: int
    default: 2
  manifest:
    description:
      - A JSON file of the filestore's SHA-1s, written by C(filestore_hashes) (mode 0600) and read by C(filestore).
        The only file the module writes; not written in check mode.
    type: path
  status_command:
    description:
      - For C(service), the legacy Odoo's status command, run by C(bash) (for example C(systemctl status odoo)). It
        must exit 0 when Odoo runs and 3 when it is stopped, within 120 seconds; it must change nothing. It gets no
        stdin, and its output is not returned.
    type: str
  record_dir:
    description: For C(migration_records), the folder of the migration records (C(<tenant>.json)) on this host.
    type: path
  disk_paths:
    description: Paths whose file system's free space to report with C(disk). A path need not exist yet.
    type: list
    elements: path
    default: []
  wait_for_exit_file:
    description:
      - A file that a background job writes its exit code to when it ends (a migration's restore does). The module
        first waits, up to O(wait_timeout) seconds, until the file holds a number. When it is not 0 the module
        fails with it and gathers nothing; when it is 0 it gathers, and returns the wait in RV(odoo_database.waited).
      - Waiting here spares a separate module run (and its polling delay) between the job's end and the facts.
    type: path
  wait_timeout:
    description: How long to wait for O(wait_for_exit_file), in seconds.
    type: int
    default: 14400
notes:
  - Supports check mode; it reads only.
  - Needs one of O(odoo_conf), O(db_name), O(filestore), O(status_command) or O(record_dir); the database facts need a database and a role (from
    O(odoo_conf), or O(db_name) and O(db_user)), C(filestore_hashes) only a filestore.
"""

EXAMPLES = r"""
- name: Learn what the legacy VM runs
  odoo_saas.platform.legacy_odoo_facts:
    odoo_conf: /etc/odoo/odoo.conf
    gather: [odoo, postgres, tools, disk]
    disk_paths: [/var/tmp/odoo-saas-migration]
  register: legacy

- name: Count the rows and check the filestore of the migrated copy
  odoo_saas.platform.legacy_odoo_facts:
    db_host: pg-odoo-shared.postgres.database.azure.com
    db_user: odooadmin
    db_password: "{{ pg_admin_password }}"
    db_name: hooli
    sslmode: verify-full
    filestore: /mnt/odoo-hooli/filestore/hooli
    gather: [row_counts, filestore]
  register: target
"""

RETURN = r"""
odoo_database:
  description: The facts gathered.
  returned: always
  type: dict
  contains:
    conf:
      description: The non-secret options of O(odoo_conf) (C(db_host), C(db_port), C(db_user), C(db_name), C(data_dir),
        C(addons_path), C(dbfilter), C(http_port)).
      type: dict
      returned: with O(odoo_conf)
    connection:
      description: Where the facts were read (host, port, user, database).
      type: dict
      returned: always
    filestore_path:
      description: The filestore folder.
      type: str
      returned: always
    tools:
      description: The C(pg_dump), C(pg_restore) and C(psql) found, each with C(path), C(version), C(major), C(minor).
      type: dict
      returned: with C(tools)
    disk:
      description: For each of O(disk_paths), C(free_bytes) on its file system.
      type: dict
      returned: with C(disk)
    postgres:
      description: C(exists), C(server_version_num), C(server_major), and for an existing database C(size_bytes),
        C(owner), C(tables) and C(extensions) (name to version).
      type: dict
      returned: with a database fact
    odoo:
      description: C(version) (for example C(16.0)), C(base_version), C(installed_modules), C(database_uuid).
      type: dict
      returned: with C(odoo) and an existing database
    row_counts:
      description: C(<schema>.<table>) to its exact row count.
      type: dict
      returned: with C(row_counts) and an existing database
    sequences:
      description: C(<schema>.<sequence>) to its last value (null for a sequence never used), read with
        C(row_counts).
      type: dict
      returned: with C(row_counts) and an existing database
    data_streams:
      description:
        - The groups of O(streams), the first one first, each with C(tables) (C(<schema>.<table>)), C(patterns)
          (the same tables as quoted C(pg_dump -t) patterns) and C(bytes).
        - The first group is every table's data but the other groups' tables (C(pg_dump --exclude-table-data)),
          so its C(tables) list only the large ones it got; each other group is exactly its C(tables)
          (C(pg_dump -t)).
      type: list
      elements: dict
      returned: with C(data_streams) and an existing database
    filestore_hashes:
      description: C(files) and C(bytes) hashed, and the C(manifest) written.
      type: dict
      returned: with C(filestore_hashes)
    filestore_size:
      description: C(exists), C(files) and C(bytes) of the filestore folder.
      type: dict
      returned: with C(filestore_size)
    filestore_presence:
      description: C(referenced) files, how many are C(missing) from the filestore, and a sample of them.
      type: dict
      returned: with C(filestore_presence) and an existing database
    service:
      description: C(status), the exit code of O(status_command); C(running) (0) and C(stopped) (3).
      type: dict
      returned: with C(service)
    migration_records:
      description: Each migration record in O(record_dir), by tenant (the file's name without C(.json)); one that
        cannot be read has C(phase=unreadable) and the reason in C(error).
      type: dict
      returned: with C(migration_records)
    filestore:
      description: C(exists), C(files), C(bytes) on disk; C(referenced) files, how many are C(missing) or
        C(mismatched) (SHA-1 against C(checksum)), samples of both, a C(digest) of every name and SHA-1, and how
        many SHA-1s came from O(manifest) (C(hashed_earlier)).
      type: dict
      returned: with C(filestore) and an existing database
    waited:
      description: The wait for O(wait_for_exit_file) - C(path), C(exit_code) (0) and C(ended_at), when the job wrote
        it (the file's modification time, seconds since the epoch).
      type: dict
      returned: with O(wait_for_exit_file)
  sample:
    connection: {host: 127.0.0.1, port: 5432, user: odoo, database: hooli}
    odoo: {version: "16.0", base_version: 16.0.1.3, database_uuid: 0f7c3b9e-3c55-4a4b-9d4c-4c1f0b0f1f11}
    postgres: {exists: true, server_major: 15, size_bytes: 10985623, extensions: {plpgsql: "1.0", pg_trgm: "1.6"}}
    filestore: {referenced: 24, missing: 0, mismatched: 0, files: 24, bytes: 2097152}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.odoo_saas.platform.plugins.module_utils._common import run_module
from ansible_collections.odoo_saas.platform.plugins.module_utils._legacy import gather


def argument_spec():
    return {
        "odoo_conf": {"type": "path"},
        "db_host": {"type": "str"},
        "db_port": {"type": "int"},
        "db_user": {"type": "str"},
        "db_password": {"type": "str", "no_log": True},
        "db_name": {"type": "str"},
        "sslmode": {"type": "str"},
        "filestore": {"type": "path"},
        "pg_bin_dir": {"type": "path"},
        "gather": {"type": "list", "elements": "str", "default": ["odoo", "postgres", "tools"],
                   "choices": ["odoo", "postgres", "tools", "disk", "row_counts", "data_streams", "filestore",
                               "filestore_size", "filestore_presence", "filestore_hashes", "service",
                               "migration_records"]},
        "streams": {"type": "int", "default": 2},
        "manifest": {"type": "path"},
        "status_command": {"type": "str"},
        "record_dir": {"type": "path"},
        "disk_paths": {"type": "list", "elements": "path", "default": []},
        "wait_for_exit_file": {"type": "path"},
        "wait_timeout": {"type": "int", "default": 14400},
    }


SPEC_OPTIONS = {"required_one_of": [["odoo_conf", "db_name", "filestore", "status_command", "record_dir"]]}


def execute(params, check_mode, diff, no_log):  # pylint: disable=unused-argument
    """The module's work, from main() or from its action plugin, which runs it in the worker
    (plugin_utils/_in_process.py): a process of its own either way, so the priority below is this call's."""
    if params["gather"] == ["filestore_hashes"]:
        # A migration hashes its copy beside the database's copy, which the route waits for: the hashing yields the
        # cores to it (and ends long before it).
        os.nice(19)
    return {"changed": False, "odoo_database": gather(params, check_mode)}


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **SPEC_OPTIONS)
    run_module(module, lambda: execute(module.params, module.check_mode, module._diff,  # pylint: disable=protected-access
                                       module.no_log))


if __name__ == "__main__":
    main()
