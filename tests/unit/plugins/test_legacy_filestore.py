"""The filestore's SHA-1 manifest: written while a migration's restore runs, reused by the verification only for
files whose size and modification time have not changed since."""

import hashlib
import json
import os
import stat

import pytest

from ansible_collections.odoo_saas.platform.plugins.module_utils._common import InputError
from ansible_collections.odoo_saas.platform.plugins.module_utils._legacy import (
    filestore_check, filestore_hashes, filestore_presence, gather)


class Rows:
    """ir_attachment's (store_fname, checksum) rows, as psql would return them."""

    def __init__(self, rows):
        self.rows = rows

    def query(self, _sql, dbname=None):  # pylint: disable=unused-argument
        return self.rows


def _store(root, content):
    sha1 = hashlib.sha1(content).hexdigest()
    path = os.path.join(root, sha1[:2], sha1)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(content)
    return f"{sha1[:2]}/{sha1}", sha1


def test_manifest_lists_every_file_and_is_private(tmp_path):
    root = tmp_path / "filestore"
    names = [_store(str(root), bytes([i]) * (1000 + i)) for i in range(5)]
    manifest = str(tmp_path / "staging" / "filestore.sha1.json")
    result = filestore_hashes(str(root), manifest)
    assert result["files"] == 5 and result["bytes"] == sum(1000 + i for i in range(5))
    assert stat.S_IMODE(os.stat(manifest).st_mode) == 0o600
    with open(manifest, encoding="utf-8") as handle:
        data = json.load(handle)
    assert {name: entry[2] for name, entry in data["files"].items()} == dict(names)


def test_check_reuses_unchanged_hashes_and_rehashes_a_changed_file(tmp_path):
    root = tmp_path / "filestore"
    rows = [list(_store(str(root), bytes([i]) * 4096)) for i in range(4)]
    manifest = str(tmp_path / "m.json")
    filestore_hashes(str(root), manifest)
    clean = filestore_check(Rows(rows), str(root), manifest=manifest)
    assert (clean["referenced"], clean["missing"], clean["mismatched"], clean["hashed_earlier"]) == (4, 0, 0, 4)

    # A file changed after the hashing (a delta sync that came late): read again, and found wrong.
    changed = os.path.join(str(root), rows[0][0])
    with open(changed, "wb") as handle:
        handle.write(b"corrupted" * 100)
    after = filestore_check(Rows(rows), str(root), manifest=manifest)
    assert (after["mismatched"], after["hashed_earlier"]) == (1, 3)
    assert after["mismatched_sample"] == [rows[0][0]]
    # Without a manifest every file is read: the same verdict.
    assert filestore_check(Rows(rows), str(root))["mismatched"] == 1


def test_a_manifest_of_another_folder_is_ignored(tmp_path):
    root, other = tmp_path / "a", tmp_path / "b"
    rows = [list(_store(str(root), b"x" * 10))]
    _store(str(other), b"x" * 10)
    manifest = str(tmp_path / "m.json")
    filestore_hashes(str(other), manifest)
    assert filestore_check(Rows(rows), str(root), manifest=manifest)["hashed_earlier"] == 0


def test_hashing_needs_no_database_but_a_database_fact_does(tmp_path):
    root = tmp_path / "filestore"
    _store(str(root), b"y" * 100)
    manifest = str(tmp_path / "m.json")
    facts = gather({"gather": ["filestore_hashes"], "filestore": str(root), "manifest": manifest})
    assert facts["filestore_hashes"]["files"] == 1 and os.path.exists(manifest)
    with pytest.raises(InputError, match="db_name is missing"):
        gather({"gather": ["row_counts"], "filestore": str(root)})


def test_presence_finds_the_referenced_files_that_are_not_on_disk(tmp_path):
    kept, _sha1 = _store(str(tmp_path), b"kept")
    rows = [(kept, ""), ("ab/abcdef", ""), ("../etc/passwd", "")]
    found = filestore_presence(Rows(rows), str(tmp_path))
    assert found["referenced"] == 3 and found["missing"] == 1 and found["missing_sample"] == ["ab/abcdef"]
    assert found["unsafe"] == 1 and found["unsafe_sample"] == ["../etc/passwd"]


def test_service_status_is_the_exit_code_of_the_status_command(tmp_path):
    base = {"gather": ["service"], "record_dir": None, "odoo_conf": None}
    assert gather(dict(base, status_command="exit 3"))["service"] == {"status": 3, "running": False, "stopped": True}
    assert gather(dict(base, status_command="true"))["service"] == {"status": 0, "running": True, "stopped": False}
    with pytest.raises(InputError, match="gather=service needs status_command"):
        gather(dict(base, status_command=None))


def test_migration_records_are_read_by_tenant_and_a_broken_one_is_marked(tmp_path):
    base = {"gather": ["migration_records"], "status_command": None, "odoo_conf": None}
    assert gather(dict(base, record_dir=str(tmp_path / "none")))["migration_records"] == {}
    (tmp_path / "hooli.json").write_text(json.dumps({"tenant": "hooli", "phase": "complete"}))
    (tmp_path / "hooli.json.tmp").write_text("{half")
    assert gather(dict(base, record_dir=str(tmp_path)))["migration_records"] == {
        "hooli": {"tenant": "hooli", "phase": "complete"}}
    (tmp_path / "acme.json").write_text("{half")
    broken = gather(dict(base, record_dir=str(tmp_path)))["migration_records"]["acme"]
    assert broken["phase"] == "unreadable" and "acme.json" in broken["error"]
