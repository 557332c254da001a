"""Unit tests run without any service; the lab's pure helpers are importable from lab/."""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "lab"))

# The collection's own code imports itself as ansible_collections.odoo_saas.platform.
_TREE = os.path.join(REPO, "tests", "output", "unit-collections")
_LINK = os.path.join(_TREE, "ansible_collections", "odoo_saas", "platform")
if not os.path.islink(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    os.symlink(REPO, _LINK)
sys.path.insert(0, _TREE)
