# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An AKS cluster and its node pools: validate, render, plan, then apply through _azure.

The plan is computed as plain data before anything is written:

- `validate()` refuses bad input without any call;
- `predict()` renders what the cluster should look like, in ARM's own JSON, from the current one;
- `plan_pools()` lists the node-pool operations (add, update, delete, replace) and refuses a change
  that Azure cannot make in place, naming the field;
- `ClusterRunner` makes one GET, then only the writes the plan holds, one ARM operation at a time.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import os
import re
import tempfile
import time

from ._azure import arm_errors, begin, check_tags, dig, fetch, merged_tags, put_path, resource_id
from ._common import InputError
from ._kube import AKS_ENTRA_SCOPE

PROVIDER = "Microsoft.ContainerService"
MAINTENANCE_NAME = "aksManagedAutoUpgradeSchedule"
REPLACES_TAG = "odoo-saas.platform-replaces"

CLUSTER_NAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?$")
GROUP_NAME = re.compile(r"^[-\w._()]{0,89}[-\w_()]$")
DNS_PREFIX = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,52}[a-zA-Z0-9])?$")
POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")
TAINT = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?(=[A-Za-z0-9_.-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$")
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
UTC_OFFSET = re.compile(r"^[+-](0\d|1[0-4]):[0-5]\d$")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# option path -> (ARM JSON path, can change after create)
CLUSTER_FIELDS = [
    (("kubernetes_version",), ("properties", "kubernetesVersion"), True),
    (("dns_prefix",), ("properties", "dnsPrefix"), False),
    (("sku_tier",), ("sku", "tier"), True),
    (("enable_rbac",), ("properties", "enableRBAC"), False),
    (("disable_local_accounts",), ("properties", "disableLocalAccounts"), True),
    (("network_profile", "network_plugin"), ("properties", "networkProfile", "networkPlugin"), False),
    (("network_profile", "network_plugin_mode"), ("properties", "networkProfile", "networkPluginMode"), False),
    (("network_profile", "network_policy"), ("properties", "networkProfile", "networkPolicy"), True),
    (("network_profile", "network_dataplane"), ("properties", "networkProfile", "networkDataplane"), False),
    (("network_profile", "pod_cidr"), ("properties", "networkProfile", "podCidr"), False),
    (("network_profile", "service_cidr"), ("properties", "networkProfile", "serviceCidr"), False),
    (("network_profile", "dns_service_ip"), ("properties", "networkProfile", "dnsServiceIP"), False),
    (("network_profile", "outbound_type"), ("properties", "networkProfile", "outboundType"), True),
    (("network_profile", "load_balancer_sku"), ("properties", "networkProfile", "loadBalancerSku"), False),
    (("entra", "admin_group_object_ids"), ("properties", "aadProfile", "adminGroupObjectIDs"), True),
    (("entra", "azure_rbac"), ("properties", "aadProfile", "enableAzureRBAC"), True),
    (("entra", "tenant_id"), ("properties", "aadProfile", "tenantID"), True),
    (("api_server", "authorized_ip_ranges"), ("properties", "apiServerAccessProfile", "authorizedIPRanges"), True),
    (("api_server", "private_cluster"), ("properties", "apiServerAccessProfile", "enablePrivateCluster"), False),
    (("auto_upgrade_channel",), ("properties", "autoUpgradeProfile", "upgradeChannel"), True),
    (("node_os_upgrade_channel",), ("properties", "autoUpgradeProfile", "nodeOSUpgradeChannel"), True),
]

# pool option -> (ARM property, can change in place)
POOL_FIELDS = [
    ("mode", "mode", True),
    ("vm_size", "vmSize", False),
    ("count", "count", True),
    ("enable_auto_scaling", "enableAutoScaling", True),
    ("min_count", "minCount", True),
    ("max_count", "maxCount", True),
    ("zones", "availabilityZones", False),
    ("node_labels", "nodeLabels", True),
    ("node_taints", "nodeTaints", True),
    ("max_pods", "maxPods", False),
    ("os_disk_size_gb", "osDiskSizeGB", False),
    ("os_disk_type", "osDiskType", False),
    ("orchestrator_version", "orchestratorVersion", True),
]
IMMUTABLE_POOL = [option for option, _prop, mutable in POOL_FIELDS if not mutable]


def _version_tuple(version):
    return tuple(int(part) for part in version.split("."))


def version_matches(desired, current):
    """'1.34' is satisfied by '1.34' and by any '1.34.x'."""
    if not current:
        return False
    return current == desired or current.startswith(desired + ".")


# ------------------------------------------------------------------ validation
def validate(params):
    """Refuse what Azure would refuse, before any call. Raises InputError naming the option and the rule."""
    if not CLUSTER_NAME.match(params["name"]):
        raise InputError(f"name={params['name']!r} is not a valid AKS cluster name: use 1-63 letters, digits, "
                         "hyphens and underscores, starting and ending with a letter or digit.")
    if not GROUP_NAME.match(params["resource_group"]):
        raise InputError(f"resource_group={params['resource_group']!r} is not a valid resource group name: use "
                         "1-90 letters, digits, periods, underscores, hyphens and parentheses, not ending in a period.")
    if params["state"] == "absent":
        return
    if params.get("dns_prefix") and not DNS_PREFIX.match(params["dns_prefix"]):
        raise InputError(f"dns_prefix={params['dns_prefix']!r} is not valid: use 1-54 letters, digits and hyphens, "
                         "starting and ending with a letter or digit.")
    if params.get("kubernetes_version") and not VERSION.match(params["kubernetes_version"]):
        raise InputError(f"kubernetes_version={params['kubernetes_version']!r} is not a version: give "
                         "'<major>.<minor>' (for example '1.34') or '<major>.<minor>.<patch>'.")
    check_tags(params.get("tags"))
    _validate_network(params.get("network_profile") or {})
    _validate_api_server(params.get("api_server") or {})
    if params.get("disable_local_accounts") and not params.get("entra") and params.get("_creating"):
        raise InputError("disable_local_accounts=true needs entra: with local accounts off, Entra ID is the only "
                         "way in. Set entra (admin_group_object_ids) as well.")
    if params.get("kubeconfig") and params["kubeconfig"].get("credential") == "admin" and \
            params.get("disable_local_accounts"):
        raise InputError("kubeconfig.credential=admin cannot be fetched when disable_local_accounts=true: AKS "
                         "refuses static credentials then. Use credential=entra_token (or user).")
    _validate_maintenance(params.get("maintenance_window"))
    pools = params.get("node_pools")
    if pools is not None:
        names = [pool["name"] for pool in pools]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise InputError(f"node_pools names {duplicates} more than once: each pool needs its own name.")
        for pool in pools:
            _validate_pool(pool)


def _validate_network(net):
    cidrs = {}
    for option in ("pod_cidr", "service_cidr"):
        if net.get(option):
            try:
                cidrs[option] = ipaddress.ip_network(net[option], strict=True)
            except ValueError as exc:
                raise InputError(f"network_profile.{option}={net[option]!r} is not a CIDR ({exc}); give one such "
                                 "as '10.244.0.0/16'.") from None
    if len(cidrs) == 2 and cidrs["pod_cidr"].overlaps(cidrs["service_cidr"]):
        raise InputError(f"network_profile.pod_cidr={net['pod_cidr']!r} overlaps service_cidr="
                         f"{net['service_cidr']!r}: AKS needs them disjoint.")
    if net.get("dns_service_ip"):
        try:
            address = ipaddress.ip_address(net["dns_service_ip"])
        except ValueError:
            raise InputError(f"network_profile.dns_service_ip={net['dns_service_ip']!r} is not an IP address.") \
                from None
        if "service_cidr" in cidrs and address not in cidrs["service_cidr"]:
            raise InputError(f"network_profile.dns_service_ip={net['dns_service_ip']!r} is outside service_cidr="
                             f"{net['service_cidr']!r}: pick an address inside it (not its first).")


def _validate_api_server(api):
    ranges = api.get("authorized_ip_ranges") or []
    for value in ranges:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise InputError(f"api_server.authorized_ip_ranges holds {value!r}, which is not an IP range: give "
                             "CIDRs such as '203.0.113.0/24'.") from None
    if len(ranges) > 200:
        raise InputError(f"api_server.authorized_ip_ranges has {len(ranges)} ranges; AKS allows at most 200.")
    if ranges and api.get("private_cluster"):
        raise InputError("api_server.authorized_ip_ranges cannot be used with private_cluster=true: a private API "
                         "server has no public endpoint to restrict. Choose one of the two.")


def _validate_maintenance(window):
    if not window:
        return
    if window["day_of_week"] not in DAYS:
        raise InputError(f"maintenance_window.day_of_week={window['day_of_week']!r} is not a day: use one of {DAYS}.")
    if not HHMM.match(window["start_time"]):
        raise InputError(f"maintenance_window.start_time={window['start_time']!r} is not a time: use 'HH:MM', "
                         "24-hour, for example '02:00'.")
    if not 4 <= window["duration_hours"] <= 24:
        raise InputError(f"maintenance_window.duration_hours={window['duration_hours']} is out of range: AKS needs "
                         "4 to 24 hours for an auto-upgrade window.")
    if not UTC_OFFSET.match(window["utc_offset"]):
        raise InputError(f"maintenance_window.utc_offset={window['utc_offset']!r} is not an offset: use '+HH:MM' "
                         "or '-HH:MM'.")
    if not 1 <= window["interval_weeks"] <= 4:
        raise InputError(f"maintenance_window.interval_weeks={window['interval_weeks']} is out of range: use 1-4.")


def _validate_pool(pool):
    name = pool["name"]
    where = f"node_pools[{name}]"
    if not POOL_NAME.match(name):
        raise InputError(f"node_pools name {name!r} breaks AKS's rule for Linux pools: 1-12 lowercase letters and "
                         "digits, starting with a letter (for example 'web' or 'ded01').")
    system = pool["mode"] == "System"
    low = 1 if system else 0
    if pool.get("count") is not None and not low <= pool["count"] <= 1000:
        raise InputError(f"{where}.count={pool['count']} is out of range: a {pool['mode']} pool has {low} to "
                         "1000 nodes.")
    if pool.get("enable_auto_scaling"):
        if pool.get("min_count") is None or pool.get("max_count") is None:
            raise InputError(f"{where}: enable_auto_scaling=true needs min_count and max_count.")
        if not low <= pool["min_count"] <= pool["max_count"] <= 1000:
            raise InputError(f"{where}: min_count={pool['min_count']} and max_count={pool['max_count']} must hold "
                             f"{low} <= min_count <= max_count <= 1000.")
        if pool.get("count") is not None and not pool["min_count"] <= pool["count"] <= pool["max_count"]:
            raise InputError(f"{where}.count={pool['count']} is outside min_count..max_count; leave count unset "
                             "with autoscaling, the autoscaler owns it.")
    elif pool.get("min_count") is not None or pool.get("max_count") is not None:
        raise InputError(f"{where}: min_count and max_count only apply with enable_auto_scaling=true; set it, or "
                         "drop them and give count.")
    for zone in pool.get("zones") or []:
        if zone not in ("1", "2", "3"):
            raise InputError(f"{where}.zones holds {zone!r}; availability zones are '1', '2' and '3'.")
    for taint in pool.get("node_taints") or []:
        if not TAINT.match(taint):
            raise InputError(f"{where}.node_taints holds {taint!r}, which is not a taint: use 'key=value:Effect' with "
                             "Effect NoSchedule, PreferNoSchedule or NoExecute.")
    for key in pool.get("node_labels") or {}:
        if not LABEL_KEY.match(key) or key.startswith("kubernetes.azure.com/"):
            raise InputError(f"{where}.node_labels key {key!r} is not allowed: use a Kubernetes label key outside "
                             "the reserved kubernetes.azure.com/ prefix.")
    if pool.get("max_pods") is not None and not 10 <= pool["max_pods"] <= 250:
        raise InputError(f"{where}.max_pods={pool['max_pods']} is out of range: AKS allows 10 to 250 pods per node.")
    if pool.get("os_disk_size_gb") is not None and not 30 <= pool["os_disk_size_gb"] <= 2048:
        raise InputError(f"{where}.os_disk_size_gb={pool['os_disk_size_gb']} is out of range: 30 to 2048 GB.")


# ------------------------------------------------------------------- rendering
def pool_properties(pool, current=None):
    """The agentPools API body's properties for `pool`, on top of the current ones."""
    props = {k: v for k, v in copy.deepcopy(current or {}).items() if k != "name"}
    props.setdefault("type", "VirtualMachineScaleSets")
    props.setdefault("osType", "Linux")
    for option, prop, _mutable in POOL_FIELDS:
        value = pool.get(option)
        if value is not None and option != "count":
            props[prop] = sorted(value) if option == "zones" else value
    if props.get("enableAutoScaling"):
        # The autoscaler owns the node count: keep the live one, only brought inside the new bounds.
        count = props.get("count") if current else pool.get("count")
        count = props["minCount"] if count is None else count
        props["count"] = min(max(count, props["minCount"]), props["maxCount"])
    else:
        props.pop("minCount", None)
        props.pop("maxCount", None)
        if pool.get("count") is not None:
            props["count"] = pool["count"]
        props.setdefault("count", 1)
    return props


def pool_view(props):
    """The fields of a pool that the module manages, in option names (for diffs and results)."""
    view = {}
    for option, prop, _mutable in POOL_FIELDS:
        value = props.get(prop)
        if option == "zones" and value is not None:
            value = sorted(value)
        if value is not None:
            view[option] = value
    view["provisioning_state"] = props.get("provisioningState")
    return view


def predict(params, current):
    """The cluster body as it should be, from the current one (None when it does not exist yet)."""
    body = copy.deepcopy(current) if current else {
        "location": params.get("location"), "identity": {"type": "SystemAssigned"},
        "sku": {"name": "Base", "tier": "Free"},
        "properties": {"dnsPrefix": params.get("dns_prefix") or params["name"], "enableRBAC": True,
                       "agentPoolProfiles": []},
    }
    for option, path, _mutable in CLUSTER_FIELDS:
        value = params.get(option[0])
        if len(option) == 2:
            value = (value or {}).get(option[1])
        if value is None:
            continue
        if option == ("kubernetes_version",) and version_matches(value, dig(body, path)):
            continue
        put_path(body, path, value)
    if params.get("entra"):
        put_path(body, ("properties", "aadProfile", "managed"), True)
    body["tags"] = merged_tags(body.get("tags"), params.get("tags"), params["purge_tags"])
    return body


def cluster_view(body):
    if body is None:
        return None
    view = {}
    for option, path, _mutable in CLUSTER_FIELDS:
        value = dig(body, path)
        if value is None:
            continue
        if len(option) == 2:
            view.setdefault(option[0], {})[option[1]] = value
        else:
            view[option[0]] = value
    view["tags"] = body.get("tags") or {}
    view["node_pools"] = {p["name"]: pool_view(p) for p in dig(body, ("properties", "agentPoolProfiles")) or []}
    for pool in view["node_pools"].values():
        pool.pop("provisioning_state", None)
    return view


def cluster_changes(params, current, predicted):
    """The cluster-level fields that differ; refuses a change to one that is fixed at create."""
    changes = []
    for option, path, mutable in CLUSTER_FIELDS:
        before, after = dig(current, path), dig(predicted, path)
        if before == after:
            continue
        name = ".".join(option)
        if not mutable and before is not None:
            raise InputError(f"{name} cannot change after the cluster is created (it is {before!r}, you asked for "
                             f"{after!r}). Keep {before!r}, or create a new cluster and move the tenants.")
        if option == ("kubernetes_version",) and before and _version_tuple(after) < _version_tuple(before)[:len(
                _version_tuple(after))]:
            raise InputError(f"kubernetes_version={after!r} is older than the cluster's {before!r}: AKS cannot "
                             "downgrade. Keep the version, or raise it.")
        changes.append(f"set {name}")
    if (current.get("tags") or {}) != predicted.get("tags"):
        changes.append("set tags")
    return changes


# --------------------------------------------------------------------- pools
def plan_pools(params, current_pools):
    """Ordered pool operations: (verb, name, properties, note). Refuses what cannot be done, naming why."""
    desired = params.get("node_pools")
    if desired is None:
        return []
    current = {p["name"]: p for p in current_pools}
    temps = {p["name"]: (p.get("tags") or {}).get(REPLACES_TAG) for p in current_pools
             if (p.get("tags") or {}).get(REPLACES_TAG)}
    ops = []
    for pool in desired:
        live = current.get(pool["name"])
        if live is None:
            ops.append(("add", pool["name"], pool_properties(pool), f"add pool {pool['name']}"))
            continue
        changed = [option for option in IMMUTABLE_POOL if _pool_field_differs(pool, live, option)]
        if changed:
            if not params["allow_pool_replacement"]:
                option = changed[0]
                raise InputError(
                    f"node_pools[{pool['name']}].{option} cannot change in place (it is "
                    f"{_live(live, option)!r}, you asked for {pool[option]!r}); AKS fixes "
                    f"{', '.join(IMMUTABLE_POOL)} when a pool is created. Set allow_pool_replacement=true to "
                    "replace the pool (a new pool first, then the old one is deleted), or keep the value.")
            started = [t for t, target in temps.items() if target == pool["name"]]
            temp = started[0] if started else _temp_name(pool["name"], current, desired)
            props = pool_properties(pool)
            if temp not in current:
                ops.append(("add", temp, dict(props, tags={REPLACES_TAG: pool["name"]}),
                            f"add pool {temp} to stand in for {pool['name']}"))
            ops.append(("delete", pool["name"], None, f"delete pool {pool['name']} (replaced: {', '.join(changed)})"))
            ops.append(("add", pool["name"], props, f"add pool {pool['name']} with its new {', '.join(changed)}"))
            ops.append(("delete", temp, None, f"delete stand-in pool {temp}"))
            temps.pop(temp, None)
            continue
        props = pool_properties(pool, live)
        after, before = pool_view(props), pool_view(live)
        fields = [option for option in after if after[option] != before.get(option)]
        if fields:
            ops.append(("update", pool["name"], props, f"update pool {pool['name']}: {', '.join(fields)}"))
    for temp, target in temps.items():  # a replacement that an earlier run left half done
        ops.append(("delete", temp, None, f"delete stand-in pool {temp} left for {target}"))
    wanted = {p["name"] for p in desired}
    if params["purge_node_pools"]:
        for name in current:
            if name not in wanted and name not in temps:
                ops.append(("delete", name, None, f"delete pool {name} (not in node_pools)"))
    _check_system_pool_remains(current, ops)
    return ops


def _live(live, option):
    prop = dict((o, p) for o, p, _m in POOL_FIELDS)[option]
    value = live.get(prop)
    return sorted(value) if option == "zones" and value else value


def _pool_field_differs(pool, live, option):
    if pool.get(option) is None:
        return False
    wanted = sorted(pool[option]) if option == "zones" else pool[option]
    return wanted != _live(live, option)


def _temp_name(name, current, desired):
    taken = set(current) | {p["name"] for p in desired}
    for suffix in ("rp", "rq", "rr", "rs"):
        candidate = name[:10] + suffix
        if candidate not in taken:
            return candidate
    raise InputError(f"no free name for a stand-in pool to replace node_pools[{name}]; remove pools named "
                     f"{name[:10]}rp..rs first.")


def _check_system_pool_remains(current, ops):
    modes = {name: pool.get("mode") for name, pool in current.items()}
    for verb, name, props, _note in ops:
        if verb == "delete":
            modes.pop(name, None)
        else:
            modes[name] = props.get("mode")
        if current and "System" not in modes.values():
            raise InputError(f"this change would leave the cluster without a System pool (after: {_note}); AKS "
                             "needs one for its system pods. Keep a pool with mode=System.")


# -------------------------------------------------------------------- runner
class ClusterRunner:
    """One GET, then the plan's writes, each waited for; counts what it did."""

    def __init__(self, session, params, check_mode):
        self.session = session
        self.params = params
        self.check_mode = check_mode
        self.client = session.containerservice()
        self.group, self.name = params["resource_group"], params["name"]
        self.rid = resource_id(session.subscription_id, self.group, PROVIDER, "managedClusters", self.name)
        self.actions = []
        self.pending = []

    def get(self):
        return fetch(lambda: self.client.managed_clusters.get(self.group, self.name), self.rid)

    def run(self):
        current = self.get()
        if self.params["state"] == "absent":
            return self.absent(current)
        return self.present(current)

    def absent(self, current):
        if current is None:
            return {"changed": False, "diff": {"before": None, "after": None}, "facts": None}
        self.actions.append("delete cluster")
        if not self.check_mode:
            begin(lambda: self.client.managed_clusters.begin_delete(self.group, self.name), "DELETE", self.rid) \
                .finish(self.params["wait"], self.params["wait_timeout"])
        return {"changed": True, "diff": {"before": cluster_view(current), "after": None}, "facts": None}

    def present(self, current):
        params = dict(self.params, _creating=current is None)
        validate(params)
        if current is None:
            self._check_create(params)
        predicted = predict(params, current)
        live_pools = dig(current, ("properties", "agentPoolProfiles")) or []
        if current is None:
            predicted["properties"]["agentPoolProfiles"] = [
                dict(pool_properties(pool), name=pool["name"]) for pool in params["node_pools"]]
            changes, ops = ["create cluster"], []
        else:
            changes = cluster_changes(params, current, predicted)
            ops = plan_pools(params, live_pools)
            if dig(predicted, ("properties", "disableLocalAccounts")) and \
                    not dig(predicted, ("properties", "aadProfile", "managed")):
                raise InputError("disable_local_accounts=true needs entra on this cluster: with local accounts off, "
                                 "Entra ID is the only way in. Set entra as well.")
        maintenance_change = self._maintenance_change(current)
        after = _after_view(predicted, ops)
        self.actions = changes + [op[3] for op in ops] + ([maintenance_change[0]] if maintenance_change else [])
        result = {"diff": {"before": cluster_view(current), "after": after}}
        if not self.check_mode and self.actions:
            current = self._apply(current, predicted, changes, ops, maintenance_change)
        kube = self._kubeconfig(current) if self.params.get("kubeconfig") and current else None
        result["changed"] = bool(self.actions) or bool(kube and kube["changed"])
        result["facts"] = facts(current, self.params)
        if kube:
            result["facts"]["kubeconfig"] = kube["path"]
        return result

    def _check_create(self, params):
        if not params.get("location"):
            raise InputError(f"location is required to create the cluster {self.name}: give the Azure region, for "
                             "example 'westeurope'.")
        pools = params.get("node_pools") or []
        if not any(pool["mode"] == "System" for pool in pools):
            raise InputError(f"node_pools must hold a pool with mode=System to create the cluster {self.name}: AKS "
                             "runs its system pods there.")

    def _apply(self, current, predicted, changes, ops, maintenance_change):
        wait, timeout = self.params["wait"], self.params["wait_timeout"]
        mc = self.client.managed_clusters
        if changes:
            body = copy.deepcopy(predicted)
            if current is not None:  # pools change through their own API, one at a time
                body["properties"]["agentPoolProfiles"] = current["properties"]["agentPoolProfiles"]
            verb = "PUT"
            operation = begin(lambda: mc.begin_create_or_update(self.group, self.name, body), verb, self.rid)
            if not wait:
                self.pending = [op[3] for op in ops]
                return self.get() if current is None else current
            operation.finish(True, timeout)
        for index, (verb, name, props, _note) in enumerate(ops):
            prid = f"{self.rid}/agentPools/{name}"
            if verb == "delete":
                operation = begin(lambda n=name: self.client.agent_pools.begin_delete(self.group, self.name, n),
                                  "DELETE", prid)
            else:
                operation = begin(lambda n=name, p=props: self.client.agent_pools.begin_create_or_update(
                    self.group, self.name, n, {"properties": p}), "PUT", prid)
            if not wait:
                self.pending = [op[3] for op in ops[index + 1:]]
                break
            operation.finish(True, timeout)
        if maintenance_change:
            body = maintenance_change[1]
            with arm_errors("PUT", f"{self.rid}/maintenanceConfigurations/{MAINTENANCE_NAME}"):
                self.client.maintenance_configurations.create_or_update(self.group, self.name, MAINTENANCE_NAME,
                                                                        body)
        return self.get()

    def _maintenance_change(self, current):
        window = self.params.get("maintenance_window")
        if not window:
            return None
        body = {"properties": {"maintenanceWindow": {
            "schedule": {"weekly": {"dayOfWeek": window["day_of_week"], "intervalWeeks": window["interval_weeks"]}},
            "durationHours": window["duration_hours"], "startTime": window["start_time"],
            "utcOffset": window["utc_offset"]}}}
        live = None
        if current is not None:
            rid = f"{self.rid}/maintenanceConfigurations/{MAINTENANCE_NAME}"
            live = fetch(lambda: self.client.maintenance_configurations.get(self.group, self.name, MAINTENANCE_NAME),
                         rid)
        wanted = body["properties"]["maintenanceWindow"]
        have = dig(live, ("properties", "maintenanceWindow")) or {}
        if all(have.get(k) == v for k, v in wanted.items()):
            return None
        return ("set maintenance_window", body)

    # --------------------------------------------------------------- kubeconfig
    def _kubeconfig(self, current):
        spec = self.params["kubeconfig"]
        kind, path = spec["credential"], spec["path"]
        mc = self.client.managed_clusters
        fetch = mc.list_cluster_admin_credentials if kind == "admin" else mc.list_cluster_user_credentials
        with arm_errors("POST", f"{self.rid}/listCluster{'Admin' if kind == 'admin' else 'User'}Credential"):
            results = fetch(self.group, self.name)
        content = _decode(results.kubeconfigs[0].value)
        if kind == "entra_token":
            content = self._with_token(content, path)
        existing = None
        if os.path.exists(path):
            with open(path, "rb") as handle:
                existing = handle.read()
        changed = existing != content or (os.stat(path).st_mode & 0o777) != 0o600
        if changed and not self.check_mode:
            _write_private(path, content)
        return {"path": path, "changed": changed}

    def _with_token(self, content, path):
        """The user kubeconfig with its kubelogin exec replaced by a token from our own identity."""
        import yaml  # pylint: disable=import-outside-toplevel

        config = yaml.safe_load(content)
        kept = _kept_token(path, config)
        token = kept or self.session.token(AKS_ENTRA_SCOPE).token
        for user in config.get("users") or []:
            user["user"] = {"token": token}
        return yaml.safe_dump(config, default_flow_style=False).encode()


def _decode(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return base64.b64decode(value)


def _kept_token(path, fresh):
    """The token already in `path`, when the rest of the file matches and it is valid for 15 more minutes."""
    import json  # pylint: disable=import-outside-toplevel
    import yaml  # pylint: disable=import-outside-toplevel

    try:
        with open(path, encoding="utf-8") as handle:
            old = yaml.safe_load(handle)
        token = old["users"][0]["user"]["token"]
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    stripped = copy.deepcopy(old)
    for user in stripped.get("users") or []:
        user["user"] = {}
    candidate = copy.deepcopy(fresh)
    for user in candidate.get("users") or []:
        user["user"] = {}
    if stripped != candidate or claims.get("exp", 0) < time.time() + 900:
        return None
    return token


def _write_private(path, content):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".kubeconfig-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _after_view(predicted, ops):
    view = cluster_view(predicted)
    pools = view["node_pools"]
    for verb, name, props, _note in ops:
        if verb == "delete":
            pools.pop(name, None)
        else:
            pools[name] = {k: v for k, v in pool_view(props).items() if k != "provisioning_state"}
    return view


def facts(body, params):
    """What the module returns about the cluster: its state and pools, never a credential."""
    if body is None:
        return None
    props = body.get("properties") or {}
    return {
        "id": body.get("id"), "name": body.get("name"), "location": body.get("location"),
        "resource_group": params["resource_group"],
        "kubernetes_version": props.get("kubernetesVersion"),
        "current_kubernetes_version": props.get("currentKubernetesVersion"),
        "provisioning_state": props.get("provisioningState"),
        "power_state": (props.get("powerState") or {}).get("code"),
        "fqdn": props.get("fqdn") or props.get("privateFQDN"),
        "node_resource_group": props.get("nodeResourceGroup"),
        "sku_tier": (body.get("sku") or {}).get("tier"),
        "network_profile": props.get("networkProfile"),
        "entra": props.get("aadProfile") is not None,
        "disable_local_accounts": bool(props.get("disableLocalAccounts")),
        "tags": body.get("tags") or {},
        "node_pools": [dict(pool_view(p), name=p["name"]) for p in props.get("agentPoolProfiles") or []],
    }
