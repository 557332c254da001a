# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner of redis_cache's dedicated mode: a dedicated tenant's in-cluster Redis, applied with _kube.

_redis.render_dedicated() renders the objects; this file talks to Kubernetes only, never to a Redis.
"""

from __future__ import annotations

import base64

from . import _kube
from ._common import InputError, generate_password

KINDS_IN_DELETE_ORDER = ("PodDisruptionBudget", "StatefulSet", "Service", "Secret")


def apply(client, objects, password, check_mode, allow_generate=False):
    """Apply the objects; the Secret gets the real password only here.

    Returns (converger, password, whether it was generated). An existing Secret's password is read
    back and kept, so a generated password is made once.
    """
    secret = objects[0]
    meta = secret["metadata"]
    if client.get("Namespace", meta["namespace"]) is None:
        raise InputError(f"dedicated.namespace={meta['namespace']!r} does not exist; converge the tenant with "
                         "odoo_tenant first.")
    live = client.get("Secret", meta["name"], meta["namespace"])
    generated = False
    if password is None and live and (live.get("data") or {}).get("password"):
        password = base64.b64decode(live["data"]["password"]).decode()
    if password is None:
        if not allow_generate:
            raise InputError(f"the dedicated Redis in {meta['namespace']!r} has no password yet and none was given, "
                             "so one would be generated and returned. Set `no_log: true` on this task, or pass "
                             "password.")
        password = generate_password(32)
        generated = True
    conv = _kube.Converger(client, check_mode)
    conv.converge(dict(secret, stringData={"password": password}), live=live, fetch=False)
    for obj in objects[1:]:
        conv.converge(obj)
    return conv, password, generated


def remove(client, name, namespace, check_mode):
    conv = _kube.Converger(client, check_mode)
    for kind in KINDS_IN_DELETE_ORDER:
        conv.delete(kind, name, namespace)
    return conv


def run(params, objects, prefix, check_mode, no_log, diff):
    """The whole dedicated mode: apply or remove, and the result redis_cache returns."""
    d = params["dedicated"]
    password, generated = None, False
    with _kube.Client({"kubeconfig": d["kubeconfig"], "context": d["context"]}) as client:
        if params["state"] == "absent":
            conv = remove(client, f"{params['user']}-redis", d["namespace"], check_mode)
            objects = []
        else:
            conv, password, generated = apply(client, objects, params["password"], check_mode, allow_generate=no_log)
    result = {"changed": bool(conv.changed), "commands": conv.changed, "kubernetes_objects": objects,
              "redis": {"host": f"{params['user']}-redis.{d['namespace']}.svc.cluster.local", "port": 6379,
                        "tls": False, "user": "default", "prefix": prefix, "db": params["db"]}}
    if generated:
        result["generated_password"] = password
    if diff:
        result["diff"] = {"before": conv.before, "after": conv.after}
    return result
