#!/bin/sh
# The lab's state (lab.json, written by `make lab-up`) as inventory variables of the group `all`: odoo_saas_lab,
# its content, and odoo_saas_lab_dir, its folder.
#
# An inventory script, read once when Ansible loads the inventory. A lookup in group_vars would read and parse the
# file again at every reference: every task of a lab host templates its connection and module defaults from it, and
# that doubled the cost of each task (a set_fact: about 70 ms instead of 35 ms), which no real inventory pays.
# Ansible runs it with --list (the inventory) or --host <name> (nothing more per host).
# The folder is the lab's own (lab/lablib/services.py): ODOO_SAAS_LAB_DIR, else /var/lib/odoo-saas-lab for root
# and ~/.local/state/odoo-saas-lab for anyone else.
set -eu
if [ "${1:-}" = --host ]; then
  echo '{}'
  exit 0
fi
if [ -n "${ODOO_SAAS_LAB_DIR:-}" ]; then
  dir="$ODOO_SAAS_LAB_DIR"
elif [ "$(id -u)" = 0 ]; then
  dir=/var/lib/odoo-saas-lab
else
  dir="$HOME/.local/state/odoo-saas-lab"
fi
if [ ! -r "$dir/lab.json" ]; then
  echo "the lab is not up: $dir/lab.json is missing. Start it with make lab-up (or set ODOO_SAAS_LAB_DIR)." >&2
  exit 1
fi
# The folder as a JSON string: its backslashes and double quotes escaped.
quoted="$(printf '%s' "$dir" | sed 's/\\/\\\\/g; s/"/\\"/g')"
printf '{"_meta": {"hostvars": {}}, "all": {"vars": {"odoo_saas_lab_dir": "%s", "odoo_saas_lab": ' "$quoted"
cat "$dir/lab.json"
printf '}}}\n'
