"""Fixtures of the role tests, which run playbooks with ansible-playbook as a user would."""

import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture(scope="module")
def collections(tmp_path_factory):
    """An ANSIBLE_COLLECTIONS_PATH in which odoo_saas.platform is this checkout, followed by the inherited path,
    where the roles' dependency kubernetes.core is installed (scripts/bootstrap.sh; galaxy.yml declares it)."""
    path = tmp_path_factory.mktemp("collections")
    os.makedirs(path / "ansible_collections" / "odoo_saas")
    os.symlink(REPO, path / "ansible_collections" / "odoo_saas" / "platform")
    inherited = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "")
    return ":".join(p for p in (str(path), inherited) if p)
