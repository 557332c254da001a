"""Fleet benchmark: converge N tenants with odoo_tenant + traefik_route, and the same objects the common way
(kubernetes.core.k8s, one task per object), side by side on the same lab, in the same run.

    python bench/fleet.py --tenants 50 [--tenants 200] [--forks 10]

For each way it measures three scenarios: from nothing, a no-op re-run, and a change that touches every
tenant (Odoo's workers 2 -> 3, which changes odoo.conf and rolls the Deployments). It reports wall time and
the number of writes the API server received for the tenants' objects, read from the API server's own
metrics (`apiserver_request_total`, main resources only: controllers' status updates are not counted).
Results go to bench/results/fleet-<N>.json and the table in bench/README.md. Ratios are computed within
one run, because these machines are shared and their absolute speed varies.
"""

import argparse
import functools
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TREE = os.path.join(REPO, "tests", "output", "unit-collections")
if not os.path.islink(os.path.join(_TREE, "ansible_collections", "odoo_saas", "platform")):
    os.makedirs(os.path.join(_TREE, "ansible_collections", "odoo_saas"), exist_ok=True)
    os.symlink(REPO, os.path.join(_TREE, "ansible_collections", "odoo_saas", "platform"))
sys.path.insert(0, _TREE)
sys.path.insert(0, os.path.join(REPO, "lab"))
MANAGED = {"namespaces", "configmaps", "secrets", "services", "deployments", "jobs", "networkpolicies",
           "resourcequotas", "limitranges", "poddisruptionbudgets", "ingressroutes", "middlewares",
           "persistentvolumeclaims", "horizontalpodautoscalers"}
WRITE_VERBS = {"POST", "PUT", "PATCH", "APPLY", "DELETE"}


def lab_state():
    path = os.path.join(os.environ.get("ODOO_SAAS_LAB_DIR", "/var/lib/odoo-saas-lab"), "lab.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def api_request(lab, path, body=None):
    """A request to the lab's API server as its admin, and the TLS context to send it with."""
    with open(lab["kubernetes"]["kubeconfig"], encoding="utf-8") as handle:
        token = json.load(handle)["users"][0]["user"]["token"]
    headers = {"Authorization": "Bearer " + token}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(lab["kubernetes"]["server"] + path, headers=headers, method=None if body is None
                                     else "POST", data=None if body is None else json.dumps(body).encode())
    return request, ssl.create_default_context(cafile=lab["ca_bundle"])


def api_writes(lab):
    """Writes to the tenants' kinds of objects so far, from the API server's metrics."""
    request, context = api_request(lab, "/metrics")
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        text = response.read().decode()
    total = 0
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if labels.get("verb") in WRITE_VERBS and labels.get("resource") in MANAGED and \
                not labels.get("subresource") and not labels.get("dry_run"):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def tenant_spec(name, workers):
    return {"name": name, "namespace": None, "tier": "shared", "node_pool": None, "cost_centre": "bench",
            "odoo_version": "17.0", "image": "odoo", "image_tag": None, "workers": workers, "max_cron_threads": 1,
            "db_maxconn": 8, "web_replicas": 1, "cron_replicas": 1,
            "web_resources": {"requests": {"cpu": "250m", "memory": "512Mi"},
                              "limits": {"cpu": "1", "memory": "1536Mi"}},
            "cron_resources": {"requests": {"cpu": "100m", "memory": "384Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            "quota": {"cpu": "4", "memory": "8Gi", "limits.cpu": "8", "limits.memory": "16Gi", "pods": "20"},
            "limit_memory_soft": 671088640, "limit_memory_hard": 1073741824, "limit_time_cpu": 60,
            "limit_time_real": 120,
            "database": {"host": "10.1.0.4", "port": 5432, "name": name, "user": name, "password": "bench-db",
                         "sslmode": "prefer"},
            "redis": None, "admin_passwd": "bench-admin", "filestore": {"storage_class": "", "size": "10Gi"},
            "autoscale": None, "upgrade_modules": "all", "ingress_namespace": "traefik",
            "hosts": [f"{name}.bench.example.com"], "tls": {"cert_resolver": None, "secret_name": f"{name}-tls"},
            "entry_point": "websecure", "http_entry_point": "web", "rate_limit": {"average": 50, "burst": 100},
            "max_body_bytes": 134217728, "allow_wildcard": False}


def render_objects(name, workers):
    """The very objects odoo_tenant and traefik_route write, for the common way to apply one by one."""
    from ansible_collections.odoo_saas.platform.plugins.module_utils import _odoo  # pylint: disable=import-error

    spec = tenant_spec(name, workers)
    ns = _odoo.namespace_name(spec)
    objects = _odoo.render(spec, "17.0")
    objects.insert(8, _odoo.secret(spec, ns, "bench-db", "bench-admin", ""))
    objects.insert(9, _odoo.job(spec, "17.0", "init"))
    return objects + _odoo.routes(spec, "17.0")


def run_playbook(playbook, inventory, forks, extra_vars):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "tests", "output", "unit-collections") + ":" +
               os.environ.get("ANSIBLE_COLLECTIONS_PATH", ""))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, "-f", str(forks),
            "-e", json.dumps(extra_vars), playbook]
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"{playbook} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    recap = re.search(r"changed=(\d+)", proc.stdout.split("PLAY RECAP")[-1])
    changed = sum(int(c) for c in re.findall(r"changed=(\d+)", proc.stdout.split("PLAY RECAP")[-1]))
    return elapsed, changed if recap else None


OURS = """
- hosts: tenants
  gather_facts: false
  tasks:
    - name: Converge the tenant
      odoo_saas.platform.odoo_tenant:
        kubeconfig: "{{ kubeconfig }}"
        name: "{{ inventory_hostname }}"
        odoo_version: "17.0"
        workers: "{{ workers | int }}"
        cost_centre: bench
        database: {host: 10.1.0.4, port: 5432, name: "{{ inventory_hostname }}", user: "{{ inventory_hostname }}",
                   password: bench-db}
        admin_passwd: bench-admin
        filestore: {storage_class: ""}
        wait: false
    - name: Route the tenant
      odoo_saas.platform.traefik_route:
        kubeconfig: "{{ kubeconfig }}"
        name: "{{ inventory_hostname }}"
        odoo_version: "17.0"
        hosts: ["{{ inventory_hostname }}.bench.example.com"]
        tls: {secret_name: "{{ inventory_hostname }}-tls"}
"""

COMMON = """
- hosts: tenants
  gather_facts: false
  tasks:
    - name: Apply each object, one task per object
      kubernetes.core.k8s:
        kubeconfig: "{{ kubeconfig }}"
        state: present
        apply: true
        definition: "{{ item }}"
      loop: "{{ lookup('ansible.builtin.file', objects_dir ~ '/' ~ inventory_hostname ~ '-' ~ workers ~ '.json')
                | from_json }}"
      loop_control:
        label: "{{ item.kind }}/{{ item.metadata.name }}"
"""


SCENARIOS = (("create", 2), ("noop", 2), ("change", 3))


def measure(way, names, forks, lab, tmp, scenarios=None, on_result=lambda results: None):
    inventory = os.path.join(tmp, f"{way}.ini")
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write("[tenants]\n" + "\n".join(f"{n} ansible_connection=local ansible_python_interpreter="
                                               f"{sys.executable}" for n in names) + "\n")
    playbook = os.path.join(tmp, f"{way}.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        handle.write(OURS if way == "ours" else COMMON)
    objects_dir = os.path.join(tmp, "objects")
    os.makedirs(objects_dir, exist_ok=True)
    for name in names:
        for workers in (2, 3):
            with open(os.path.join(objects_dir, f"{name}-{workers}.json"), "w", encoding="utf-8") as handle:
                json.dump(render_objects(name, workers), handle)
    results = {}
    if scenarios and "create" not in scenarios:
        create_as_kubernetes_core(names, objects_dir, lab)
    for scenario, workers in SCENARIOS:
        if scenarios and scenario not in scenarios:
            continue
        before = api_writes(lab)
        extra = {"kubeconfig": lab["kubernetes"]["kubeconfig"], "workers": workers, "objects_dir": objects_dir}
        elapsed, changed = run_playbook(playbook, inventory, forks, extra)
        results[scenario] = {"seconds": round(elapsed, 1), "api_writes": api_writes(lab) - before,
                             "changed_tasks": changed}
        print(f"  {way:<6} {scenario:<7} {elapsed:7.1f}s  writes {results[scenario]['api_writes']:>6}", flush=True)
        on_result(results)
    return results


PLURALS = {"Namespace": "namespaces", "ResourceQuota": "resourcequotas", "LimitRange": "limitranges",
           "NetworkPolicy": "networkpolicies", "ConfigMap": "configmaps", "Secret": "secrets", "Service": "services",
           "Deployment": "deployments", "Job": "jobs", "PodDisruptionBudget": "poddisruptionbudgets",
           "Middleware": "middlewares", "IngressRoute": "ingressroutes"}


def create_as_kubernetes_core(names, objects_dir, lab):
    """Create the fleet, untimed, for a run that measures the common way's no-op and change but not its
    creation (which takes about 50 minutes at N = 200). Each object is POSTed as kubernetes.core.k8s's
    `apply: true` creates it: the definition plus its `last-applied-configuration` annotation, serialised as that
    module serialises it (compact, sorted keys). Not through kubectl: `kubectl create` rewrites that annotation in
    its own serialisation, and the common way's next run then patches every object. The no-op that follows starts
    from the state the common way's own creation leaves; its `changed_tasks` of 0 shows it."""
    started = time.monotonic()
    for name in names:
        with open(os.path.join(objects_dir, f"{name}-2.json"), encoding="utf-8") as handle:
            items = json.load(handle)
        for item in sorted(items, key=lambda i: i["kind"] != "Namespace"):
            body = json.loads(json.dumps(item))
            body["metadata"].setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = \
                json.dumps(item, separators=(",", ":"), indent=None, sort_keys=True)
            version = item["apiVersion"]
            path = ("/api/" if "/" not in version else "/apis/") + version
            if item["metadata"].get("namespace"):
                path += "/namespaces/" + item["metadata"]["namespace"]
            request, context = api_request(lab, path + "/" + PLURALS[item["kind"]], body)
            with urllib.request.urlopen(request, context=context, timeout=30):
                pass
    print(f"  common setup  {time.monotonic() - started:7.1f}s  (created as kubernetes.core.k8s creates, untimed: the"
          " common way's creation is not measured in this run)", flush=True)


def scale_pools(lab, tenants_per_way, ways):
    """Add kwok nodes to the lab's web and worker pools until they hold the fleet, as AKS's cluster autoscaler
    would: the lab's 3 web and 2 worker nodes hold about 50 tenants' pods. Nodes already there are kept, and the
    added ones are left in place afterwards (deleting kwok nodes stalls kwok's heartbeats; `make lab-down` and
    `make lab-up` start a fresh lab)."""
    from lablib import kube  # pylint: disable=import-error,import-outside-toplevel

    kubectl = kube.Kubectl(lab["kubernetes"]["kubectl"], lab["kubernetes"]["kubeconfig"], os.devnull)
    # Pods per node, by the scarcer of CPU and memory: web 250m/512Mi on D8ds_v5, cron 100m/384Mi on D4ds_v5, with
    # room for the init Jobs and the tenants the lab holds already.
    wanted = {"web": -(-tenants_per_way * ways // 28) + 1, "worker": -(-tenants_per_way * ways // 30) + 1}
    manifests = []
    for pool, count in wanted.items():
        mode, vm_size, base, zones, cpu, memory, taints = kube.DEFAULT_POOLS[pool]
        for index in range(max(count - base, 0)):
            manifests.append(kube.node_manifest(pool, index, mode, vm_size, zones, cpu, memory, taints,
                                                name=kube.node_name(pool, index, digits="27182818")))
    if manifests:
        kubectl.apply(manifests, "add kwok nodes")
        added = {m["metadata"]["name"] for m in manifests}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            nodes = json.loads(kubectl.run(["get", "nodes", "-o", "json"], what="list nodes"))["items"]
            ready = {n["metadata"]["name"] for n in nodes
                     if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))}
            if added <= ready:
                break
            time.sleep(2)
        else:
            raise SystemExit("the added kwok nodes did not become Ready within 120 s")
    print(f"pools: {wanted} nodes for {tenants_per_way} tenants x {ways} ways ({len(manifests)} added)", flush=True)


def cleanup(lab, prefix):
    kubectl = [lab["kubernetes"]["kubectl"], "--kubeconfig", lab["kubernetes"]["kubeconfig"]]
    names = subprocess.run(kubectl + ["get", "ns", "-o", "name"], capture_output=True, text=True, check=True).stdout
    doomed = [n for n in names.split() if n.startswith(f"namespace/odoo-{prefix}")]
    if doomed:
        subprocess.run(kubectl + ["delete", "--wait=true", "--timeout=600s"] + doomed, capture_output=True,
                       check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, action="append", help="fleet sizes (default 50)")
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--common-scenarios", nargs="+", choices=[s for s, _w in SCENARIOS] + ["none"],
                        help="measure the common way only in these scenarios, or not at all with `none` (at N = 200 "
                             "each one takes about 40 minutes on 2 cores); ours always runs all three. Without `create`, the "
                             "common way's fleet is first created untimed, as kubernetes.core.k8s creates it")
    args = parser.parse_args()
    common_off = "none" in (args.common_scenarios or [])
    lab = lab_state()
    os.makedirs(os.path.join(REPO, "bench", "results"), exist_ok=True)
    for count in args.tenants or [50]:
        run_id = time.strftime("%H%M%S")
        print(f"fleet of {count} tenants, {args.forks} forks", flush=True)
        if count > 50:
            scale_pools(lab, count, 1 if common_off else 2)
        report = {"tenants": count, "forks": args.forks, "ours": {}, "common": {}, "speedup": {}, "complete": False,
                  "command": f"python bench/fleet.py --tenants {count} --forks {args.forks}" + (
                      " --common-scenarios " + " ".join(args.common_scenarios) if args.common_scenarios else ""),
                  "date": time.strftime("%Y-%m-%d")}
        out = os.path.join(REPO, "bench", "results", f"fleet-{count}.json")

        def save(report, out, way, results):
            # Written after every scenario: a run cut short (the common way takes hours at N = 200) keeps what it
            # measured, marked "complete": false.
            report[way] = dict(results)
            report["speedup"] = {s: round(report["common"][s]["seconds"] / report["ours"][s]["seconds"], 2)
                                 for s in report["ours"] if s in report["common"]}
            with open(out + ".partial", "w", encoding="utf-8") as handle:
                json.dump(report, handle, indent=2)

        with tempfile.TemporaryDirectory(prefix="odoo-saas-bench-") as tmp:
            measure("ours", [f"bo{run_id}-{i:03d}" for i in range(count)], args.forks, lab, tmp,
                    on_result=functools.partial(save, report, out, "ours"))
            if not common_off:
                measure("common", [f"bk{run_id}-{i:03d}" for i in range(count)], args.forks, lab, tmp,
                        args.common_scenarios, on_result=functools.partial(save, report, out, "common"))
        cleanup(lab, f"bo{run_id}")
        cleanup(lab, f"bk{run_id}")
        report["complete"] = True
        os.remove(out + ".partial")
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
        print(json.dumps(report["speedup"]), flush=True)


if __name__ == "__main__":
    main()
