#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_cache
short_description: A tenant's slice of a shared Redis, and the settings Odoo needs to use it
version_added: 0.1.0
description:
  - Creates a tenant's ACL user on a shared Redis, confined to the key prefix C(<prefix>*) and the channel prefix
    C(<prefix>*), without C(@admin) and C(@dangerous) commands, C(FLUSHALL), C(FLUSHDB), C(KEYS) and C(CONFIG).
  - Rules are compared by what they allow, evaluated against the server's own command categories, so a second run
    sends no ACL write.
  - On a self-managed Redis it also manages C(maxmemory) and C(maxmemory-policy). An endpoint that refuses C(CONFIG),
    as managed Redis does, is reported as such.
  - For dedicated tenants it renders the Kubernetes objects of an in-cluster Redis (StatefulSet, Service, Secret and
    PodDisruptionBudget) in RV(kubernetes_objects). Applying them is the odoo_tenant module's job.
  - Returns the connection settings that Odoo's Redis session store needs, in RV(redis).
author: odoo_saas.platform maintainers (@odoo-saas)
extends_documentation_fragment:
  - odoo_saas.platform.redis
options:
  user:
    description: The tenant's ACL user, usually the tenant's name.
    type: str
    required: true
  prefix:
    description:
      - The tenant's key and channel prefix, literal text. Defaults to C(<user>:).
      - Glob characters are refused, because they would widen the tenant's access.
    type: str
  password:
    description:
      - The tenant user's password. When omitted for a new user, one is generated and returned once as
        RV(generated_password); the task must then run with C(no_log=true).
    type: str
  update_password:
    description: V(when_changed) sets O(password) when its hash differs from the stored one; V(always) and V(on_create)
      as named.
    type: str
    choices: [when_changed, always, on_create]
    default: when_changed
  commands:
    description: The user's command rules, in Redis ACL syntax. The default removes admin and dangerous commands.
    type: list
    elements: str
  maxmemory:
    description: The server's C(maxmemory), such as V(2gb). Left alone when omitted.
    type: str
  maxmemory_policy:
    description: The server's C(maxmemory-policy). Left alone when omitted.
    type: str
    choices: [noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random,
              volatile-ttl]
  db:
    description: The logical database Odoo should use, returned in RV(redis).
    type: int
    default: 0
  purge_keys:
    description: With O(state=absent), also delete the tenant's keys, with C(SCAN) and C(UNLINK), never C(KEYS).
    type: bool
    default: false
  dedicated:
    description:
      - An in-cluster Redis for a dedicated tenant, instead of a user on a shared Redis.
      - With O(dedicated.kubeconfig) its objects are applied to the cluster, the password is kept in its Secret
        (generated once when O(password) is omitted), and RV(redis) points at its Service; no shared Redis is
        contacted. Without it, the objects are only rendered, in RV(kubernetes_objects).
    type: dict
    suboptions:
      namespace:
        description: The tenant's namespace.
        type: str
        required: true
      memory_limit:
        description: The container's memory limit; Redis gets 80% of it as C(maxmemory).
        type: str
        default: 1Gi
      persistence:
        description: V(rdb) snapshots, V(aof) an append-only file, or V(none).
        type: str
        choices: [none, rdb, aof]
        default: rdb
      storage_size:
        description: The persistent volume's size.
        type: str
        default: 8Gi
      image:
        description: The Redis image.
        type: str
        default: redis:7.4
      kubeconfig:
        description: The cluster's kubeconfig, to apply the objects.
        type: path
      context:
        description: The kubeconfig context.
        type: str
  state:
    description: V(present) or V(absent).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Check mode reports the writes a real run would send, in RV(commands), and sends none.
"""

EXAMPLES = r"""
- name: Give the tenant its slice of the shared Redis
  odoo_saas.platform.redis_cache:
    login_host: "{{ redis_host }}"
    login_password: "{{ redis_admin_password }}"
    user: acme
    password: "{{ acme_redis_password }}"
  register: acme_redis

- name: Offboard, deleting the tenant's keys
  odoo_saas.platform.redis_cache:
    user: acme
    state: absent
    purge_keys: true
"""

RETURN = r"""
redis:
  description: What Odoo needs to reach its Redis. The password is not included; it is in RV(generated_password) or
    in the caller's vault.
  returned: always
  type: dict
  sample: {host: redis.internal, port: 6379, tls: false, user: acme, prefix: "acme:", db: 0}
commands:
  description: The writes sent, or that would be sent in check mode, with passwords replaced by C(********).
  returned: always
  type: list
  elements: str
generated_password:
  description: The password generated for a new user, returned this once. The task runs with C(no_log).
  returned: when the user was created without O(password)
  type: str
keys_deleted:
  description: How many keys O(purge_keys) deleted (or would delete, in check mode).
  returned: with O(state=absent)
  type: int
kubernetes_objects:
  description: The rendered objects of a dedicated Redis; the Secret's password is a placeholder.
  returned: with O(dedicated)
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.odoo_saas.platform.plugins.module_utils._common import run_module
from ansible_collections.odoo_saas.platform.plugins.module_utils import _redis_dedicated
from ansible_collections.odoo_saas.platform.plugins.module_utils._redis import (
    POLICIES, Connection, TenantUser, check_prefix, check_user, converge_memory, redis_argument_spec,
    render_dedicated)


def argument_spec():
    spec = redis_argument_spec()
    spec.update(
        user={"type": "str", "required": True},
        prefix={"type": "str"},
        password={"type": "str", "no_log": True},
        update_password={"type": "str", "default": "when_changed", "choices": ["when_changed", "always", "on_create"],
                         "no_log": False},
        commands={"type": "list", "elements": "str"},
        maxmemory={"type": "str"},
        maxmemory_policy={"type": "str", "choices": POLICIES},
        db={"type": "int", "default": 0},
        purge_keys={"type": "bool", "default": False},
        dedicated={"type": "dict", "options": {
            "namespace": {"type": "str", "required": True},
            "memory_limit": {"type": "str", "default": "1Gi"},
            "persistence": {"type": "str", "default": "rdb", "choices": ["none", "rdb", "aof"]},
            "storage_size": {"type": "str", "default": "8Gi"},
            "image": {"type": "str", "default": "redis:7.4"},
            "kubeconfig": {"type": "path"},
            "context": {"type": "str"},
        }},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
    )
    return spec


SPEC_OPTIONS = {}


def execute(params, check_mode, diff, no_log):
    """The module's work, from main() or from its action plugin, which runs it in the worker
    (plugin_utils/_in_process.py)."""
    p = dict(params, _no_log=no_log)
    check_user("user", p["user"])
    prefix = check_prefix("prefix", p["prefix"] if p["prefix"] is not None else f"{p['user']}:")
    objects = None
    if p["dedicated"]:
        d = p["dedicated"]
        objects = render_dedicated(p["user"], d["namespace"], d["memory_limit"], d["persistence"],
                                   d["storage_size"], d["image"], p["maxmemory_policy"] or "allkeys-lru")
        if d["kubeconfig"]:
            return _redis_dedicated.run(p, objects, prefix, check_mode, no_log, diff)
    conn = Connection(p)
    tenant = TenantUser(conn, p, check_mode)
    result = {"redis": {"host": p["login_host"], "port": p["login_port"], "tls": p["tls"], "user": p["user"],
                        "prefix": prefix, "db": p["db"]}}
    if p["state"] == "present":
        memory_changed, before, after = converge_memory(conn, p, check_mode)
        user_changed = tenant.present()
        result["changed"] = user_changed or memory_changed
        tenant.diff["before"] = dict(tenant.diff["before"] or {}, **({"server": before} if before else {}))
        tenant.diff["after"] = dict(tenant.diff["after"], **({"server": after} if after else {}))
    else:
        result["changed"], result["keys_deleted"] = tenant.absent()
    result["commands"] = conn.writes
    if diff:
        result["diff"] = tenant.diff
    if tenant.generated_password:
        result["generated_password"] = tenant.generated_password
    if objects is not None:
        result["kubernetes_objects"] = objects
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **SPEC_OPTIONS)
    run_module(module, lambda: execute(module.params, module.check_mode, module._diff,  # pylint: disable=protected-access
                                       module.no_log))


if __name__ == "__main__":
    main()
