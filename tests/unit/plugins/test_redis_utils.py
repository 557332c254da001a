"""The pure parts of _redis: prefix rules, ACL rule evaluation, sizes, dedicated rendering."""

import pytest

from ansible_collections.odoo_saas.platform.plugins.module_utils._common import InputError
from ansible_collections.odoo_saas.platform.plugins.module_utils._redis import (
    DEFAULT_COMMANDS, _bytes, allowed_commands, check_prefix, check_user, render_dedicated)

TABLE = {
    "read": {"get", "scan", "config|get"},
    "write": {"set", "del", "flushall", "flushdb"},
    "keyspace": {"scan", "keys", "del", "flushall", "flushdb"},
    "dangerous": {"flushall", "flushdb", "keys", "config|get", "config|set", "debug"},
    "admin": {"config|set", "debug"},
}


def test_rules_that_redis_rewrites_still_compare_equal():
    ours = allowed_commands(DEFAULT_COMMANDS, TABLE)
    # Redis 7 shows the default rules back as "+@all -@dangerous -config".
    assert allowed_commands(["+@all", "-@dangerous", "-config"], TABLE) == ours
    assert ours == {"get", "scan", "set", "del"}


def test_a_different_rule_set_compares_different():
    assert allowed_commands(["+@all", "-@admin"], TABLE) != allowed_commands(DEFAULT_COMMANDS, TABLE)
    assert allowed_commands(["-@all", "+get"], TABLE) == {"get"}


@pytest.mark.parametrize("prefix", ["acme*", "a?", "[ab]:", "a b:", "x\\:", ""])
def test_prefixes_with_glob_characters_are_refused(prefix):
    with pytest.raises(InputError):
        check_prefix("prefix", prefix)


def test_users():
    assert check_user("user", "acme-shop") == "acme-shop"
    for bad in ("default", "Acme", "a b", "-x"):
        with pytest.raises(InputError):
            check_user("user", bad)


@pytest.mark.parametrize("text, expected", [("100", 100), ("256mb", 256 * 1024 ** 2), ("2gb", 2 * 1024 ** 3),
                                            ("1gib", 1024 ** 3), ("10kb", 10240)])
def test_sizes(text, expected):
    assert _bytes(text) == expected


def test_dedicated_redis_is_restricted_and_sized():
    objects = render_dedicated("acme", "tenant-acme", memory_limit="1Gi", persistence="none")
    sts = objects[2]
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["limits"]["memory"] == "1Gi"
    assert "volumeClaimTemplates" not in sts["spec"]
    assert objects[0]["stringData"]["password"] == "********"
