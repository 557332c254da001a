"""The pure parts of _postgres: name rules, the connection-limit formula, SCRAM verification."""

import base64
import hashlib
import hmac

import pytest

from ansible_collections.odoo_saas.platform.plugins.module_utils._common import InputError
from ansible_collections.odoo_saas.platform.plugins.module_utils._postgres import (
    check_identifier, connection_limit, scram_matches)


@pytest.mark.parametrize("name", ["acme", "acme_shop", "acme-shop", "_x", "a" * 63])
def test_valid_names(name):
    assert check_identifier("name", name) == name


@pytest.mark.parametrize("name, fragment", [
    ('x"; DROP ROLE postgres', "is not a valid role name"),
    ("Acme", "is not a valid role name"),
    ("", "is not a valid role name"),
    ("a" * 64, "at most 63 bytes"),
    ("postgres", "reserved role name"),
    ("pg_signal_backend", "reserved role name"),
    ("azure_pg_admin", "reserved role name"),
])
def test_invalid_names(name, fragment):
    with pytest.raises(InputError) as caught:
        check_identifier("role", name)
    assert fragment in caught.value.msg and repr(name) in caught.value.msg


def test_database_names_have_their_own_reserved_list():
    with pytest.raises(InputError):
        check_identifier("name", "template1", kind="database")
    assert check_identifier("name", "public_site", kind="database") == "public_site"


@pytest.mark.parametrize("params, expected", [
    ({"conn_limit": 20}, 20),
    ({"conn_limit": -1}, -1),
    ({"workers": 4, "max_cron_threads": 1, "db_maxconn": 8}, 48),
    ({"workers": 0, "max_cron_threads": 0, "db_maxconn": 4}, 4),
    ({"workers": 2}, (2 + 2 + 1) * 64),
    ({}, None),
])
def test_connection_limit(params, expected):
    assert connection_limit(params) == expected


@pytest.mark.parametrize("params", [{"conn_limit": -2}, {"workers": -1}, {"workers": 1, "db_maxconn": 0},
                                    {"workers": 1, "max_cron_threads": -3}])
def test_connection_limit_refuses_nonsense(params):
    with pytest.raises(InputError):
        connection_limit(params)


def _verifier(password, salt=b"0123456789abcdef", iterations=4096):
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    stored = hashlib.sha256(client_key).digest()
    b64 = base64.b64encode
    return f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}${b64(stored).decode()}:{b64(server_key).decode()}"


def test_scram_matches_the_right_password_only():
    stored = _verifier("correct horse")
    assert scram_matches(stored, "correct horse")
    assert not scram_matches(stored, "correct horse ")
    assert not scram_matches(None, "x")
    assert not scram_matches("md5abc", "x")
    assert not scram_matches("SCRAM-SHA-256$garbage", "x")
