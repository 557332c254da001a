# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure renderers: a tenant's Kubernetes objects and its Traefik routes, as plain data.

Nothing here talks to a system. The version table below is the one place where Odoo's
version-specific facts live.
"""

from __future__ import annotations

import hashlib
import re

from ._common import InputError, check_dns_label

LABEL = "odoo-saas.platform"
MANAGED_BY = {"app.kubernetes.io/managed-by": "odoo_saas.platform"}
ODOO_UID = 101  # the odoo user of the official image

# version -> websocket path, the config key of the 8072 port, the init flags about demo data
VERSIONS = {
    "15.0": {"websocket_path": "/longpolling/", "port_key": "longpolling_port", "demo_flags": ["--without-demo=all"]},
    "16.0": {"websocket_path": "/websocket", "port_key": "gevent_port", "demo_flags": ["--without-demo=all"]},
    "17.0": {"websocket_path": "/websocket", "port_key": "gevent_port", "demo_flags": ["--without-demo=all"]},
    "18.0": {"websocket_path": "/websocket", "port_key": "gevent_port", "demo_flags": ["--without-demo=all"]},
    # From 18.3 on, demo data is only installed when asked for with --with-demo.
    "19.0": {"websocket_path": "/websocket", "port_key": "gevent_port", "demo_flags": []},
}
QUANTITY = re.compile(r"^([0-9]+(\.[0-9]+)?)(m|Ki|Mi|Gi|Ti|k|M|G)?$")


def version_facts(version):
    key = str(version)
    if re.match(r"^\d+$", key):
        key += ".0"
    if key not in VERSIONS:
        raise InputError(f"odoo_version={version!r} is not supported: use one of {', '.join(VERSIONS)}.")
    return key, VERSIONS[key]


def check_not_older(running, wanted):
    """Odoo migrates a database forward only: refuse to run `wanted` on a tenant that already runs a newer version."""
    if running and running in VERSIONS and \
            tuple(int(part) for part in wanted.split(".")) < tuple(int(part) for part in running.split(".")):
        raise InputError(f"odoo_version={wanted!r} is older than the {running} the tenant runs: Odoo cannot move a "
                         f"database back to an older version. Keep odoo_version={running!r}, or restore a backup taken "
                         f"before the upgrade into a new tenant.")


def quantity(option, value, cpu=False):
    """Parse a Kubernetes quantity into a float (cores or bytes), refusing what the API would refuse."""
    match = QUANTITY.match(str(value))
    if not match:
        raise InputError(f"{option}={value!r} is not a Kubernetes quantity (for example 500m, 2, 512Mi, 2Gi).")
    number, unit = float(match.group(1)), match.group(3) or ""
    if cpu:
        return number / 1000 if unit == "m" else number
    factor = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4,
              "m": 1e-3}[unit]
    return number * factor


def _check_resources(option, resources):
    for kind in ("cpu", "memory"):
        request = resources["requests"].get(kind)
        limit = resources["limits"].get(kind)
        if request is not None and limit is not None and \
                quantity(f"{option}.requests.{kind}", request, kind == "cpu") > \
                quantity(f"{option}.limits.{kind}", limit, kind == "cpu"):
            raise InputError(f"{option}: the {kind} request {request} is above its limit {limit}; a request must "
                             "not exceed its limit. Lower the request or raise the limit.")


def validate(spec):
    """Refuse bad input before anything is written. Returns the normalised Odoo version."""
    check_dns_label("name", spec["name"])
    if len(spec["name"]) > 40:
        raise InputError(f"name={spec['name']!r} is longer than 40 characters; names of the objects derived from "
                         "it must stay within Kubernetes' 63-character limit.")
    version, _facts = version_facts(spec["odoo_version"])
    for option in ("workers", "web_replicas"):
        if spec[option] is not None and spec[option] < 1:
            raise InputError(f"{option}={spec[option]} is invalid: a serving tenant needs at least 1.")
    for option in ("max_cron_threads", "cron_replicas", "db_maxconn"):
        if spec[option] is not None and spec[option] < 0:
            raise InputError(f"{option}={spec[option]} is negative.")
    if spec["tier"] == "dedicated" and not spec.get("node_pool"):
        raise InputError("tier=dedicated needs node_pool: the name of the tenant's dedicated AKS node pool.")
    if spec["node_pool"] and not re.match(r"^[a-z][a-z0-9]{0,11}$", spec["node_pool"]):
        raise InputError(f"node_pool={spec['node_pool']!r} is not an AKS pool name (lowercase letters and digits, "
                         "at most 12, starting with a letter).")
    scale = spec.get("autoscale")
    if scale:
        if spec["tier"] != "dedicated":
            raise InputError(f"autoscale is set for the {spec['tier']} tenant {spec['name']!r}: only dedicated tenants "
                             "get an HPA (shared pools are sized for a fixed web_replicas). Remove autoscale, or "
                             "use tier=dedicated.")
        if scale["min"] < 1 or scale["max"] < scale["min"]:
            raise InputError(f"autoscale min={scale['min']}, max={scale['max']} is invalid: use 1 <= min <= max.")
        if not 1 <= scale["cpu"] <= 100:
            raise InputError(f"autoscale.cpu={scale['cpu']} is out of range: a utilisation target is 1-100 percent.")
    _check_resources("web_resources", spec["web_resources"])
    _check_resources("cron_resources", spec["cron_resources"])
    for key, value in spec["quota"].items():
        quantity(f"quota.{key}", value, "cpu" in key)
    db = spec["database"]
    if not db or not db.get("host") or not db.get("name") or not db.get("user"):
        raise InputError("database needs host, name and user (the pg_database module's result gives them).")
    return version


def tenant_argument_spec():
    """The tenant a module follows odoo_tenant on; documented in doc_fragments/tenant.py."""
    return {"name": {"type": "str", "required": True}, "namespace": {"type": "str"}}


def namespace_name(spec):
    return spec["namespace"] or f"odoo-{spec['name']}"


def labels(spec, component=None):
    out = {"app.kubernetes.io/name": "odoo", "app.kubernetes.io/instance": spec["name"],
           f"{LABEL}/tenant": spec["name"]}
    if component:
        out["app.kubernetes.io/component"] = component
    out.update(MANAGED_BY)
    return out


def odoo_conf(spec, version):
    facts = VERSIONS[version]
    db = spec["database"]
    lines = [
        "[options]",
        "proxy_mode = True",
        "list_db = False",
        f"dbfilter = ^{re.escape(db['name'])}$",
        f"db_host = {db['host']}",
        f"db_port = {db.get('port', 5432)}",
        f"db_user = {db['user']}",
        f"db_name = {db['name']}",
        f"db_sslmode = {db.get('sslmode', 'prefer')}",
        f"db_maxconn = {spec['db_maxconn']}",
        "data_dir = /var/lib/odoo",
        "http_port = 8069",
        f"{facts['port_key']} = 8072",
        f"workers = {spec['workers']}",
        f"max_cron_threads = {spec['max_cron_threads']}",
        f"limit_memory_soft = {spec['limit_memory_soft']}",
        f"limit_memory_hard = {spec['limit_memory_hard']}",
        f"limit_time_cpu = {spec['limit_time_cpu']}",
        f"limit_time_real = {spec['limit_time_real']}",
        "limit_request = 65536",
        "log_level = info",
        "log_handler = :INFO",
    ]
    return "\n".join(lines) + "\n"


def _security():
    return {"runAsNonRoot": True, "runAsUser": ODOO_UID, "runAsGroup": ODOO_UID, "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def _placement(spec, component):
    if spec["tier"] == "dedicated":
        return {"nodeSelector": {"kubernetes.azure.com/agentpool": spec["node_pool"]},
                "tolerations": [{"key": f"{LABEL}/tenant", "operator": "Equal", "value": spec["name"],
                                 "effect": "NoSchedule"}]}
    pool = "web" if component == "web" else "worker"
    return {"nodeSelector": {"kubernetes.azure.com/agentpool": pool}}


def _pod(spec, version, component, args, resources):
    def from_secret(name, key):
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": "odoo-secrets", "key": key}}}

    env = [from_secret("PGPASSWORD", "db_password"), from_secret("ODOO_ADMIN_PASSWD", "admin_passwd")]
    if spec["redis"]:
        env.append({"name": "ODOO_SESSION_REDIS_PASSWORD",
                    "valueFrom": {"secretKeyRef": {"name": "odoo-secrets", "key": "redis_password"}}})
    image = f"{spec['image']}:{spec['image_tag'] or version}"
    volumes = [{"name": "conf-template", "configMap": {"name": "odoo-conf"}},
               {"name": "conf", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
               {"name": "filestore", "persistentVolumeClaim": {"claimName": "odoo-filestore"}}
               if spec["filestore"]["storage_class"] else {"name": "filestore", "emptyDir": {}}]
    # The admin password joins odoo.conf inside the pod, so that it never sits in the ConfigMap.
    render = ("cp /etc/odoo-template/odoo.conf /etc/odoo/odoo.conf && "
              "printf 'admin_passwd = %s\\n' \"$ODOO_ADMIN_PASSWD\" >> /etc/odoo/odoo.conf")
    container = {
        "name": "odoo", "image": image, "imagePullPolicy": "IfNotPresent",
        "command": ["odoo"], "args": ["-c", "/etc/odoo/odoo.conf"] + args,
        "env": env, "envFrom": [{"configMapRef": {"name": "odoo-env"}}],
        "resources": resources, "securityContext": _security(),
        "volumeMounts": [{"name": "conf", "mountPath": "/etc/odoo"},
                         {"name": "filestore", "mountPath": "/var/lib/odoo"}],
    }
    pod = {
        "securityContext": {"runAsNonRoot": True, "fsGroup": ODOO_UID, "seccompProfile": {"type": "RuntimeDefault"}},
        "automountServiceAccountToken": False,
        "initContainers": [{
            "name": "config", "image": image, "command": ["sh", "-c", render], "env": env[1:2],
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
            "securityContext": _security(),
            "volumeMounts": [{"name": "conf-template", "mountPath": "/etc/odoo-template"},
                             {"name": "conf", "mountPath": "/etc/odoo"}]}],
        "containers": [container], "volumes": volumes, "terminationGracePeriodSeconds": 60,
    }
    pod.update(_placement(spec, component))
    return pod, container


def render(spec, version, replicas_override=None):
    """All of a tenant's objects but its Jobs, in the order they are applied."""
    ns = namespace_name(spec)
    objects = []
    ns_labels = {"pod-security.kubernetes.io/enforce": "restricted",
                 "pod-security.kubernetes.io/enforce-version": "latest",
                 "pod-security.kubernetes.io/warn": "restricted",
                 f"{LABEL}/tenant": spec["name"], f"{LABEL}/tier": spec["tier"],
                 f"{LABEL}/cost-centre": spec["cost_centre"] or spec["name"]}
    ns_labels.update(MANAGED_BY)
    objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": ns_labels}})
    quota = {f"requests.{k}" if k in ("cpu", "memory") else k: v for k, v in spec["quota"].items()}
    quota.update({"services.loadbalancers": "0", "services.nodeports": "0"})
    objects.append({"apiVersion": "v1", "kind": "ResourceQuota",
                    "metadata": {"name": "tenant", "namespace": ns, "labels": labels(spec)},
                    "spec": {"hard": quota}})
    objects.append({"apiVersion": "v1", "kind": "LimitRange",
                    "metadata": {"name": "tenant", "namespace": ns, "labels": labels(spec)},
                    "spec": {"limits": [{"type": "Container",
                                         "default": {"cpu": "500m", "memory": "512Mi"},
                                         "defaultRequest": {"cpu": "100m", "memory": "256Mi"}}]}})
    objects.extend(network_policies(spec, ns))
    env = {"ODOO_SESSION_REDIS": "1" if spec["redis"] else "0"}
    if spec["redis"]:
        r = spec["redis"]
        env.update({"ODOO_SESSION_REDIS_HOST": str(r["host"]), "ODOO_SESSION_REDIS_PORT": str(r.get("port", 6379)),
                    "ODOO_SESSION_REDIS_USER": str(r.get("user", spec["name"])),
                    "ODOO_SESSION_REDIS_PREFIX": str(r.get("prefix", f"{spec['name']}:")),
                    "ODOO_SESSION_REDIS_SSL": "1" if r.get("tls") else "0"})
    objects.append({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "odoo-conf", "namespace": ns, "labels": labels(spec)},
                    "data": {"odoo.conf": odoo_conf(spec, version)}})
    objects.append({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "odoo-env", "namespace": ns, "labels": labels(spec)}, "data": env})
    if spec["filestore"]["storage_class"]:
        objects.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": "odoo-filestore", "namespace": ns, "labels": labels(spec)},
                        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName":
                                 spec["filestore"]["storage_class"],
                                 "resources": {"requests": {"storage": spec["filestore"]["size"]}}}})
    conf_hash = hashlib.sha256(odoo_conf(spec, version).encode()).hexdigest()[:12]
    replicas = {"web": spec["web_replicas"], "cron": spec["cron_replicas"]}
    replicas.update(replicas_override or {})
    # With an HPA the web Deployment's replica count is the HPA's: applying web_replicas on every run would undo
    # its scaling (and write on every run). Left out, it starts at 1 and the HPA raises it to autoscale.min.
    hpa = spec["tier"] == "dedicated" and bool(spec["autoscale"])
    autoscaled = hpa and not replicas_override
    for component, args in (("web", ["--max-cron-threads=0"]), ("cron", ["--no-http", "--workers=0"])):
        resources = spec["web_resources"] if component == "web" else spec["cron_resources"]
        pod, _container = _pod(spec, version, component, args, resources)
        if component == "web":
            pod["containers"][0]["ports"] = [{"name": "http", "containerPort": 8069},
                                             {"name": "websocket", "containerPort": 8072}]
            probe = {"httpGet": {"path": "/web/health", "port": 8069}, "periodSeconds": 10, "timeoutSeconds": 5}
            pod["containers"][0]["readinessProbe"] = dict(probe, failureThreshold=3)
            pod["containers"][0]["livenessProbe"] = dict(probe, failureThreshold=6, initialDelaySeconds=30)
        objects.append({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": f"odoo-{component}", "namespace": ns, "labels": labels(spec, component),
                         "annotations": {f"{LABEL}/odoo-version": version}},
            "spec": {**({} if component == "web" and autoscaled else {"replicas": replicas[component]}),
                     "selector": {"matchLabels": {"app.kubernetes.io/instance": spec["name"],
                                                  "app.kubernetes.io/component": component}},
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
                     if component == "web" else {"type": "Recreate"},
                     "template": {"metadata": {"labels": labels(spec, component),
                                               "annotations": {f"{LABEL}/config-hash": conf_hash}},
                                  "spec": pod}}})
    objects.append({"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": "odoo", "namespace": ns, "labels": labels(spec, "web")},
                    "spec": {"selector": {"app.kubernetes.io/instance": spec["name"],
                                          "app.kubernetes.io/component": "web"},
                             "ports": [{"name": "http", "port": 8069, "targetPort": 8069},
                                       {"name": "websocket", "port": 8072, "targetPort": 8072}]}})
    if (spec["autoscale"]["min"] if hpa else spec["web_replicas"]) >= 2:
        objects.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                        "metadata": {"name": "odoo-web", "namespace": ns, "labels": labels(spec, "web")},
                        "spec": {"minAvailable": 1, "selector": {"matchLabels": {
                            "app.kubernetes.io/instance": spec["name"], "app.kubernetes.io/component": "web"}}}})
    if hpa:
        objects.append({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                        "metadata": {"name": "odoo-web", "namespace": ns, "labels": labels(spec, "web")},
                        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "odoo-web"},
                                 "minReplicas": spec["autoscale"]["min"], "maxReplicas": spec["autoscale"]["max"],
                                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                                     "type": "Utilization", "averageUtilization": spec["autoscale"]["cpu"]}}}]}})
    return objects


def secret(spec, ns, db_password, admin_passwd, redis_password):
    data = {"db_password": db_password or "", "admin_passwd": admin_passwd}
    if spec["redis"]:
        data["redis_password"] = redis_password or ""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "odoo-secrets", "namespace": ns, "labels": labels(spec)}, "stringData": data}


def network_policies(spec, ns):
    select_all = {"podSelector": {}}
    db_port = int(spec["database"].get("port", 5432))
    egress_ports = [{"protocol": "TCP", "port": db_port}, {"protocol": "TCP", "port": 443}]
    if spec["redis"]:
        egress_ports.append({"protocol": "TCP", "port": int(spec["redis"].get("port", 6379))})
    return [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "default-deny", "namespace": ns, "labels": labels(spec)},
         "spec": dict(select_all, policyTypes=["Ingress", "Egress"])},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "allow-traefik", "namespace": ns, "labels": labels(spec)},
         "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "web"}}, "policyTypes": ["Ingress"],
                  "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                      "kubernetes.io/metadata.name": spec["ingress_namespace"]}}}],
                      "ports": [{"protocol": "TCP", "port": 8069}, {"protocol": "TCP", "port": 8072}]}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "allow-egress", "namespace": ns, "labels": labels(spec)},
         "spec": dict(select_all, policyTypes=["Egress"], egress=[
             {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
              "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
             {"ports": egress_ports}])},
    ]


def job(spec, version, kind, modules="all"):
    """The init Job (-i base) or the upgrade Job (-u <modules>) for `version`."""
    ns = namespace_name(spec)
    facts = VERSIONS[version]
    db_name = spec["database"]["name"]
    if kind == "init":
        args = ["-d", db_name, "-i", "base", "--stop-after-init", "--no-http"] + facts["demo_flags"]
    else:
        args = ["-d", db_name, "-u", modules, "--stop-after-init", "--no-http"]
    pod, _container = _pod(spec, version, "cron", args, spec["cron_resources"])
    pod["restartPolicy"] = "Never"
    name = f"odoo-{kind}-{version.replace('.', '-')}"
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": ns, "labels": labels(spec, f"{kind}-job")},
            "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": 86400, "activeDeadlineSeconds": 3600,
                     "template": {"metadata": {"labels": labels(spec, f"{kind}-job")}, "spec": pod}}}


# ------------------------------------------------------------------ routes
HOST = re.compile(r"^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def check_hosts(hosts, allow_wildcard=False):
    if not hosts:
        raise InputError("hosts is empty: give at least one host name, for example 'acme.example.com'.")
    for host in hosts:
        if not isinstance(host, str) or not HOST.match(host) or len(host) > 253:
            raise InputError(f"hosts: {host!r} is not a DNS name (lowercase labels of letters, digits and "
                             "hyphens, separated by dots).")
        if host.startswith("*.") and not allow_wildcard:
            raise InputError(f"hosts: {host!r} is a wildcard; a tenant route takes exact host names. Set "
                             "allow_wildcard: true only for a tenant that really owns the whole domain.")
    if len(set(hosts)) != len(hosts):
        raise InputError(f"hosts: {hosts!r} lists a host twice.")
    return hosts


def routes(spec, version):
    """The IngressRoutes and Middlewares for a tenant's hosts."""
    ns = namespace_name(spec)
    facts = VERSIONS[version]
    rule_hosts = " || ".join(f"Host(`{h}`)" if not h.startswith("*.") else
                             f"HostRegexp(`^[a-z0-9-]+{re.escape(h[1:])}$`)" for h in spec["hosts"])
    lab = labels(spec, "route")
    middlewares = [
        {"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware",
         "metadata": {"name": "secure-headers", "namespace": ns, "labels": dict(lab)},
         "spec": {"headers": {"stsSeconds": 31536000, "stsIncludeSubdomains": True, "stsPreload": True,
                              "forceSTSHeader": True, "contentTypeNosniff": True, "browserXssFilter": True,
                              "frameDeny": False, "customFrameOptionsValue": "SAMEORIGIN",
                              "referrerPolicy": "strict-origin-when-cross-origin"}}},
        {"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware",
         "metadata": {"name": "compress", "namespace": ns, "labels": dict(lab)}, "spec": {"compress": {}}},
        {"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware",
         "metadata": {"name": "rate-limit", "namespace": ns, "labels": dict(lab)},
         "spec": {"rateLimit": {"average": spec["rate_limit"]["average"], "burst": spec["rate_limit"]["burst"]}}},
        {"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware",
         "metadata": {"name": "buffering", "namespace": ns, "labels": dict(lab)},
         "spec": {"buffering": {"maxRequestBodyBytes": spec["max_body_bytes"], "memRequestBodyBytes": 2097152}}},
        {"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware",
         "metadata": {"name": "redirect-https", "namespace": ns, "labels": dict(lab)},
         "spec": {"redirectScheme": {"scheme": "https", "permanent": True}}},
        {"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware",
         "metadata": {"name": "block-database-manager", "namespace": ns, "labels": dict(lab)},
         # An allow-list that admits no client (none connects from the limited-broadcast address): every request
         # is refused with a 403, before it reaches Odoo.
         "spec": {"ipAllowList": {"sourceRange": ["255.255.255.255/32"], "rejectStatusCode": 403}}},
    ]
    tls = {"certResolver": spec["tls"]["cert_resolver"]} if spec["tls"].get("cert_resolver") else \
        {"secretName": spec["tls"]["secret_name"]}
    svc = [{"name": "odoo", "port": 8069}]
    ws = [{"name": "odoo", "port": 8072}]
    secure = {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute",
              "metadata": {"name": "odoo", "namespace": ns, "labels": dict(lab),
                           "annotations": {f"{LABEL}/hosts": ",".join(sorted(spec["hosts"]))}},
              "spec": {"entryPoints": [spec["entry_point"]], "tls": tls, "routes": [
                  {"match": f"({rule_hosts}) && PathPrefix(`/web/database`)", "kind": "Rule", "priority": 300,
                   "services": svc, "middlewares": [{"name": "block-database-manager"}]},
                  {"match": f"({rule_hosts}) && PathPrefix(`{facts['websocket_path']}`)", "kind": "Rule",
                   "priority": 200, "services": ws,
                   "middlewares": [{"name": "secure-headers"}, {"name": "rate-limit"}]},
                  {"match": rule_hosts, "kind": "Rule", "priority": 100, "services": svc,
                   "middlewares": [{"name": "secure-headers"}, {"name": "compress"}, {"name": "rate-limit"},
                                   {"name": "buffering"}]},
              ]}}
    redirect = {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute",
                "metadata": {"name": "odoo-http", "namespace": ns, "labels": dict(lab)},
                "spec": {"entryPoints": [spec["http_entry_point"]], "routes": [
                    {"match": rule_hosts, "kind": "Rule", "priority": 100, "services": svc,
                     "middlewares": [{"name": "redirect-https"}]}]}}
    return middlewares + [secure, redirect]
