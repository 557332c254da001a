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


def test_lab_state_is_read_once_by_the_inventory_script_and_its_absence_is_explained(lab, tmp_path):
    """odoo_saas_lab and odoo_saas_lab_dir are inventory variables (lab_state.sh), not a lookup templated again at each
    reference; without lab.json the script says that the lab is not up and how to start it."""
    inventory = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    listed = subprocess.run([inventory, "-i", os.path.join(REPO, "inventories", "lab"), "--list"],
                            capture_output=True, text=True, check=False)
    assert listed.returncode == 0, listed.stderr
    hostvars = json.loads(listed.stdout)["_meta"]["hostvars"]["legacy-hooli"]
    assert hostvars["odoo_saas_lab"] == lab
    with open(os.path.join(hostvars["odoo_saas_lab_dir"], "lab.json"), encoding="utf-8") as handle:
        assert json.load(handle) == lab

    missing = subprocess.run([inventory, "-i", os.path.join(REPO, "inventories", "lab"), "--list"],
                             capture_output=True, text=True, check=False,
                             env=dict(os.environ, ODOO_SAAS_LAB_DIR=str(tmp_path)))
    assert f"the lab is not up: {tmp_path}/lab.json is missing. Start it with make lab-up" in missing.stderr
    assert "odoo_saas_lab" not in json.loads(missing.stdout)["_meta"]["hostvars"]["legacy-hooli"]
