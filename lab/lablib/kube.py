"""What the lab puts into its Kubernetes cluster at start: fake AKS nodes, Traefik's CRDs and RBAC.

Nodes are labelled the way AKS labels its node pools, so that placement rules written for AKS
(`kubernetes.azure.com/agentpool`, zones, taints) behave the same on the lab.
"""

import json
import subprocess

from . import versions
from .procs import LabError

REGION = "westeurope"
KWOK_ANNOTATION = {"kwok.x-k8s.io/node": "fake"}

# pool -> (mode, VM size, node count, zones, allocatable cpu, allocatable memory, taints)
# Allocatable figures are those AKS reports for these sizes once its reservations are taken off.
DEFAULT_POOLS = {
    "system": ("System", "Standard_D4ds_v5", 3, ("1", "2", "3"), "3860m", "12880Mi",
               [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}]),
    "web": ("User", "Standard_D8ds_v5", 3, ("1", "2", "3"), "7820m", "27930Mi", []),
    "worker": ("User", "Standard_D4ds_v5", 2, ("1", "2"), "3860m", "12880Mi", []),
}


def node_name(pool, index, digits="31415926"):
    """AKS names a VMSS node `aks-<pool>-<8 digits>-vmss<6 base-36 digits>`."""
    return f"aks-{pool}-{digits}-vmss{_base36(index):0>6}"


def _base36(number):
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = alphabet[digit] + text
        if number == 0:
            return text


def node_manifest(pool, index, mode, vm_size, zones, cpu, memory, taints, extra_labels=None,  # noqa: PLR0913
                  name=None, cluster="odoo-saas-lab", region=REGION, max_pods=110):
    """A kwok Node as AKS would register it for the `index`th instance of a pool's scale set.

    The lab's own pools take the defaults; the ARM emulator passes the name, cluster label (the node
    resource group) and region of the managed cluster it serves.
    """
    name = name or node_name(pool, index)
    zone = f"{region}-{zones[index % len(zones)]}" if zones else "0"
    labels = {
        "kubernetes.azure.com/agentpool": pool,
        "agentpool": pool,
        "kubernetes.azure.com/mode": mode.lower(),
        "kubernetes.azure.com/role": "agent",
        "kubernetes.azure.com/cluster": cluster,
        "node.kubernetes.io/instance-type": vm_size,
        "topology.kubernetes.io/region": region,
        "topology.kubernetes.io/zone": zone,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "type": "kwok",
    }
    labels.update(extra_labels or {})
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": dict(KWOK_ANNOTATION)},
        "spec": {"taints": taints} if taints else {},
        "status": {
            "allocatable": {"cpu": cpu, "memory": memory, "pods": str(max_pods), "ephemeral-storage": "118Gi"},
            "capacity": {"cpu": cpu, "memory": memory, "pods": str(max_pods), "ephemeral-storage": "128Gi"},
            "nodeInfo": {
                "architecture": "amd64",
                "kubeletVersion": versions.KUBERNETES,
                "operatingSystem": "linux",
                "osImage": "Ubuntu 22.04.5 LTS",
                "kernelVersion": "5.15.0-1079-azure",
                "containerRuntimeVersion": "containerd://1.7.27",
            },
        },
    }


def default_nodes():
    nodes = []
    for pool, (mode, vm_size, count, zones, cpu, memory, taints) in DEFAULT_POOLS.items():
        for index in range(count):
            nodes.append(node_manifest(pool, index, mode, vm_size, zones, cpu, memory, taints))
    return nodes


# Job pods running an image whose tag is one of these fail, so that tests can exercise a failed
# upgrade (`odoo_tenant` with image_tag "<version>-failing-upgrade").
FAILING_IMAGES = [f"odoo:{v}-failing-upgrade" for v in ("15.0", "16.0", "17.0", "18.0", "19.0")]


def kwok_stages(default_pod_stages):
    """kwok's pod stages: its defaults, with Job pods of FAILING_IMAGES failing instead of completing."""
    import yaml  # pylint: disable=import-outside-toplevel

    stages = [yaml.safe_load(text) for text in default_pod_stages]
    image = {"key": ".spec.containers.[0].image", "operator": "NotIn", "values": FAILING_IMAGES}
    for stage in stages:
        if stage["metadata"]["name"] == "pod-complete":
            stage["spec"]["selector"]["matchExpressions"].append(image)
            failing = yaml.safe_load(yaml.safe_dump(stage))
    failing["metadata"]["name"] = "odoo-saas-lab-job-pod-fail"
    failing["spec"]["selector"]["matchExpressions"][-1] = dict(image, operator="In")
    template = failing["spec"]["next"]["statusTemplate"]
    failing["spec"]["next"]["statusTemplate"] = template.replace("exitCode: 0", "exitCode: 1").replace(
        "reason: Completed", "reason: Error").replace("phase: Succeeded", "phase: Failed")
    stages.append(failing)
    return "\n---\n".join(yaml.safe_dump(s) for s in stages)


def traefik_rbac():
    """Read access for Traefik's kubernetescrd provider, bound to the lab's `traefik` token user."""
    rules = [
        {"apiGroups": [""], "resources": ["services", "secrets", "nodes", "configmaps"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["extensions", "networking.k8s.io"], "resources": ["ingresses", "ingressclasses"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["extensions", "networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["update"]},
        {"apiGroups": ["traefik.io"],
         "resources": ["middlewares", "middlewaretcps", "ingressroutes", "traefikservices", "ingressroutetcps",
                       "ingressrouteudps", "tlsoptions", "tlsstores", "serverstransports", "serverstransporttcps"],
         "verbs": ["get", "list", "watch"]},
    ]
    return [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": "traefik", "labels": {"app.kubernetes.io/part-of": "odoo-saas-lab"}}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "odoo-saas-lab:traefik"}, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "odoo-saas-lab:traefik"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "odoo-saas-lab:traefik"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "traefik"}]},
    ]


class Kubectl:
    def __init__(self, kubectl, kubeconfig, log_path):
        self.kubectl = kubectl
        self.kubeconfig = kubeconfig
        self.log_path = log_path

    def run(self, args, stdin=None, what="kubectl"):
        argv = [self.kubectl, "--kubeconfig", self.kubeconfig] + list(args)
        result = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"$ {' '.join(argv)}\n{result.stdout}{result.stderr}")
        if result.returncode != 0:
            raise LabError(f"{what}: {result.stderr.strip() or result.stdout.strip()}. Log: {self.log_path}")
        return result.stdout

    def apply(self, objects, what):
        doc = "\n".join(json.dumps(o) for o in objects)
        return self.run(["apply", "--server-side", "--force-conflicts", "--field-manager=odoo-saas-lab", "-f", "-"],
                        stdin=doc, what=what)

    def apply_file(self, path, what):
        return self.run(["apply", "--server-side", "--force-conflicts", "--field-manager=odoo-saas-lab", "-f", path],
                        what=what)
