#!/bin/sh
# The lab's state file (lab.json, written by `make lab-up`) as the variable odoo_saas_lab of the group `all`.
#
# An inventory script, read once when Ansible loads the inventory. A lookup in group_vars would read and parse the
# file again at every reference: every task of a lab host templates its connection and module defaults from it, and
# that doubled the cost of each task (a set_fact: about 70 ms instead of 35 ms), which no real inventory pays.
# Ansible runs it with --list (the inventory) or --host <name> (nothing more per host).
# The folder is ODOO_SAAS_LAB_DIR, /var/lib/odoo-saas-lab by default, as for group_vars/all/lab.yml.
set -eu
if [ "${1:-}" = --host ]; then
  echo '{}'
  exit 0
fi
state="${ODOO_SAAS_LAB_DIR:-/var/lib/odoo-saas-lab}/lab.json"
if [ ! -r "$state" ]; then
  echo "the lab is not up: $state is missing. Start it with make lab-up (or set ODOO_SAAS_LAB_DIR)." >&2
  exit 1
fi
printf '{"_meta": {"hostvars": {}}, "all": {"vars": {"odoo_saas_lab": '
cat "$state"
printf '}}}\n'
