# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that talks to Redis: a tenant's ACL user and key prefix, server memory settings,
and the objects of an in-cluster Redis for dedicated tenants (rendered only; _redis_dedicated applies them).

ACL rules are compared by what they allow, not by their text: Redis rewrites a user's command rules
into its own minimal form, so both sides are evaluated against the server's own command categories.
"""

from __future__ import annotations

import hashlib
import re

from ansible.module_utils.basic import env_fallback

from ._common import InputError, OdooSaasError, ServiceError

try:
    import redis
except ImportError:  # reported by the module
    redis = None

DEFAULT_COMMANDS = ["+@all", "-@admin", "-@dangerous", "-flushall", "-flushdb", "-keys", "-config"]
USER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
GLOB_CHARS = set("*?[]\\^ \t\n")
POLICIES = ["noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu",
            "volatile-random", "volatile-ttl"]


def redis_argument_spec():
    """Connection options shared by the Redis modules; documented in doc_fragments/redis.py."""
    return {
        "login_host": {"type": "str", "default": "localhost", "fallback": (env_fallback, ["REDIS_HOST"])},
        "login_port": {"type": "int", "default": 6379, "fallback": (env_fallback, ["REDIS_PORT"])},
        "login_user": {"type": "str", "default": "default"},
        "login_password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["REDIS_PASSWORD"])},
        "tls": {"type": "bool", "default": False},
        "ca_cert": {"type": "path"},
        "validate_certs": {"type": "bool", "default": True},
    }


def check_user(option, value):
    if not isinstance(value, str) or not USER_NAME.match(value) or value == "default":
        raise InputError(f"{option}={value!r} is not a valid tenant user: use 1-63 lowercase letters, digits, '_' "
                         "and '-', starting with a letter or digit; 'default' belongs to the server.")
    return value


def check_prefix(option, value):
    bad = sorted(GLOB_CHARS & set(value or ""))
    if not value or bad:
        shown = ", ".join(repr(c) for c in bad) if bad else "nothing"
        raise InputError(f"{option}={value!r} is not a usable key prefix: it contains {shown}. A prefix is "
                         "literal text such as 'acme:'; glob characters would widen the tenant's access.")
    return value


def sha256_hex(password):
    return hashlib.sha256(password.encode()).hexdigest()


class Connection:
    """A Redis connection as the admin user; the only object here that sends commands."""

    def __init__(self, params):
        if redis is None:
            raise OdooSaasError("the redis Python package is required on the controller: pip install 'redis>=5'")
        self.params = params
        kwargs = {"host": params["login_host"], "port": params["login_port"], "username": params["login_user"],
                  "password": params["login_password"], "socket_timeout": 10, "decode_responses": True}
        if params["tls"]:
            kwargs.update(ssl=True, ssl_ca_certs=params.get("ca_cert"),
                          ssl_cert_reqs="required" if params["validate_certs"] else "none")
        self.client = redis.Redis(**kwargs)
        self.writes = []
        try:
            self.client.ping()
        except redis.exceptions.AuthenticationError as exc:
            raise ServiceError(f"Redis at {params['login_host']}:{params['login_port']} refused user "
                               f"{params['login_user']!r}: {exc}. Check login_user and login_password.") from exc
        except redis.exceptions.ConnectionError as exc:
            raise ServiceError(f"cannot reach Redis at {params['login_host']}:{params['login_port']}: {exc}. "
                               "Check login_host, login_port and tls.") from exc

    def write(self, shown, *command, check_mode=False):
        """Record a write (with secrets already redacted in `shown`) and send it unless in check mode."""
        self.writes.append(shown)
        if check_mode:
            return None
        try:
            return self.client.execute_command(*command)
        except redis.exceptions.ResponseError as exc:
            raise ServiceError(f"Redis refused `{shown}`: {exc}", commands=self.writes) from exc

    def raw(self, *command):
        """Send a command and return Redis's reply as sent, without redis-py's reshaping of it."""
        conn = self.client.connection_pool.get_connection()
        try:
            conn.send_command(*command)
            return conn.read_response()
        finally:
            self.client.connection_pool.release(conn)

    def category_table(self):
        """{category: set of commands and subcommands}, read with pipelined ACL CAT calls."""
        categories = self.client.acl_cat()
        pipe = self.client.pipeline(transaction=False)
        for category in categories:
            pipe.acl_cat(category)
        return {cat: set(members) for cat, members in zip(categories, pipe.execute())}


def allowed_commands(rules, table):
    """The set of commands a list of ACL command rules allows, evaluated in order as Redis does."""
    universe = set().union(*table.values()) if table else set()
    allowed = set()

    def family(name):
        return {c for c in universe if c == name or c.startswith(name + "|")} | {name}

    for rule in rules:
        rule = rule.lower()
        if rule in ("+@all", "allcommands"):
            allowed = set(universe)
        elif rule in ("-@all", "nocommands"):
            allowed = set()
        elif rule.startswith("+@"):
            allowed |= table.get(rule[2:], set())
        elif rule.startswith("-@"):
            allowed -= table.get(rule[2:], set())
        elif rule.startswith("+"):
            allowed |= {rule[1:]} if "|" in rule else family(rule[1:])
        elif rule.startswith("-"):
            allowed -= {rule[1:]} if "|" in rule else family(rule[1:])
    return allowed


class TenantUser:
    """A tenant's ACL user on a shared Redis, confined to its key and channel prefix."""

    def __init__(self, conn, params, check_mode):
        self.c = conn
        self.p = params
        self.check_mode = check_mode
        self.user = params["user"]
        self.prefix = params["prefix"] or f"{params['user']}:"
        self.generated_password = None
        self.diff = {"before": {}, "after": {}}

    def read(self):
        info = self.c.raw("ACL", "GETUSER", self.user)
        if info is None:
            return None
        if isinstance(info, list):  # RESP2 answers with a flat list of pairs
            info = dict(zip(info[::2], info[1::2]))
        return {"enabled": "on" in info["flags"], "passwords": list(info["passwords"]),
                "keys": info["keys"], "channels": info["channels"], "commands": info["commands"],
                "selectors": info.get("selectors") or []}

    def desired_rules(self):
        return list(self.p["commands"] or DEFAULT_COMMANDS)

    def present(self):
        current = self.read()
        rules = self.desired_rules()
        password = self.p["password"]
        if current is None and password is None:
            if not self.p["_no_log"]:
                raise InputError(f"Redis user {self.user!r} does not exist and no password was given, so one "
                                 "would be generated and returned. Set `no_log: true` on this task, or pass "
                                 "password.")
            from ._common import generate_password  # pylint: disable=import-outside-toplevel

            password = self.generated_password = generate_password(32)
        keys = [f"~{self.prefix}*"]
        channels = [f"&{self.prefix}*"]
        if current is None:
            hashes = [sha256_hex(password)]
        elif password is not None and (self.p["update_password"] == "always" or (
                self.p["update_password"] == "when_changed" and current["passwords"] != [sha256_hex(password)])):
            hashes = [sha256_hex(password)]
        else:
            hashes = current["passwords"]
        same = current is not None and current["enabled"] and current["passwords"] == hashes \
            and current["keys"] == " ".join(keys) and current["channels"] == " ".join(channels) \
            and not current["selectors"] and self._same_commands(current["commands"], rules)
        if self.p["update_password"] == "always" and password is not None:
            same = False
        self.diff["before"] = None if current is None else {
            "enabled": current["enabled"], "keys": current["keys"], "channels": current["channels"],
            "commands": current["commands"], "password": "(set)" if current["passwords"] else "(none)"}
        self.diff["after"] = {"enabled": True, "keys": " ".join(keys), "channels": " ".join(channels),
                              "commands": " ".join(rules),
                              "password": "(set)" if hashes == (current or {}).get("passwords") else "(changed)"}
        if same:
            return False
        shown = ["ACL", "SETUSER", self.user, "reset", "on"] + ["#********"] * len(hashes) + keys \
            + ["resetchannels"] + channels + rules
        command = ["ACL", "SETUSER", self.user, "reset", "on"] + [f"#{h}" for h in hashes] + keys \
            + ["resetchannels"] + channels + rules
        self.c.write(" ".join(shown), *command, check_mode=self.check_mode)
        self._save_acl()
        return True

    def _same_commands(self, current, rules):
        table = self.c.category_table()
        return allowed_commands(current.split(), table) == allowed_commands(rules, table)

    def _save_acl(self):
        """Persist ACLs where the server keeps an ACL file; managed Redis persists on its own."""
        if self.check_mode:
            return
        try:
            self.c.client.execute_command("ACL", "SAVE")
            self.c.writes.append("ACL SAVE")
        except redis.exceptions.ResponseError:
            pass  # no aclfile configured: nothing to persist to

    def absent(self):
        current = self.read()
        changed = False
        self.diff["before"] = None if current is None else {"keys": current["keys"]}
        self.diff["after"] = None
        if current is not None:
            self.c.write(f"ACL DELUSER {self.user}", "ACL", "DELUSER", self.user, check_mode=self.check_mode)
            self._save_acl()
            changed = True
        deleted = 0
        if self.p["purge_keys"]:
            deleted = self.purge_keys()
            changed = changed or deleted > 0
        return changed, deleted

    def purge_keys(self):
        """Delete the tenant's keys with SCAN and UNLINK in batches; KEYS is never used."""
        count = 0
        batch = []
        for key in self.c.client.scan_iter(match=f"{_escape_glob(self.prefix)}*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                count += self._unlink(batch)
                batch = []
        if batch:
            count += self._unlink(batch)
        return count

    def _unlink(self, keys):
        self.c.writes.append(f"UNLINK <{len(keys)} keys under {self.prefix}>")
        return len(keys) if self.check_mode else self.c.client.unlink(*keys)


def _escape_glob(text):
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def converge_memory(conn, params, check_mode):
    """maxmemory and maxmemory-policy on a self-managed Redis; returns (changed, before, after)."""
    wanted = {}
    if params.get("maxmemory") is not None:
        wanted["maxmemory"] = str(_bytes(params["maxmemory"]))
    if params.get("maxmemory_policy") is not None:
        wanted["maxmemory-policy"] = params["maxmemory_policy"]
    if not wanted:
        return False, {}, {}
    try:
        current = {key: conn.client.config_get(key).get(key) for key in wanted}
    except (redis.exceptions.ResponseError, redis.exceptions.NoPermissionError) as exc:
        raise InputError(f"this Redis endpoint refuses CONFIG ({exc}), as managed Redis does, so maxmemory and "
                         "maxmemory_policy cannot be managed here. Set them on the Azure resource instead, and "
                         "remove these options.") from exc
    changed = False
    for key, value in wanted.items():
        if current.get(key) != value:
            conn.write(f"CONFIG SET {key} {value}", "CONFIG", "SET", key, value, check_mode=check_mode)
            changed = True
    return changed, current, wanted


def _bytes(value):
    match = re.match(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", str(value).lower())
    if not match:
        raise InputError(f"maxmemory={value!r} is not a size: use bytes or a unit such as 256mb or 2gb.")
    number, unit = int(match.group(1)), (match.group(2) or "b")
    factor = {"b": 1, "k": 1000, "kb": 1024, "kib": 1024, "m": 1000 ** 2, "mb": 1024 ** 2, "mib": 1024 ** 2,
              "g": 1000 ** 3, "gb": 1024 ** 3, "gib": 1024 ** 3}.get(unit)
    if factor is None:
        raise InputError(f"maxmemory={value!r} has an unknown unit {unit!r}; use kb, mb or gb.")
    return number * factor


def render_dedicated(name, namespace, memory_limit="1Gi", persistence="rdb", storage_size="8Gi",
                     image="redis:7.4", maxmemory_policy="allkeys-lru", secret_name=None):
    """The Kubernetes objects of a dedicated tenant's in-cluster Redis: Secret, Service, StatefulSet, PDB.

    The Secret carries only a reference here: its password is filled in by the caller when applying.
    """
    if persistence not in ("none", "rdb", "aof"):
        raise InputError(f"dedicated.persistence={persistence!r} is not one of none, rdb, aof.")
    secret_name = secret_name or f"{name}-redis"
    labels = {"app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": name,
              "app.kubernetes.io/managed-by": "odoo_saas.platform"}
    # Redis is given 80% of the container's memory, leaving room for fork-on-save.
    limit_bytes = _bytes(memory_limit.replace("Gi", "gib").replace("Mi", "mib"))
    args = ["--requirepass", "$(REDIS_PASSWORD)", "--maxmemory", str(limit_bytes * 8 // 10),
            "--maxmemory-policy", maxmemory_policy]
    if persistence == "none":
        args += ["--save", "", "--appendonly", "no"]
    elif persistence == "rdb":
        args += ["--save", "900 1 300 10 60 10000", "--appendonly", "no"]
    else:
        args += ["--appendonly", "yes", "--appendfsync", "everysec"]
    security = {"runAsNonRoot": True, "runAsUser": 999, "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    statefulset = {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": f"{name}-redis", "namespace": namespace, "labels": labels},
        "spec": {
            "serviceName": f"{name}-redis", "replicas": 1, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "containers": [{
                    "name": "redis", "image": image, "args": args, "ports": [{"name": "redis", "containerPort": 6379}],
                    "env": [{"name": "REDIS_PASSWORD",
                             "valueFrom": {"secretKeyRef": {"name": secret_name, "key": "password"}}}],
                    "resources": {"requests": {"cpu": "100m", "memory": memory_limit},
                                  "limits": {"memory": memory_limit}},
                    "securityContext": security,
                    "readinessProbe": {"tcpSocket": {"port": 6379}, "periodSeconds": 5},
                }],
            }},
        },
    }
    if persistence != "none":
        statefulset["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "data",
                                                                                    "mountPath": "/data"}]
        statefulset["spec"]["volumeClaimTemplates"] = [{
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage_size}}}}]
    return [
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": {"name": secret_name, "namespace": namespace, "labels": labels},
         "stringData": {"password": "********"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"{name}-redis", "namespace": namespace,
                                                             "labels": labels},
         "spec": {"selector": labels, "ports": [{"name": "redis", "port": 6379, "targetPort": 6379}]}},
        statefulset,
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
         "metadata": {"name": f"{name}-redis", "namespace": namespace, "labels": labels},
         "spec": {"maxUnavailable": 0, "selector": {"matchLabels": labels}}},
    ]
