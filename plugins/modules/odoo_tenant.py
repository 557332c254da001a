#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: odoo_tenant
short_description: All of one Odoo tenant's Kubernetes objects, converged in one idempotent call
version_added: 0.1.0
description:
  - Converges a tenant's namespace (Pod Security C(restricted), tenant, tier and cost-centre labels), ResourceQuota,
    LimitRange, a default-deny NetworkPolicy with its allow rules, a Secret, the C(odoo.conf) ConfigMap, the web and
    cron Deployments, the Service, a PodDisruptionBudget and, for dedicated tenants, an HPA.
  - A new tenant's database is initialised by a Job (C(-i base --stop-after-init), without demo data) before the web
    Deployment comes up. A new O(odoo_version) stops cron, runs the upgrade Job, rolls web and brings cron back; a
    failed upgrade leaves the old version serving and fails the task with the Job's state.
  - Objects are compared with the live ones first and applied (server-side apply, field manager
    C(odoo_saas.platform)) only when they differ, so a run with nothing to do sends no write.
  - Passwords go into the Secret, never into the ConfigMap or the results.
author: odoo_saas.platform maintainers (@odoo-saas)
extends_documentation_fragment:
  - odoo_saas.platform.kubernetes
options:
  name:
    description: The tenant, a DNS label of at most 40 characters.
    type: str
    required: true
  namespace:
    description: The tenant's namespace. Defaults to C(odoo-<name>).
    type: str
  tier:
    description: V(shared) places pods on the C(web) and C(worker) pools; V(dedicated) on O(node_pool), with a toleration.
    type: str
    choices: [shared, dedicated]
    default: shared
  node_pool:
    description: The dedicated tenant's AKS node pool. It must exist, or the task fails before any change.
    type: str
  cost_centre:
    description: The cost-centre label, for cost attribution. Defaults to O(name).
    type: str
  odoo_version:
    description: The Odoo version.
    type: str
    required: true
    choices: ["15.0", "16.0", "17.0", "18.0", "19.0"]
  image:
    description: The image repository.
    type: str
    default: odoo
  image_tag:
    description: The image tag. Defaults to O(odoo_version).
    type: str
  workers:
    description: Odoo's C(workers) per web pod.
    type: int
    default: 2
  max_cron_threads:
    description: Odoo's C(max_cron_threads) in the cron pod.
    type: int
    default: 1
  db_maxconn:
    description: Odoo's C(db_maxconn).
    type: int
    default: 8
  web_replicas:
    description:
      - Web pods.
      - With O(autoscale) the HPA owns the count, and this option is not applied.
      - A PodDisruptionBudget keeps one web pod up when there are 2 or more (O(autoscale.min) with an HPA).
    type: int
    default: 1
  cron_replicas:
    description: Cron pods, 0 or 1.
    type: int
    default: 1
  web_resources:
    description: Requests and limits of the web container.
    type: dict
    default: {requests: {cpu: 250m, memory: 512Mi}, limits: {cpu: "1", memory: 1536Mi}}
  cron_resources:
    description: Requests and limits of the cron container and the Jobs.
    type: dict
    default: {requests: {cpu: 100m, memory: 384Mi}, limits: {cpu: "1", memory: 1Gi}}
  quota:
    description: The namespace's ResourceQuota. C(cpu) and C(memory) are request totals; other keys pass through.
    type: dict
    default: {cpu: "4", memory: 8Gi, limits.cpu: "8", limits.memory: 16Gi, pods: "20"}
  limit_memory_soft:
    description: Odoo's C(limit_memory_soft), in bytes.
    type: int
    default: 671088640
  limit_memory_hard:
    description: Odoo's C(limit_memory_hard), in bytes.
    type: int
    default: 1073741824
  limit_time_cpu:
    description: Odoo's C(limit_time_cpu).
    type: int
    default: 60
  limit_time_real:
    description: Odoo's C(limit_time_real).
    type: int
    default: 120
  database:
    description: Where the tenant's database is, as pg_database returns it.
    type: dict
    required: true
    suboptions:
      host:
        description: The server's host name.
        type: str
        required: true
      port:
        description: The server's port.
        type: int
        default: 5432
      name:
        description: The database.
        type: str
        required: true
      user:
        description: The tenant's role.
        type: str
        required: true
      password:
        description: The role's password; stored in the Secret. Kept from the Secret when omitted.
        type: str
      sslmode:
        description: libpq's sslmode.
        type: str
        default: prefer
  redis:
    description: Odoo's Redis session store, as redis_cache returns it. Omit it to keep sessions in the filestore.
    type: dict
    suboptions:
      host:
        description: The Redis host.
        type: str
        required: true
      port:
        description: The Redis port.
        type: int
        default: 6379
      user:
        description: The tenant's ACL user.
        type: str
      prefix:
        description: The tenant's key prefix.
        type: str
      tls:
        description: Use TLS.
        type: bool
        default: false
      password:
        description: The ACL user's password; stored in the Secret.
        type: str
  admin_passwd:
    description: Odoo's master password. Generated once and kept in the Secret when omitted.
    type: str
  filestore:
    description: The filestore volume. With a O(filestore.storage_class), a ReadWriteMany PersistentVolumeClaim;
      with an empty one, an emptyDir that lives as long as the pod (for ephemeral tenants only).
    type: dict
    default: {storage_class: azurefile-csi-premium, size: 10Gi}
    suboptions:
      storage_class:
        description: The StorageClass of the claim.
        type: str
      size:
        description: The claim's size.
        type: str
        default: 10Gi
  autoscale:
    description:
      - An HPA for the web Deployment of a dedicated tenant; refused for a shared one.
      - The web Deployment's replica count is then left to the HPA, so a re-run never scales it back.
    type: dict
    suboptions:
      min:
        description: Minimum web pods.
        type: int
        default: 2
      max:
        description: Maximum web pods.
        type: int
        default: 6
      cpu:
        description: Target average CPU utilisation, in percent.
        type: int
        default: 70
  init_database:
    description:
      - Run the init Job (C(-i base --stop-after-init)) before a new tenant serves.
      - Set C(false) when the database already holds Odoo data, as after a legacy migration or a restore.
        The namespace is then marked initialised at O(odoo_version) without running the Job.
    type: bool
    default: true
  upgrade_modules:
    description: What the upgrade Job updates (C(-u)).
    type: str
    default: all
  ingress_namespace:
    description: The namespace of the ingress controller, allowed to reach ports 8069 and 8072.
    type: str
    default: traefik
  wait:
    description: Wait for Jobs and for the web and cron Deployments to be Available, and for a deleted namespace to be gone.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait, on a monotonic clock.
      - On a timeout the task fails with the last state it saw (C(state)), the objects written so far
        (RV(changed_objects), RV(api_writes)) and the Jobs' states (C(jobs)).
    type: int
    default: 600
  state:
    description: V(present), V(suspended) (scaled to 0, data and objects kept) or V(absent) (the namespace is deleted).
    type: str
    choices: [present, suspended, absent]
    default: present
notes:
  - Check mode uses the API server's dry run, so validation and defaulting are the server's own, and writes nothing.
  - Diff mode shows, per object, the fields this module manages, before and after; Secret values are masked.
"""

EXAMPLES = r"""
- name: Converge the tenant acme on the shared tier
  odoo_saas.platform.odoo_tenant:
    kubeconfig: /etc/odoo-saas/shared.kubeconfig
    name: acme
    odoo_version: "17.0"
    database: "{{ acme_db | combine({'password': acme_db_password}) }}"
    redis: "{{ acme_redis.redis | combine({'password': acme_redis_password}) }}"
  no_log: false

- name: Suspend it
  odoo_saas.platform.odoo_tenant:
    name: acme
    odoo_version: "17.0"
    database: {host: pg.example.com, name: acme, user: acme}
    state: suspended
"""

RETURN = r"""
tenant:
  description:
    - The tenant's status after the run.
    - C(jobs) lists the Jobs this run ran or waited for, with their state; C(rerun_of_failed) marks a Job that had
      failed in an earlier run and was deleted and run again.
  returned: success
  type: dict
  sample: {namespace: odoo-acme, exists: true, odoo_version: "17.0", image: "odoo:17.0",
           web_replicas: {desired: 1, ready: 1}, cron_replicas: {desired: 1, ready: 1},
           jobs: [{name: odoo-init-17-0, complete: true, succeeded: 1, failed: 0}]}
changed_objects:
  description: The objects written (or that would be, in check mode).
  returned: always
  type: list
  elements: str
api_writes:
  description: How many write requests reached the API server (dry runs not counted).
  returned: always
  type: int
jobs:
  description: On failure, the states of the Jobs this run ran or waited for (on success, see RV(tenant)).
  returned: failure
  type: list
  elements: dict
state:
  description: On a timeout, the last state of what the task waited for (a Deployment's replicas, a Job's counts).
  returned: failure
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.odoo_saas.platform.plugins.module_utils._common import OdooSaasError, run_module
from ansible_collections.odoo_saas.platform.plugins.module_utils._kube import (
    Client, converge_result, kube_argument_spec)
from ansible_collections.odoo_saas.platform.plugins.module_utils._tenant import TenantRunner


def argument_spec():
    spec = kube_argument_spec()
    resources = {"type": "dict"}
    spec.update(
        name={"type": "str", "required": True},
        namespace={"type": "str"},
        tier={"type": "str", "default": "shared", "choices": ["shared", "dedicated"]},
        node_pool={"type": "str"},
        cost_centre={"type": "str"},
        odoo_version={"type": "str", "required": True, "choices": ["15.0", "16.0", "17.0", "18.0", "19.0"]},
        image={"type": "str", "default": "odoo"},
        image_tag={"type": "str"},
        workers={"type": "int", "default": 2},
        max_cron_threads={"type": "int", "default": 1},
        db_maxconn={"type": "int", "default": 8},
        web_replicas={"type": "int", "default": 1},
        cron_replicas={"type": "int", "default": 1},
        web_resources=dict(resources, default={"requests": {"cpu": "250m", "memory": "512Mi"},
                                               "limits": {"cpu": "1", "memory": "1536Mi"}}),
        cron_resources=dict(resources, default={"requests": {"cpu": "100m", "memory": "384Mi"},
                                                "limits": {"cpu": "1", "memory": "1Gi"}}),
        quota={"type": "dict", "default": {"cpu": "4", "memory": "8Gi", "limits.cpu": "8", "limits.memory": "16Gi",
                                           "pods": "20"}},
        limit_memory_soft={"type": "int", "default": 671088640},
        limit_memory_hard={"type": "int", "default": 1073741824},
        limit_time_cpu={"type": "int", "default": 60},
        limit_time_real={"type": "int", "default": 120},
        database={"type": "dict", "required": True, "options": {
            "host": {"type": "str", "required": True}, "port": {"type": "int", "default": 5432},
            "name": {"type": "str", "required": True}, "user": {"type": "str", "required": True},
            "password": {"type": "str", "no_log": True}, "sslmode": {"type": "str", "default": "prefer"}}},
        redis={"type": "dict", "options": {
            "host": {"type": "str", "required": True}, "port": {"type": "int", "default": 6379},
            "user": {"type": "str"}, "prefix": {"type": "str"}, "tls": {"type": "bool", "default": False},
            "password": {"type": "str", "no_log": True}}},
        admin_passwd={"type": "str", "no_log": True},
        filestore={"type": "dict", "default": {"storage_class": "azurefile-csi-premium", "size": "10Gi"},
                   "options": {"storage_class": {"type": "str"}, "size": {"type": "str", "default": "10Gi"}}},
        autoscale={"type": "dict", "options": {"min": {"type": "int", "default": 2},
                                               "max": {"type": "int", "default": 6},
                                               "cpu": {"type": "int", "default": 70}}},
        init_database={"type": "bool", "default": True},
        upgrade_modules={"type": "str", "default": "all"},
        ingress_namespace={"type": "str", "default": "traefik"},
        wait={"type": "bool", "default": True},
        wait_timeout={"type": "int", "default": 600},
        state={"type": "str", "default": "present", "choices": ["present", "suspended", "absent"]},
    )
    return spec


SPEC_OPTIONS = {}


def execute(params, check_mode, diff, no_log):  # pylint: disable=unused-argument
    """The module's work, from main() or from its action plugin, which runs it in the worker
    (plugin_utils/_in_process.py)."""
    with Client(params) as client:
        runner = TenantRunner(client, params, check_mode)
        try:
            namespace = runner.preflight()
            if params["state"] == "absent":
                runner.absent(namespace)
            else:
                runner.present(namespace)
            tenant = runner.status()
        except OdooSaasError as exc:
            # A timeout or a failed Job fails the task with what was written before it, and the Jobs' states.
            exc.details.update(converge_result(runner.conv, client, False), jobs=runner.jobs)
            raise
        return converge_result(runner.conv, client, diff, tenant=tenant)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **SPEC_OPTIONS)
    run_module(module, lambda: execute(module.params, module.check_mode, module._diff,  # pylint: disable=protected-access
                                       module.no_log))


if __name__ == "__main__":
    main()
