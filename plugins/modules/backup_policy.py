#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_policy
short_description: An Odoo tenant's backups in Azure Blob Storage, scheduled, retained, verified and restored
version_added: 0.1.0
description:
  - Backups live in one Blob container per environment, under C(<tenant>/<UTC timestamp>/) (the timestamp, such as
    C(20261123T020000Z), is the backup id). Each holds C(db.dump) (C(pg_dump -Fc)), C(filestore.tar) or
    C(filestore.tar.gz), and C(manifest.json), written last.
  - The manifest holds the tenant and database, the Odoo version, the server's and C(pg_dump)'s versions, the
    dump's archive format, the size and SHA-256 of every part, the row counts of the main Odoo tables (read in the
    same snapshot as the dump), and the start and end times.
  - A prefix without a manifest is an incomplete backup. It is never listed, verified or restored, and a prune
    deletes it after O(incomplete_grace_hours).
  - O(action=schedule) converges the tenant's backup CronJob and its Secret (or removes them with O(state=absent)).
    The CronJob's pod runs this module with O(action=run) and O(prune=true), so a scheduled backup is the same
    backup as one taken from the controller.
  - O(action=run) takes a backup now. C(pg_dump) and C(tar) are streamed straight into Blob block uploads, with no
    temporary file, and memory stays bounded (about three blocks) whatever the database's size.
  - O(action=list) returns the complete backups, newest first.
  - O(action=verify) restores the latest complete backup (or O(backup_id)) into a scratch database, checks every
    SHA-256, compares the row counts with the manifest, checks that every file C(ir_attachment) references is in
    the filestore archive, and drops the scratch database, also on failure. It fails the task on any mismatch. It
    reports C(changed=false), because the scratch database is gone when it ends.
  - A file that C(ir_attachment) references but that the tenant's own filestore already lacked when O(action=run)
    took the backup (for example a file accepted as lost in a legacy migration) is listed in the manifest
    (C(filestore_absent_at_backup)). O(action=verify) reports such files as a warning, not a failure; any other
    missing file fails it.
  - O(action=restore) restores into O(restore_database) and O(filestore_path), as a V(move) (the database uuid is
    kept) or a V(copy) (new uuid and secret, neutralised as a C(pg_database) clone is). It restores into a temporary
    database and a temporary folder, checks the checksums, and only then renames them into place.
  - O(prune=true) deletes exactly the backups outside the grandfather-father-son set of O(keep_daily),
    O(keep_weekly) and O(keep_monthly). It runs after the action.
author: odoo_saas.platform maintainers (@odoo-saas)
extends_documentation_fragment:
  - odoo_saas.platform.postgres
  - odoo_saas.platform.blob
  - odoo_saas.platform.kubernetes.nested
options:
  action:
    description: What to do. See the description.
    type: str
    choices: [schedule, run, list, verify, restore]
    default: schedule
  state:
    description: With O(action=schedule), V(present) converges the CronJob and its Secret, V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  tenant:
    description: The tenant, a DNS label. Its backups are under C(<tenant>/) in the container.
    type: str
    required: true
  database:
    description: The tenant's database. Needed by every action but V(list), and by the CronJob.
    type: str
  container:
    description: The Blob container, one per environment, for example V(odoo-backups-prod). It is created by the first run.
    type: str
    required: true
  odoo_version:
    description: The Odoo version to record in the manifest. Defaults to C(base)'s C(latest_version) in the database.
    type: str
  filestore_path:
    description:
      - With O(action=run), the tenant's filestore on the controller, C(<data_dir>/filestore/<database>). Without it
        the backup holds the database only.
      - With O(action=restore), where the filestore goes. It must be empty or absent, unless O(force=true).
    type: path
  filestore_compression:
    description: V(none) writes C(filestore.tar); V(gzip) writes C(filestore.tar.gz). Attachments are mostly compressed already.
    type: str
    choices: [none, gzip]
    default: none
  backup_id:
    description: The backup to verify or restore. Defaults to the newest complete one.
    type: str
  prune:
    description: After the action, delete the backups outside the retention set, and incomplete ones past their grace.
    type: bool
    default: false
  keep_daily:
    description: Keep the newest backup of each of this many most recent days that have one (UTC).
    type: int
    default: 7
  keep_weekly:
    description: Keep the newest backup of each of this many most recent ISO weeks that have one.
    type: int
    default: 4
  keep_monthly:
    description: Keep the newest backup of each of this many most recent months that have one.
    type: int
    default: 3
  incomplete_grace_hours:
    description: An incomplete backup is pruned once it started (its id) this long ago, so that a running backup is left alone.
    type: int
    default: 24
  block_size_mib:
    description: The size of an upload block. Memory use is about three blocks.
    type: int
    default: 8
  pg_bin_dir:
    description: Folder holding C(pg_dump) and C(pg_restore). Defaults to the PATH.
    type: path
  restore_database:
    description: With O(action=restore), the database to restore into.
    type: str
  restore_mode:
    description: V(move) keeps the database uuid; V(copy) gives a new uuid and secret and neutralises the copy.
    type: str
    choices: [move, copy]
    default: copy
  restore_owner:
    description: The role that owns the restored database and its objects. Defaults to O(login_user).
    type: str
  base_url:
    description: With O(restore_mode=copy), the C(web.base.url) of the copy.
    type: str
  force:
    description: With O(action=restore), replace an existing O(restore_database) and a non-empty O(filestore_path).
    type: bool
    default: false
  namespace:
    description:
      - The tenant's namespace, for the CronJob. Defaults to C(odoo-<tenant>). It must exist.
      - In check mode a namespace that does not exist yet (a playbook's earlier odoo_tenant task would create it) is
        not an error; the CronJob and its Secret are reported as created.
    type: str
  schedule:
    description: The CronJob's schedule, five cron fields or a descriptor such as V(@daily).
    type: str
    default: "30 2 * * *"
  time_zone:
    description: The IANA time zone of O(schedule), for example V(Europe/Brussels). Defaults to the controller manager's, UTC on AKS.
    type: str
  image:
    description:
      - The image the backup Job runs. It must hold ansible-core, this collection and its Python requirements, and
        PostgreSQL client tools no older than the server, as an execution environment image does.
      - Required with O(action=schedule) and O(state=present).
    type: str
  starting_deadline_seconds:
    description: A run that could not start within this many seconds of its time is skipped.
    type: int
    default: 600
  active_deadline_seconds:
    description: A backup Job running longer than this is stopped (and its backup stays incomplete).
    type: int
    default: 14400
  successful_jobs_history_limit:
    description: Finished Jobs kept.
    type: int
    default: 3
  failed_jobs_history_limit:
    description: Failed Jobs kept.
    type: int
    default: 3
  resources:
    description: Requests and limits of the backup container; both are required, and the limits are at most 4 cores and 8Gi.
    type: dict
    default: {requests: {cpu: 100m, memory: 256Mi}, limits: {cpu: "1", memory: 512Mi}}
  node_pool:
    description: The AKS node pool the backup Job runs on.
    type: str
    default: worker
  filestore_claim:
    description: Mount the tenant's filestore claim C(odoo-filestore) read-only. V(false) for a tenant whose filestore is an emptyDir.
    type: bool
    default: true
  db_host:
    description: The PostgreSQL host as the cluster reaches it. Defaults to O(login_host).
    type: str
  db_user:
    description: The role the CronJob dumps as, the tenant's own role. Defaults to O(database).
    type: str
  db_password:
    description: That role's password, kept in the Secret C(odoo-backup). Required with O(action=schedule) and O(state=present).
    type: str
  service_account:
    description: With O(auth_mode=entra), the service account federated with an Entra identity (AKS workload identity).
    type: str
notes:
  - Check mode writes nothing. V(run) and V(restore) report what they would do; a prune lists what it would delete.
  - Diff mode returns the CronJob and Secret before and after (secret values hidden), and the backups before and
    after a prune.
  - The CronJob's Secret holds O(connection_string) or O(account_key); a storage account key scoped to one
    container is not possible, so use one storage account per environment, or Entra workload identity.
"""

EXAMPLES = r"""
- name: Schedule the tenant's nightly backup, Brussels time
  odoo_saas.platform.backup_policy:
    tenant: acme
    database: acme
    container: odoo-backups-prod
    account_name: stodooprod
    account_key: "{{ storage_key }}"
    login_host: pg-prod.postgres.database.azure.com
    db_password: "{{ acme_db_password }}"
    schedule: "30 2 * * *"
    time_zone: Europe/Brussels
    image: registry.example.com/odoo-saas/ee:0.1.0
    kubernetes:
      kubeconfig: /etc/odoo-saas/prod.kubeconfig

- name: Take a backup now and apply the retention
  odoo_saas.platform.backup_policy:
    action: run
    prune: true
    tenant: acme
    database: acme
    container: odoo-backups-prod
    filestore_path: /var/lib/odoo/filestore/acme
    connection_string: "{{ storage_connection_string }}"
    login_host: pg-prod.postgres.database.azure.com
    login_user: odooadmin
    login_password: "{{ pg_admin_password }}"

- name: Check that the latest backup restores
  odoo_saas.platform.backup_policy:
    action: verify
    tenant: acme
    database: acme
    container: odoo-backups-prod
    auth_mode: entra
    account_name: stodooprod

- name: Restore last night's backup as a neutralised staging copy
  odoo_saas.platform.backup_policy:
    action: restore
    tenant: acme
    database: acme
    container: odoo-backups-prod
    backup_id: 20261123T013000Z
    restore_database: acme_staging
    restore_owner: acme_staging
    restore_mode: copy
    base_url: https://staging.acme.example.com
    filestore_path: /var/lib/odoo/filestore/acme_staging
"""

RETURN = r"""
cronjob:
  description: The CronJob's facts.
  returned: with O(action=schedule)
  type: dict
  sample: {name: odoo-backup, namespace: odoo-acme, exists: true, schedule: "30 2 * * *", time_zone: Europe/Brussels,
           concurrency_policy: Forbid, last_schedule_time: null}
changed_objects:
  description: The Kubernetes objects written (or that would be, in check mode).
  returned: with O(action=schedule)
  type: list
  elements: str
api_writes:
  description: Write requests sent to the API server; 0 on a run with nothing to do.
  returned: with O(action=schedule)
  type: int
backup:
  description: The backup taken (in check mode, the one that would be), with its manifest.
  returned: with O(action=run)
  type: dict
  sample: {id: 20261123T020000Z, prefix: acme/20261123T020000Z/, container: odoo-backups-prod,
           parts: [db.dump, filestore.tar, manifest.json], manifest: {parts: {db.dump: {size: 7340032, sha256: 9f2c...}}}}
backups:
  description: The complete backups, newest first.
  returned: with O(action=list)
  type: list
  elements: dict
  sample: [{id: 20261123T020000Z, prefix: acme/20261123T020000Z/, time: "2026-11-23T02:00:00+00:00",
            parts: {db.dump: 7340032, filestore.tar: 1048576, manifest.json: 1200}, size: 8389808}]
incomplete:
  description: Prefixes without a manifest, which are never used.
  returned: with O(action=list)
  type: list
  elements: dict
verification:
  description:
    - What O(action=verify) checked, and C(passed). On a failure the task fails with the same dict and the problems
      in C(msg).
  returned: with O(action=verify)
  type: dict
  sample: {passed: true, problems: [], warnings: [], checksums: {db.dump: true, filestore.tar: true},
           row_counts: {res_partner: {manifest: 3000, restored: 3000}},
           filestore: {files: 400, referenced: 400, missing: [], missing_count: 0, absent_at_backup: [],
                       absent_at_backup_count: 0}}
restore:
  description: What was restored where, and the neutralisation of a copy.
  returned: with O(action=restore)
  type: dict
  sample: {database: acme_staging, mode: copy, owner: acme_staging, database_uuid: 1b0c..., replaced: false}
prune:
  description: The backup ids kept, deleted (or that would be, in check mode), and incomplete ones deleted.
  returned: with O(prune=true)
  type: dict
  sample: {kept: [20261123T020000Z], deleted: [20260801T020000Z], incomplete_deleted: []}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.odoo_saas.platform.plugins.module_utils import _backup, _backup_cron
from ansible_collections.odoo_saas.platform.plugins.module_utils._blob import BlobStore, blob_argument_spec
from ansible_collections.odoo_saas.platform.plugins.module_utils._common import ServiceError, run_module
from ansible_collections.odoo_saas.platform.plugins.module_utils._kube import kube_argument_spec
from ansible_collections.odoo_saas.platform.plugins.module_utils._postgres import postgres_argument_spec


def argument_spec():
    spec = postgres_argument_spec()
    spec.update(blob_argument_spec())
    spec.update(
        kubernetes={"type": "dict", "options": kube_argument_spec(), "apply_defaults": True},
        action={"type": "str", "default": "schedule", "choices": ["schedule", "run", "list", "verify", "restore"]},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
        tenant={"type": "str", "required": True},
        database={"type": "str"},
        container={"type": "str", "required": True},
        odoo_version={"type": "str"},
        filestore_path={"type": "path"},
        filestore_compression={"type": "str", "default": "none", "choices": ["none", "gzip"]},
        backup_id={"type": "str"},
        prune={"type": "bool", "default": False},
        keep_daily={"type": "int", "default": 7},
        keep_weekly={"type": "int", "default": 4},
        keep_monthly={"type": "int", "default": 3},
        incomplete_grace_hours={"type": "int", "default": 24},
        block_size_mib={"type": "int", "default": 8},
        pg_bin_dir={"type": "path"},
        restore_database={"type": "str"},
        restore_mode={"type": "str", "default": "copy", "choices": ["move", "copy"]},
        restore_owner={"type": "str"},
        base_url={"type": "str"},
        force={"type": "bool", "default": False},
        namespace={"type": "str"},
        schedule={"type": "str", "default": "30 2 * * *"},
        time_zone={"type": "str"},
        image={"type": "str"},
        starting_deadline_seconds={"type": "int", "default": 600},
        active_deadline_seconds={"type": "int", "default": 14400},
        successful_jobs_history_limit={"type": "int", "default": 3},
        failed_jobs_history_limit={"type": "int", "default": 3},
        resources={"type": "dict", "default": {"requests": {"cpu": "100m", "memory": "256Mi"},
                                               "limits": {"cpu": "1", "memory": "512Mi"}}},
        node_pool={"type": "str", "default": "worker"},
        filestore_claim={"type": "bool", "default": True},
        db_host={"type": "str"},
        db_user={"type": "str"},
        db_password={"type": "str", "no_log": True},
        service_account={"type": "str"},
    )
    return spec


SPEC_OPTIONS = {"required_if": [
    ["action", "run", ["database"]], ["action", "verify", ["database"]],
    ["action", "restore", ["database", "restore_database"]]]}


def execute(params, check_mode, diff, no_log):  # pylint: disable=unused-argument
    p = params
    action = p["action"]
    mode = _backup.validate(p)
    result = {"changed": False}
    if action == "schedule":
        _backup_cron.validate(p, mode)
        result.update(_backup_cron.converge(p, mode, check_mode, diff))
        if not p["prune"]:
            return result
    backups = _backup.Backups(p, BlobStore(p, p["container"]), check_mode)
    try:
        if action == "run":
            result.update(changed=True, backup=backups.run())
        elif action == "list":
            result.update(backups.list())
        elif action == "verify":
            result["verification"] = backups.verify()
        elif action == "restore":
            result.update(changed=True, restore=backups.restore())
        if p["prune"]:
            pruned = backups.prune()
            before, after = pruned.pop("before"), pruned.pop("after")
            result["prune"] = pruned
            result["changed"] = result["changed"] or bool(pruned["deleted"] or pruned["incomplete_deleted"])
            if diff:
                result.setdefault("diff", {"before": {}, "after": {}})
                result["diff"]["before"]["backups"], result["diff"]["after"]["backups"] = before, after
    finally:
        backups.close()
    verification = result.get("verification")
    if verification and verification.get("warnings"):
        result["warnings"] = list(verification["warnings"])
    if verification and verification["passed"] is False:
        raise ServiceError(f"backup {verification['backup']['id']} of tenant {p['tenant']!r} failed its "
                           f"verification: {' '.join(verification['problems'])}", verification=verification,
                           warnings=result.get("warnings", []))
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **SPEC_OPTIONS)
    run_module(module, lambda: execute(module.params, module.check_mode, module._diff,  # pylint: disable=protected-access
                                       module.no_log))


if __name__ == "__main__":
    main()
