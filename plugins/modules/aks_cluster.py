#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_cluster
short_description: An AKS cluster and its node pools, reconciled in place
version_added: 0.1.0
description:
  - Creates, updates or deletes an Azure Kubernetes Service cluster through azure-mgmt-containerservice.
  - Node pools are reconciled in place through the agentPools API, one operation at a time. Pools are added, scaled,
    and have their labels and taints updated. With O(purge_node_pools=true), pools that are not listed are deleted.
  - When autoscaling is on, the node count belongs to the autoscaler. It is only brought inside new min/max bounds,
    never reset.
  - A change to a field that AKS fixes when a pool is created (VM size, zones, max pods, OS disk) is refused, naming the
    field. With O(allow_pool_replacement=true) the pool is replaced instead. A stand-in pool with the new settings is
    added first, then the old pool is deleted and recreated under its name, then the stand-in is deleted. A replacement
    that stops halfway is picked up by the next run.
  - Options that are not set are left as they are on the cluster. O(tags) and each pool's labels and taints are replaced.
  - A run with nothing to change makes one GET, plus a GET of the maintenance configuration when
    O(maintenance_window) is set, plus the credential call when O(kubeconfig) is set.
  - The kubeconfig is written to O(kubeconfig.path) with mode 0600, and never returned or logged.
author: odoo_saas.platform maintainers (@odoo-saas)
extends_documentation_fragment:
  - odoo_saas.platform.azure
options:
  resource_group:
    description: The resource group of the cluster. It must exist.
    type: str
    required: true
  name:
    description: The cluster's name.
    type: str
    required: true
  location:
    description: The Azure region. Required to create the cluster.
    type: str
  state:
    description: V(present) creates or updates the cluster; V(absent) deletes it, with its pools and nodes.
    type: str
    default: present
    choices: [present, absent]
  kubernetes_version:
    description:
      - V(1.34) follows the newest patch AKS offers; V(1.34.4) pins it. A version older than the cluster's is refused.
    type: str
  dns_prefix:
    description: The DNS prefix of the API server. Defaults to O(name) at create; fixed afterwards.
    type: str
  sku_tier:
    description: The control plane tier. V(Standard) gives the uptime SLA that production tenants need.
    type: str
    choices: [Free, Standard, Premium]
  enable_rbac:
    description: Kubernetes RBAC. Fixed after create; AKS creates clusters with it on.
    type: bool
  disable_local_accounts:
    description: Turn off the static admin credentials. Needs O(entra).
    type: bool
  network_profile:
    description: The cluster's network. Everything but the policy and the outbound type is fixed after create.
    type: dict
    suboptions:
      network_plugin:
        description: The CNI plugin.
        type: str
        choices: [azure, kubenet, none]
      network_plugin_mode:
        description: V(overlay) gives pods addresses from O(network_profile.pod_cidr) instead of the VNet.
        type: str
        choices: [overlay]
      network_policy:
        description: The engine that enforces the tenants' NetworkPolicies.
        type: str
        choices: [azure, calico, cilium, none]
      network_dataplane:
        description: The data plane.
        type: str
        choices: [azure, cilium]
      pod_cidr:
        description: The pods' CIDR, with overlay or kubenet.
        type: str
      service_cidr:
        description: The services' CIDR. It must not overlap O(network_profile.pod_cidr).
        type: str
      dns_service_ip:
        description: The cluster DNS address, inside O(network_profile.service_cidr).
        type: str
      outbound_type:
        description: How nodes reach the internet.
        type: str
        choices: [loadBalancer, userDefinedRouting, managedNATGateway, userAssignedNATGateway, none]
      load_balancer_sku:
        description: The load balancer SKU.
        type: str
        choices: [standard, basic]
  entra:
    description: Entra ID integration (AKS-managed). Setting it turns Entra on.
    type: dict
    suboptions:
      admin_group_object_ids:
        description: Entra groups that are cluster admins.
        type: list
        elements: str
      azure_rbac:
        description: Authorise Kubernetes requests with Azure RBAC.
        type: bool
      tenant_id:
        description: The Entra tenant of the users. Defaults to the subscription's.
        type: str
  api_server:
    description: Who can reach the API server.
    type: dict
    suboptions:
      authorized_ip_ranges:
        description: CIDRs allowed to reach a public API server (at most 200). An empty list allows all.
        type: list
        elements: str
      private_cluster:
        description: A private API server, reachable from the VNet only. Fixed after create.
        type: bool
  auto_upgrade_channel:
    description: The cluster's auto-upgrade channel.
    type: str
    choices: [none, patch, stable, rapid, node-image]
  node_os_upgrade_channel:
    description: The node OS upgrade channel.
    type: str
    choices: [None, Unmanaged, NodeImage, SecurityPatch]
  maintenance_window:
    description: The weekly window for auto-upgrades (the C(aksManagedAutoUpgradeSchedule) maintenance configuration).
    type: dict
    suboptions:
      day_of_week:
        description: The day the window opens.
        type: str
        required: true
      start_time:
        description: When it opens, C(HH:MM).
        type: str
        required: true
      duration_hours:
        description: How long it stays open, 4 to 24 hours.
        type: int
        default: 4
      utc_offset:
        description: The offset of O(maintenance_window.start_time) from UTC, C(+HH:MM) or C(-HH:MM).
        type: str
        default: "+00:00"
      interval_weeks:
        description: Every how many weeks, 1 to 4.
        type: int
        default: 1
  tags:
    description: Tags of the cluster.
    type: dict
  purge_tags:
    description: Remove tags not in O(tags). Ignored when O(tags) is not set.
    type: bool
    default: true
  node_pools:
    description:
      - The node pools. Required to create the cluster, with at least one O(node_pools[].mode=System) pool.
      - Pools not listed are kept unless O(purge_node_pools=true).
    type: list
    elements: dict
    suboptions:
      name:
        description: The pool's name, 1 to 12 lowercase letters and digits, starting with a letter.
        type: str
        required: true
      mode:
        description: V(System) pools run AKS's system pods; a cluster always keeps one.
        type: str
        default: User
        choices: [System, User]
      vm_size:
        description: The VM size. Fixed once the pool exists.
        type: str
        required: true
      count:
        description:
          - The node count, 0 to 1000 (at least 1 for a System pool). Defaults to 1 for a new pool.
          - Ignored while autoscaling is on.
        type: int
      enable_auto_scaling:
        description: Let the cluster autoscaler own the node count, between O(node_pools[].min_count) and
          O(node_pools[].max_count).
        type: bool
      min_count:
        description: The autoscaler's lower bound.
        type: int
      max_count:
        description: The autoscaler's upper bound.
        type: int
      zones:
        description: Availability zones (V(1), V(2), V(3)). Fixed once the pool exists.
        type: list
        elements: str
      node_labels:
        description: Kubernetes labels of the pool's nodes, replaced as a whole.
        type: dict
      node_taints:
        description: Taints of the pool's nodes, C(key=value:Effect), replaced as a whole. A dedicated tenant's pool
          is tainted so that only that tenant's pods tolerate it.
        type: list
        elements: str
      max_pods:
        description: Pods per node, 10 to 250. Fixed once the pool exists.
        type: int
      os_disk_size_gb:
        description: OS disk size, 30 to 2048 GB. Fixed once the pool exists.
        type: int
      os_disk_type:
        description: OS disk type. Fixed once the pool exists.
        type: str
        choices: [Managed, Ephemeral]
      orchestrator_version:
        description: The pool's Kubernetes version, when it should differ from the control plane's.
        type: str
  purge_node_pools:
    description: Delete pools that O(node_pools) does not list. A cluster always keeps one System pool.
    type: bool
    default: false
  allow_pool_replacement:
    description: Replace a pool whose fixed fields (VM size, zones, max pods, OS disk) change, instead of failing.
    type: bool
    default: false
  kubeconfig:
    description: Write a kubeconfig for the cluster. Credentials are fetched only when this is set.
    type: dict
    suboptions:
      path:
        description: Where to write it, with mode 0600. It is rewritten only when its content changes.
        type: path
        required: true
      credential:
        description:
          - V(user) and V(admin) are AKS's user and admin credentials. AKS refuses V(admin) when local accounts are off.
          - V(entra_token) is the user kubeconfig with an Entra token, fetched with this module's own identity, in
            place of the kubelogin plugin. Use it for Entra-only clusters where kubelogin is not installed. The token
            is kept while it is valid for 15 more minutes.
        type: str
        default: user
        choices: [user, admin, entra_token]
notes:
  - Supports check mode and diff mode. The diff covers the cluster's managed fields and its node pools.
"""

EXAMPLES = r"""
- name: The shared cluster, with system, web and worker pools
  odoo_saas.platform.aks_cluster:
    resource_group: rg-odoo-shared
    name: aks-odoo-shared
    location: westeurope
    kubernetes_version: "1.34"
    sku_tier: Standard
    network_profile: {network_plugin: azure, network_plugin_mode: overlay, network_policy: cilium,
                      network_dataplane: cilium, pod_cidr: 10.244.0.0/16, service_cidr: 10.0.0.0/16,
                      dns_service_ip: 10.0.0.10}
    entra: {admin_group_object_ids: ["00000000-0000-0000-0000-000000000001"], azure_rbac: true}
    disable_local_accounts: true
    auto_upgrade_channel: patch
    maintenance_window: {day_of_week: Sunday, start_time: "02:00", duration_hours: 4}
    node_pools:
      - {name: system, mode: System, vm_size: Standard_D4ds_v5, count: 3, zones: ["1", "2", "3"],
         node_taints: ["CriticalAddonsOnly=true:NoSchedule"]}
      - {name: web, vm_size: Standard_D8ds_v5, enable_auto_scaling: true, min_count: 3, max_count: 12,
         zones: ["1", "2", "3"]}
      - {name: worker, vm_size: Standard_D4ds_v5, count: 2}
    purge_node_pools: true
    kubeconfig: {path: "{{ playbook_dir }}/.kube/shared", credential: entra_token}
    tags: {environment: production, cost-centre: odoo-shared}
"""

RETURN = r"""
aks_cluster:
  description: The cluster's facts, as ARM reports them after the run (before it, in check mode). Null when absent.
  returned: always
  type: dict
  sample:
    name: aks-odoo-shared
    provisioning_state: Succeeded
    current_kubernetes_version: 1.34.4
    fqdn: aks-odoo-shared-5f3a.hcp.westeurope.azmk8s.io
    node_pools: [{name: system, mode: System, count: 3, vm_size: Standard_D4ds_v5, zones: ["1", "2", "3"]}]
    kubeconfig: /home/awx/.kube/shared
actions:
  description: The changes made, or that a real run would make in check mode, in order.
  returned: always
  type: list
  elements: str
  sample: [add pool ded01, "update pool web: min_count, max_count"]
pending:
  description: With O(wait=false), the operations not started yet; run again to carry them out.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.odoo_saas.platform.plugins.module_utils._azure import (
    azure_argument_spec, azure_required_if, execute_arm)
from ansible_collections.odoo_saas.platform.plugins.module_utils._azure_aks import ClusterRunner, validate
from ansible_collections.odoo_saas.platform.plugins.module_utils._common import run_module


def _str(choices=None):
    return {"type": "str", "choices": choices} if choices else {"type": "str"}


def argument_spec():
    spec = azure_argument_spec()
    pool = {
        "name": {"type": "str", "required": True},
        "mode": {"type": "str", "default": "User", "choices": ["System", "User"]},
        "vm_size": {"type": "str", "required": True},
        "count": {"type": "int"},
        "enable_auto_scaling": {"type": "bool"},
        "min_count": {"type": "int"},
        "max_count": {"type": "int"},
        "zones": {"type": "list", "elements": "str"},
        "node_labels": {"type": "dict"},
        "node_taints": {"type": "list", "elements": "str"},
        "max_pods": {"type": "int"},
        "os_disk_size_gb": {"type": "int"},
        "os_disk_type": _str(["Managed", "Ephemeral"]),
        "orchestrator_version": _str(),
    }
    spec.update(
        resource_group={"type": "str", "required": True},
        name={"type": "str", "required": True},
        location=_str(),
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
        kubernetes_version=_str(),
        dns_prefix=_str(),
        sku_tier=_str(["Free", "Standard", "Premium"]),
        enable_rbac={"type": "bool"},
        disable_local_accounts={"type": "bool"},
        network_profile={"type": "dict", "options": {
            "network_plugin": _str(["azure", "kubenet", "none"]),
            "network_plugin_mode": _str(["overlay"]),
            "network_policy": _str(["azure", "calico", "cilium", "none"]),
            "network_dataplane": _str(["azure", "cilium"]),
            "pod_cidr": _str(), "service_cidr": _str(), "dns_service_ip": _str(),
            "outbound_type": _str(["loadBalancer", "userDefinedRouting", "managedNATGateway",
                                   "userAssignedNATGateway", "none"]),
            "load_balancer_sku": _str(["standard", "basic"]),
        }},
        entra={"type": "dict", "options": {
            "admin_group_object_ids": {"type": "list", "elements": "str"},
            "azure_rbac": {"type": "bool"}, "tenant_id": _str()}},
        api_server={"type": "dict", "options": {
            "authorized_ip_ranges": {"type": "list", "elements": "str"}, "private_cluster": {"type": "bool"}}},
        auto_upgrade_channel=_str(["none", "patch", "stable", "rapid", "node-image"]),
        node_os_upgrade_channel=_str(["None", "Unmanaged", "NodeImage", "SecurityPatch"]),
        maintenance_window={"type": "dict", "options": {
            "day_of_week": {"type": "str", "required": True},
            "start_time": {"type": "str", "required": True},
            "duration_hours": {"type": "int", "default": 4},
            "utc_offset": {"type": "str", "default": "+00:00"},
            "interval_weeks": {"type": "int", "default": 1}}},
        tags={"type": "dict"},
        purge_tags={"type": "bool", "default": True},
        node_pools={"type": "list", "elements": "dict", "options": pool},
        purge_node_pools={"type": "bool", "default": False},
        allow_pool_replacement={"type": "bool", "default": False},
        kubeconfig={"type": "dict", "options": {
            "path": {"type": "path", "required": True},
            "credential": {"type": "str", "default": "user", "choices": ["user", "admin", "entra_token"]}}},
    )
    return spec


SPEC_OPTIONS = {"required_if": azure_required_if()}


def execute(params, check_mode, diff, no_log):  # pylint: disable=unused-argument
    return execute_arm(params, check_mode, diff, ClusterRunner, validate, "aks_cluster")


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **SPEC_OPTIONS)
    run_module(module, lambda: execute(module.params, module.check_mode, module._diff,  # pylint: disable=protected-access
                                       module.no_log))


if __name__ == "__main__":
    main()
