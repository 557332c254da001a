"""Start, stop and inspect the offline lab: `labctl.py up|down|status`.

`up` is idempotent: run again while the lab is up, it starts nothing and changes nothing.
`down` stops exactly the processes the lab recorded, and `down --purge` also deletes the state.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lablib import versions  # noqa: E402  pylint: disable=wrong-import-position
from lablib.procs import LabError  # noqa: E402  pylint: disable=wrong-import-position
from lablib.services import Lab  # noqa: E402  pylint: disable=wrong-import-position


def _summary(state):
    k8s = state["kubernetes"]
    pg = state["postgres"]
    rows = [
        ("Kubernetes API", k8s["server"], f"kubeconfig {k8s['kubeconfig']}"),
        ("kwok nodes", ", ".join(f"{p}={n}" for p, n in k8s["node_pools"].items()), "AKS pool labels and zones"),
        ("Traefik", state["traefik"]["api"] + "/api/rawdata", f"web {state['traefik']['web']}"),
        ("PostgreSQL platform", f"{pg['platform']['host']}:{pg['platform']['port']}", "user postgres"),
        ("PostgreSQL legacy", f"{pg['legacy']['host']}:{pg['legacy']['port']}", "user postgres"),
        ("Redis", f"{state['redis']['host']}:{state['redis']['port']}", "user default, ACLs on"),
        ("Azurite Blob", state["blob"]["blob_endpoint"], f"account {state['blob']['account_name']}"),
        ("ARM + Entra emulator", state["arm"]["endpoint"], f"subscription {state['arm']['subscription_id']}"),
        ("Legacy VM (ssh)", f"{state['legacy_vm']['ssh_user']}@{state['legacy_vm']['ssh_host']}:"
                            f"{state['legacy_vm']['ssh_port']}", f"key {state['legacy_vm']['ssh_private_key']}"),
        ("Legacy VM Odoo", state["legacy_vm"]["odoo_url"], f"odooctl {state['legacy_vm']['odooctl']}"),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"  {name:<{width}}  {where:<44}  {note}" for name, where, note in rows]
    lines.append(f"  CA bundle: {state['ca_bundle']}")
    lines.append(f"  Everything else (credentials included): {os.path.join(state['state_dir'], 'lab.json')}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "status", "env"))
    parser.add_argument("--purge", action="store_true", help="with down: also delete the lab's state folder")
    parser.add_argument("--verify", action="store_true",
                        help="with down: fail when a lab port still listens or a lab process still runs")
    args = parser.parse_args()
    lab = Lab()
    if args.command == "up":
        started = time.monotonic()
        try:
            state = lab.up()
        except LabError as exc:
            print(f"lab-up FAILED: {exc}", file=sys.stderr)
            print("The lab is not up. Fix the cause, then run `make lab-up` again "
                  "(or `make lab-down` to stop what did start).", file=sys.stderr)
            return 1
        print(f"lab is up ({time.monotonic() - started:.1f}s):")
        print(_summary(state))
        return 0
    if args.command == "down":
        stopped = lab.down(purge=args.purge)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        if args.verify:
            ports, procs = lab.leftovers()
            if ports or procs:
                print("lab-down left things behind: ports " + ", ".join(ports) + "; processes " + "; ".join(procs),
                      file=sys.stderr)
                return 1
            print("verified: no lab port listens and no lab process runs")
        if args.purge:
            print(f"deleted {lab.state}")
        return 0
    if args.command == "env":
        print(os.path.join(lab.state, "lab.json"))
        return 0
    rows = lab.status()
    all_up = all(row[3] for row in rows)
    print(f"lab state: {lab.state}")
    for name, pid, port, healthy, rss, peak in rows:
        print(f"  {name:<24} {'up' if healthy else 'DOWN':<5} pid {pid or '-':<8} port {port or '-':<6} "
              f"rss {rss // 1024:>5} MiB  peak {peak // 1024:>5} MiB")
    print(f"memory: {sum(r[4] for r in rows) // 1024} MiB now; at most {sum(r[5] for r in rows) // 1024} MiB at peak "
          "(sum of each process's peak)")
    print(f"  {'legacy-odoo':<24} {lab.legacy_odoo_status()} (the legacy VM's own service; a migration stops it)")
    print("versions: " + json.dumps(versions.as_table()))
    print("lab is " + ("up" if all_up else "NOT fully up"))
    return 0 if all_up else 3


if __name__ == "__main__":
    sys.exit(main())
