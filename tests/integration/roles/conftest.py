"""Fixtures of the role tests, which run playbooks with ansible-playbook as a user would."""

import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture(scope="module")
def collections(tmp_path_factory):
    """A private ANSIBLE_COLLECTIONS_PATH in which odoo_saas.platform is this checkout."""
    path = tmp_path_factory.mktemp("collections")
    os.makedirs(path / "ansible_collections" / "odoo_saas")
    os.symlink(REPO, path / "ansible_collections" / "odoo_saas" / "platform")
    return str(path)
