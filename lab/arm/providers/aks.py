"""Microsoft.ContainerService: managed clusters, their agent pools, and their credentials.

Request bodies are checked with the SDK's models, then by the rules AKS documents (pool names, counts,
autoscaling bounds, the System pool that must remain, immutable properties, supported Kubernetes versions,
local accounts and Entra ID, authorized IP ranges). Agent pools are stored as child resources and composed
into the cluster's `agentPoolProfiles`. When an operation completes, the lab's kwok nodes follow the pools
(see `arm/labsync.py`). A cluster's credentials are the lab kubeconfig, renamed for the cluster.
"""

import base64
import copy
import hashlib
import ipaddress
import re
import urllib.parse
import uuid

from arm import labsync
from arm.errors import ArmError, bad_request
from arm.resources import Kind, check_body, get_path, new_etag

PROVIDER = "Microsoft.ContainerService"
KUBERNETES_VERSIONS = ("1.32.6", "1.32.7", "1.32.9", "1.33.2", "1.33.3", "1.33.5", "1.34.1", "1.34.2", "1.34.4")
DEFAULT_VERSION = "1.34.4"
POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9](?:[-_A-Za-z0-9]{0,61}[A-Za-z0-9])?$")
DNS_PREFIX = re.compile(r"^[A-Za-z0-9](?:[-A-Za-z0-9]{0,52}[A-Za-z0-9])?$")
IMMUTABLE_POOL = ("vmSize", "availabilityZones", "maxPods", "osDiskSizeGB", "osDiskType", "osType", "vnetSubnetID")
IMMUTABLE_NETWORK = ("networkPlugin", "networkPluginMode", "podCidr", "serviceCidr")
POOL_READ_ONLY = ("provisioningState", "currentOrchestratorVersion", "nodeImageVersion", "powerState", "eTag",
                  "name")
CLUSTER_READ_ONLY = ("provisioningState", "powerState", "currentKubernetesVersion", "fqdn", "azurePortalFQDN",
                     "privateFQDN", "maxAgentPools", "resourceUID", "agentPoolProfiles")
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
AZURE_CLI_CLIENT_ID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"
LOCAL_ACCOUNTS_DISABLED = ("Getting static credential is not allowed because this cluster is set to disable local "
                           "accounts.")


# ------------------------------------------------------------------------------ shared rules
def invalid(field, message):
    return bad_request("InvalidParameter", f"The value of parameter {field} is invalid: {message}", target=field)


def check_tags(body):
    tags = body.get("tags") or {}
    if len(tags) > 50:
        raise bad_request("InvalidTag", f"A resource can have at most 50 tags; the request has {len(tags)}.",
                          target="tags")
    for key, value in tags.items():
        if len(key) > 512 or len(str(value)) > 256 or re.search(r"[<>%&\\?/]", key):
            raise bad_request("InvalidTag", f"The tag name '{key[:60]}' or its value is invalid: names are at most "
                              "512 characters without <>%&\\?/, values at most 256.", target="tags")


def resolve_version(version, field):
    """'1.34' -> '1.34.4' (the newest patch); refuse versions outside KUBERNETES_VERSIONS."""
    if version in KUBERNETES_VERSIONS:
        return version
    patches = [v for v in KUBERNETES_VERSIONS if v.startswith(f"{version}.")]
    if re.match(r"^\d+\.\d+$", version or "") and patches:
        return max(patches, key=_version_key)
    raise bad_request("K8sVersionNotSupported",
                      f"Version {version} ({field}) is not supported in this region. Supported versions: "
                      f"{', '.join(KUBERNETES_VERSIONS)}, or a minor version such as 1.34.", target=field)


def _version_key(version):
    return tuple(int(part) for part in version.split("."))


def check_no_downgrade(old, new, field):
    if old and _version_key(new) < _version_key(old):
        raise bad_request("NotAllowedKubernetesVersionDowngrade",
                          f"Downgrading {field} from {old} to {new} is not allowed; Kubernetes versions only move "
                          "forward.", target=field)


def check_pool(name, props, current, cluster_version, where):
    """The AKS rules for one agent pool. `current` is the stored pool's properties, or None on create."""
    if not POOL_NAME.match(name or ""):
        raise invalid("agentPoolProfile.name", f"'{name}' must be 1-12 lowercase letters and digits, starting "
                      "with a letter. Please see https://aka.ms/aks-naming-rules for more details.")
    mode = props.get("mode") or (current or {}).get("mode") or "User"
    if mode not in ("System", "User"):
        raise invalid(f"{where}.mode", f"'{mode}' is not a supported mode; use System or User.")
    count = props.get("count")
    low = 1 if mode == "System" else 0
    if count is not None and not low <= count <= 1000:
        raise invalid(f"{where}.count", f"count {count} is out of range for a {mode} pool: it must be between "
                      f"{low} and 1000.")
    if props.get("enableAutoScaling"):
        min_count, max_count = props.get("minCount"), props.get("maxCount")
        if min_count is None or max_count is None:
            raise invalid(f"{where}.minCount", "minCount and maxCount are required when enableAutoScaling is true "
                          f"(minCount={min_count}, maxCount={max_count}).")
        if not low <= min_count <= max_count <= 1000:
            raise invalid(f"{where}.minCount", f"minCount {min_count} and maxCount {max_count} must satisfy "
                          f"{low} <= minCount <= maxCount <= 1000.")
        if count is not None and not min_count <= count <= max_count:
            raise invalid(f"{where}.count", f"count {count} must be between minCount {min_count} and maxCount "
                          f"{max_count} when autoscaling is enabled.")
    for taint in props.get("nodeTaints") or []:
        if labsync.parse_taint(taint) is None:
            raise invalid(f"{where}.nodeTaints", f"'{taint}' is not a taint of the form key=value:Effect, with "
                          "Effect NoSchedule, PreferNoSchedule or NoExecute.")
    for zone in props.get("availabilityZones") or []:
        if zone not in ("1", "2", "3"):
            raise invalid(f"{where}.availabilityZones", f"zone '{zone}' is not one of 1, 2, 3.")
    if current is not None:
        for field in IMMUTABLE_POOL:
            if props.get(field) is not None:
                new, old = props[field], current.get(field)
                if field == "availabilityZones":
                    new, old = sorted(new), sorted(old or [])
                elif field == "vmSize":
                    new, old = new.lower(), (old or "").lower()
                if new != old:
                    raise bad_request("PropertyChangeNotAllowed", f"Changing property '{field}' is not allowed: "
                                      f"the pool has {current.get(field)!r}, the request asks for {props[field]!r}.",
                                      target=f"{where}.{field}")
    if props.get("orchestratorVersion"):
        version = resolve_version(props["orchestratorVersion"], f"{where}.orchestratorVersion")
        if current is not None:
            check_no_downgrade(current.get("currentOrchestratorVersion"), version, f"{where}.orchestratorVersion")
        if cluster_version and _version_key(version) > _version_key(cluster_version):
            raise invalid(f"{where}.orchestratorVersion", f"node pool version {version} cannot be newer than the "
                          f"control plane version {cluster_version}.")


def pool_properties(props, current, cluster_version):
    """The stored properties of a pool: current ones, overlaid with the request, with AKS's defaults."""
    result = dict(current or {})
    result.update({k: copy.deepcopy(v) for k, v in props.items() if k not in POOL_READ_ONLY and v is not None})
    defaults = {"count": 1, "vmSize": "Standard_D2ds_v5", "osType": "Linux", "osSKU": "Ubuntu", "mode": "User",
                "osDiskType": "Managed", "osDiskSizeGB": 128, "maxPods": 250, "type": "VirtualMachineScaleSets",
                "enableAutoScaling": False, "enableNodePublicIP": False, "scaleSetPriority": "Regular"}
    for key, value in defaults.items():
        result.setdefault(key, value)
    version = resolve_version(result.get("orchestratorVersion") or cluster_version, "orchestratorVersion")
    result.setdefault("orchestratorVersion", version)
    result["currentOrchestratorVersion"] = version
    result["nodeImageVersion"] = "AKSUbuntu-2204gen2containerd-202601.05.0"
    result["powerState"] = {"code": "Running"}
    if result.get("enableAutoScaling"):
        result["count"] = labsync.node_count(result)
    return result


def pools_of(emu, cluster_id):
    return emu.store.children(cluster_id, "agentPools")


def check_system_pool_remains(pools, leaving):
    systems = [p for p in pools if p["properties"].get("mode") == "System" and p["name"] != leaving]
    if not systems:
        raise ArmError(400, "OperationNotAllowed", "There has to be at least one system agent pool: pool "
                       f"'{leaving}' is the cluster's last System pool.")


def sync_cluster_nodes(emu, cluster):
    pools = {p["name"]: p["properties"] for p in pools_of(emu, cluster["id"])
             if p["properties"].get("provisioningState") != "Deleting"}
    labsync.sync_nodes(emu.config["kubeconfig"], cluster, pools)


# ----------------------------------------------------------------------------- managed clusters
class ManagedClusters(Kind):
    provider = PROVIDER
    segments = ("managedClusters",)
    type_name = "Microsoft.ContainerService/ManagedClusters"
    etag_field = "eTag"

    def build(self, req, ids, current, body):
        from azure.mgmt.containerservice.models import ManagedCluster  # pylint: disable=import-outside-toplevel

        check_body(ManagedCluster, body)
        if not CLUSTER_NAME.match(ids.name):
            raise invalid("name", f"cluster name '{ids.name}' must be 1-63 letters, digits, '-' and '_', starting "
                          "and ending with a letter or digit.")
        check_tags(body)
        location = body["location"].lower().replace(" ", "")
        if current is not None and current["location"] != location:
            raise ArmError(409, "InvalidResourceLocation", f"The resource '{ids.name}' already exists in location "
                           f"'{current['location']}' in resource group '{ids.rg}'. A resource with the same name "
                           f"cannot be created in location '{location}'.")
        props = dict(body.get("properties") or {})
        old = (current or {}).get("properties", {})
        version = self.check_cluster(props, old, current is not None)
        profiles = props.get("agentPoolProfiles")
        existing = {p["name"]: p for p in pools_of(req.emu, ids.id)} if current else {}
        if current is None:
            if not profiles:
                raise invalid("properties.agentPoolProfiles", "a cluster needs at least one agent pool.")
            if not any((p.get("mode") or "User") == "System" for p in profiles):
                raise bad_request("MustDefineAtLeastOneSystemPool", "Must define at least one system pool: none "
                                  "of the agentPoolProfiles has mode System.", target="properties.agentPoolProfiles")
        names = [p.get("name") for p in profiles or []]
        if len(set(names)) != len(names):
            raise invalid("properties.agentPoolProfiles", f"pool names must be unique, got {names}.")
        for index, profile in enumerate(profiles or []):
            stored = existing.get(profile.get("name"))
            check_pool(profile.get("name"), profile, stored and stored["properties"], version,
                       f"properties.agentPoolProfiles[{index}]")
        if profiles and current is not None:
            after = dict(existing)
            after.update({p["name"]: {"name": p["name"], "properties": {"mode": p.get("mode") or "User"}}
                          for p in profiles})
            if not any(p["properties"].get("mode") == "System" for p in after.values()):
                raise ArmError(400, "OperationNotAllowed", "There has to be at least one system agent pool: the "
                               "request leaves the cluster without a System pool.")
        # Valid: compose the stored cluster, then its pools.
        resource = {
            "id": ids.id, "name": current["name"] if current else ids.name, "type": self.type_name,
            "location": location, "tags": body.get("tags") or {},
            "sku": body.get("sku") or (current or {}).get("sku") or {"name": "Base", "tier": "Free"},
            "identity": self.identity(body, current, req.emu),
        }
        stored_props = {k: copy.deepcopy(v) for k, v in props.items() if k not in CLUSTER_READ_ONLY}
        rg = ids.rg
        defaults = {
            "kubernetesVersion": version, "enableRBAC": True, "supportPlan": "KubernetesOfficial",
            "nodeResourceGroup": old.get("nodeResourceGroup") or f"MC_{rg}_{resource['name']}_{location}",
            "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay", "podCidr": "10.244.0.0/16",
                               "serviceCidr": "10.0.0.0/16", "dnsServiceIP": "10.0.0.10", "outboundType":
                               "loadBalancer", "loadBalancerSku": "standard", "ipFamilies": ["IPv4"]},
            "disableLocalAccounts": False, "dnsPrefix": old.get("dnsPrefix"),
        }
        for key, value in defaults.items():
            if stored_props.get(key) is None:
                stored_props[key] = copy.deepcopy(old.get(key, value))
        network = dict(defaults["networkProfile"], **(old.get("networkProfile") or {}))
        network.update(props.get("networkProfile") or {})
        stored_props["networkProfile"] = network
        digest = hashlib.sha256(ids.id.lower().encode()).hexdigest()
        stored_props.update({
            "currentKubernetesVersion": resolve_version(version, "properties.kubernetesVersion"),
            "fqdn": f"{stored_props['dnsPrefix']}-{digest[:8]}.hcp.{location}.azmk8s.io",
            "azurePortalFQDN": f"{stored_props['dnsPrefix']}-{digest[:8]}.portal.hcp.{location}.azmk8s.io",
            "maxAgentPools": 100, "powerState": {"code": "Running"}, "resourceUID": digest[:24],
        })
        resource["properties"] = stored_props
        for profile in profiles or []:
            name = profile["name"]
            stored = existing.get(name)
            pool_props = pool_properties({k: v for k, v in profile.items() if k != "name"},
                                         stored and stored["properties"], stored_props["currentKubernetesVersion"])
            pool_props["provisioningState"] = "Updating" if stored else "Creating"
            pool = {"id": f"{ids.id}/agentPools/{name}", "name": name, "type": AgentPools.type_name,
                    "properties": pool_props, "_etag": new_etag()}
            req.emu.store.put(pool["id"], pool)
        return resource

    @staticmethod
    def identity(body, current, emu):
        identity = body.get("identity") or (current or {}).get("identity") or {"type": "SystemAssigned"}
        identity = dict(identity)
        if identity.get("type") == "SystemAssigned":
            identity.setdefault("principalId", str(uuid.uuid4()))
            identity.setdefault("tenantId", emu.config["tenant_id"])
        return identity

    @staticmethod
    def check_cluster(props, old, updating):
        """The cluster-level rules; returns the Kubernetes version the cluster will have."""
        requested = props.get("kubernetesVersion")
        version = resolve_version(requested, "properties.kubernetesVersion") if requested else \
            old.get("currentKubernetesVersion") or DEFAULT_VERSION
        if updating:
            check_no_downgrade(old.get("currentKubernetesVersion"), version, "properties.kubernetesVersion")
            if props.get("dnsPrefix") and props["dnsPrefix"] != old.get("dnsPrefix"):
                raise bad_request("PropertyChangeNotAllowed", f"Changing property 'dnsPrefix' is not allowed: the "
                                  f"cluster has '{old.get('dnsPrefix')}', the request asks for "
                                  f"'{props['dnsPrefix']}'.", target="properties.dnsPrefix")
            for field in IMMUTABLE_NETWORK:
                new = get_path(props, f"networkProfile.{field}")
                was = get_path(old, f"networkProfile.{field}")
                if new is not None and was is not None and new != was:
                    raise bad_request("PropertyChangeNotAllowed", f"Changing property 'networkProfile.{field}' is "
                                      f"not allowed: the cluster has '{was}', the request asks for '{new}'.",
                                      target=f"properties.networkProfile.{field}")
        elif not props.get("dnsPrefix") and not props.get("fqdnSubdomain"):
            raise invalid("properties.dnsPrefix", "dnsPrefix is required when a cluster is created.")
        if props.get("dnsPrefix") and not DNS_PREFIX.match(props["dnsPrefix"]):
            raise invalid("properties.dnsPrefix", f"'{props['dnsPrefix']}' must be 1-54 letters, digits and "
                          "hyphens, starting and ending with a letter or digit.")
        aad = props.get("aadProfile") if "aadProfile" in props else old.get("aadProfile")
        disable_local = props.get("disableLocalAccounts", old.get("disableLocalAccounts"))
        if disable_local and not (aad or {}).get("managed"):
            raise bad_request("BadRequest", "disableLocalAccounts can only be set on clusters with managed Entra ID "
                              "integration: set aadProfile.managed to true.", target="properties.disableLocalAccounts")
        access = props.get("apiServerAccessProfile") or {}
        ranges = access.get("authorizedIPRanges") or []
        for cidr in ranges:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise invalid("properties.apiServerAccessProfile.authorizedIPRanges",
                              f"'{cidr}' is not a valid IP address or CIDR range.") from None
        if ranges and access.get("enablePrivateCluster"):
            raise bad_request("BadRequest", "authorizedIPRanges cannot be used with a private cluster "
                              "(enablePrivateCluster is true).",
                              target="properties.apiServerAccessProfile.authorizedIPRanges")
        return version

    def patch(self, req, ids, current, body):
        """PATCH is AKS's updateTags: only `tags` changes."""
        tags = body.get("tags")
        if tags is not None and (not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values())):
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid: tags must be an object "
                           "of strings.")
        check_tags(body)
        resource = copy.deepcopy(current)
        if tags is not None:
            resource["tags"] = tags
        return resource

    def view(self, emu, resource):
        result = super().view(emu, resource)
        result["properties"]["agentPoolProfiles"] = [
            dict(AGENT_POOLS.view(emu, pool)["properties"], name=pool["name"])
            for pool in pools_of(emu, resource["id"])]
        return result

    def completed(self, emu, resource, previous, transient):
        pools = pools_of(emu, resource["id"])
        try:
            sync_cluster_nodes(emu, resource)
        except ArmError:
            for pool in pools:
                if pool["properties"].get("provisioningState") in ("Creating", "Updating"):
                    pool["properties"]["provisioningState"] = "Failed"
                    emu.store.put(pool["id"], pool)
            raise
        for pool in pools:
            if pool["properties"].get("provisioningState") in ("Creating", "Updating"):
                pool["properties"]["provisioningState"] = "Succeeded"
                emu.store.put(pool["id"], pool)


# ---------------------------------------------------------------------------------- agent pools
class AgentPools(Kind):
    provider = PROVIDER
    segments = ("managedClusters", "agentPools")
    type_name = "Microsoft.ContainerService/managedClusters/agentPools"
    etag_field = "properties.eTag"
    patchable = False

    def build(self, req, ids, current, body):
        from azure.mgmt.containerservice.models import AgentPool  # pylint: disable=import-outside-toplevel

        check_body(AgentPool, body)
        cluster = req.emu.store.get(ids.top_id)
        props = dict(body.get("properties") or {})
        version = cluster["properties"]["currentKubernetesVersion"]
        check_pool(ids.name, props, current and current["properties"], version, "properties")
        if current is not None and current["properties"].get("mode") == "System" and props.get("mode") == "User":
            check_system_pool_remains(pools_of(req.emu, ids.top_id), ids.name)
        return {"id": ids.id, "name": current["name"] if current else ids.name, "type": self.type_name,
                "properties": pool_properties(props, current and current["properties"], version)}

    def check_delete(self, req, ids, current):
        pools = pools_of(req.emu, ids.top_id)
        if len(pools) <= 1:
            raise ArmError(400, "OperationNotAllowed", "There has to be at least one agent pool.")
        if current["properties"].get("mode") == "System":
            check_system_pool_remains(pools, current["name"])

    def completed(self, emu, resource, previous, transient):
        sync_cluster_nodes(emu, emu.store.get(resource["id"].rsplit("/agentPools/", 1)[0]))


class MaintenanceConfigurations(Kind):
    """A cluster's planned-maintenance windows: synchronous PUT (200/201) and DELETE (200/204), as AKS answers."""

    provider = PROVIDER
    segments = ("managedClusters", "maintenanceConfigurations")
    type_name = "Microsoft.ContainerService/managedClusters/maintenanceConfigurations"
    state_field = None
    patchable = False
    NAMES = ("default", "aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule")

    def write(self, req, ids, patch):
        from azure.mgmt.containerservice.models import MaintenanceConfiguration  # pylint: disable=import-outside-toplevel

        if ids.name not in self.NAMES:
            raise invalid("name", f"'{ids.name}' is not a maintenance configuration name; use one of {self.NAMES}.")
        check_body(MaintenanceConfiguration, req.body)
        window = get_path(req.body, "properties.maintenanceWindow")
        if ids.name != "default" and not window:
            raise invalid("properties.maintenanceWindow", f"'{ids.name}' needs a maintenanceWindow.")
        if window:
            hours = window.get("durationHours")
            if not isinstance(hours, int) or not 4 <= hours <= 24:
                raise invalid("properties.maintenanceWindow.durationHours", f"{hours!r} must be 4 to 24 hours.")
            if not re.match(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", window.get("startTime") or ""):
                raise invalid("properties.maintenanceWindow.startTime", f"{window.get('startTime')!r} is not HH:mm.")
            if not window.get("schedule"):
                raise invalid("properties.maintenanceWindow.schedule", "a schedule is required.")
        with req.emu.lock:
            current = req.emu.store.get(ids.id)
            resource = {"id": ids.id, "name": ids.name, "type": self.type_name,
                        "properties": copy.deepcopy(req.body.get("properties") or {})}
            req.emu.store.put(ids.id, resource)
        return (200 if current else 201), self.view(req.emu, resource), {}

    def delete(self, req, ids):
        with req.emu.lock:
            if req.emu.store.get(ids.id) is None:
                return 204, None, {}
            req.emu.store.delete_tree(ids.id)
        return 200, None, {}


def delete_cluster_hook(emu, cluster):
    labsync.delete_nodes(emu.config["kubeconfig"], cluster)


def delete_pool_hook(emu, pool):
    cluster = emu.store.get(pool["id"].rsplit("/agentPools/", 1)[0])
    if cluster is not None:
        sync_cluster_nodes(emu, cluster)


# ---------------------------------------------------------------------------------- credentials
def credentials(emu, method, match, body, query, headers=None):
    if method != "POST":
        raise ArmError(405, "MethodNotAllowed", f"The method {method} is not allowed; use POST.")
    sub, rg = match.group("sub"), urllib.parse.unquote(match.group("rg"))
    emu.require_subscription(sub)
    if emu.store.get(f"/subscriptions/{sub}/resourceGroups/{rg}") is None:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
    name = urllib.parse.unquote(match.group("n0"))
    cluster = emu.store.get(f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{PROVIDER}/managedClusters/{name}")
    if cluster is None:
        raise Kind.not_found(rg, f"{PROVIDER}/managedClusters/{name}")
    props = cluster["properties"]
    admin = match.group("kind").lower() == "listclusteradmincredential"
    if admin and props.get("disableLocalAccounts"):
        raise ArmError(400, "BadRequest", LOCAL_ACCOUNTS_DISABLED)
    exec_user = None
    user_name = f"cluster{'Admin' if admin else 'User'}_{rg}_{cluster['name']}"
    if not admin and props.get("aadProfile"):
        tenant = props["aadProfile"].get("tenantID") or emu.config["tenant_id"]
        exec_user = {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "kubelogin",
            "args": ["get-token", "--environment", "AzurePublicCloud", "--server-id", AKS_SERVER_APP_ID,
                     "--client-id", AZURE_CLI_CLIENT_ID, "--tenant-id", tenant, "--login", "devicecode"],
            "env": None, "provideClusterInfo": False,
            "installHint": "kubelogin is not installed which is required to connect to AAD enabled cluster.\n"}}
    context = f"{cluster['name']}-admin" if admin else cluster["name"]
    kubeconfig = labsync.cluster_kubeconfig(emu.config["kubeconfig"], context, user_name, exec_user)
    entry = {"name": "clusterAdmin" if admin else "clusterUser", "value": base64.b64encode(kubeconfig).decode()}
    return 200, {"kubeconfigs": [entry]}, {}


MANAGED_CLUSTERS = ManagedClusters()
AGENT_POOLS = AgentPools()
MAINTENANCE = MaintenanceConfigurations()
DELETE_HOOKS = {MANAGED_CLUSTERS.type_name.lower(): delete_cluster_hook,
                AGENT_POOLS.type_name.lower(): delete_pool_hook}


def routes():
    credential = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
                            r"Microsoft\.ContainerService/managedClusters/(?P<n0>[^/]+)/"
                            r"(?P<kind>listClusterUserCredential|listClusterAdminCredential)$", re.I)
    return [(credential, credentials)] + MANAGED_CLUSTERS.routes() + AGENT_POOLS.routes() + MAINTENANCE.routes()
