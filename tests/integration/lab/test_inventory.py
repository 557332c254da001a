"""inventories/lab reads its endpoints from the lab's state folder."""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_lab_inventory_resolves_the_lab_endpoints(lab):
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    result = subprocess.run(
        [ansible, "-i", os.path.join(REPO, "inventories", "lab"), "localhost", "-m", "ansible.builtin.debug",
         "-a", "var=odoo_saas_azure_auth.resource_manager_endpoint", "--one-line"],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    output = json.loads(result.stdout.split("=>", 1)[1])
    value = output["odoo_saas_azure_auth.resource_manager_endpoint"]
    assert value == lab["arm"]["endpoint"]
