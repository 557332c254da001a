"""The lab's Redis enforces ACLs: a tenant user is confined to its key prefix."""

import uuid

import pytest
import redis


@pytest.fixture
def tenant_user(lab):
    settings = lab["redis"]
    admin = redis.Redis(host=settings["host"], port=settings["port"], username=settings["user"],
                        password=settings["password"])
    name, password = f"it-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    admin.acl_setuser(name, enabled=True, passwords=[f"+{password}"], keys=[f"{name}:*"],
                      channels=[f"{name}:*"], commands=["+@all", "-@admin", "-@dangerous"], reset=True)
    admin.set("other:secret", "not yours")
    yield admin, name, password
    admin.acl_deluser(name)
    admin.delete("other:secret", f"{name}:k")


def test_acl_user_is_denied_keys_outside_its_prefix(lab, tenant_user):
    admin, name, password = tenant_user
    settings = lab["redis"]
    tenant = redis.Redis(host=settings["host"], port=settings["port"], username=name, password=password)
    assert tenant.set(f"{name}:k", "v") is True
    assert tenant.get(f"{name}:k") == b"v"
    with pytest.raises(redis.exceptions.NoPermissionError):
        tenant.get("other:secret")
    with pytest.raises(redis.exceptions.NoPermissionError):
        tenant.set("other:secret", "overwritten")
    with pytest.raises(redis.exceptions.NoPermissionError):
        tenant.flushall()
    assert admin.get("other:secret") == b"not yours"


def test_default_user_needs_its_password(lab):
    settings = lab["redis"]
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=settings["host"], port=settings["port"], password="wrong").ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=settings["host"], port=settings["port"]).get("x")
