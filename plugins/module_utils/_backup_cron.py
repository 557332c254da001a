# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scheduled backup: a pure renderer of a tenant's backup CronJob and its Secret, the checks of a cron
expression and a time zone, and the converge step on `_kube`.

The CronJob's pod runs this same module (`action: run, prune: true`) with ansible-core, from an image that holds
the collection, its Python requirements and PostgreSQL client tools. So a scheduled backup is the same backup as
one taken from the controller: same layout, same manifest, same checksums. Its credentials come from the Secret
through the environment variables that the PostgreSQL and Blob options fall back to; its arguments hold none.
"""

from __future__ import annotations

import json
import re

from ._common import InputError
from ._kube import Client, Converger, converge_result
from ._odoo import MANAGED_BY, ODOO_UID, _check_resources, quantity

NAME = "odoo-backup"
LABEL = "odoo-saas.platform"
DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
DAYS = "sun mon tue wed thu fri sat".split()
# field -> (lowest, highest, names)
FIELDS = (("minute", 0, 59, None), ("hour", 0, 23, None), ("day of month", 1, 31, None),
          ("month", 1, 12, MONTHS), ("day of week", 0, 7, DAYS))
MAX_RESOURCES = {"cpu": 4.0, "memory": 8 * 1024 ** 3}


def check_cron(expression):
    """Refuse what Kubernetes' cron parser would refuse: five fields, or one of the @ descriptors."""
    if not isinstance(expression, str) or not expression.strip():
        raise InputError("schedule is empty: give a cron expression such as '30 2 * * *' (02:30 every day).")
    text = expression.strip()
    if text.startswith("@"):
        if text.lower() in DESCRIPTORS:
            return text
        raise InputError(f"schedule={expression!r} is not a cron descriptor; use one of {', '.join(sorted(DESCRIPTORS))}"
                         " or five fields such as '30 2 * * *'.")
    if "TZ=" in text.upper():
        raise InputError(f"schedule={expression!r} sets a time zone inside the expression; Kubernetes refuses that. "
                         "Use the time_zone option instead.")
    fields = text.split()
    if len(fields) != 5:
        raise InputError(f"schedule={expression!r} has {len(fields)} fields; a cron expression has five: minute, "
                         "hour, day of month, month and day of week (for example '30 2 * * *').")
    for value, (name, low, high, names) in zip(fields, FIELDS):
        for part in value.split(","):
            _check_field(expression, name, part, low, high, names)
    return text


def _check_field(expression, name, part, low, high, names):
    def number(token):
        token = token.lower()
        if names and token in names:
            return names.index(token) + (1 if name == "month" else 0)
        if not re.match(r"^\d+$", token):
            raise InputError(f"schedule={expression!r}: {token!r} is not a valid {name}.")
        value = int(token)
        if not low <= value <= high:
            raise InputError(f"schedule={expression!r}: {name} {value} is out of range ({low}-{high}).")
        return value

    base, _slash, step = part.partition("/")
    if _slash and (not step.isdigit() or int(step) < 1):
        raise InputError(f"schedule={expression!r}: the step {step!r} in the {name} field must be a positive number.")
    if base in ("*", "?"):
        return
    start, _dash, end = base.partition("-")
    first = number(start)
    if _dash and number(end) < first:
        raise InputError(f"schedule={expression!r}: the {name} range {base!r} runs backwards.")


def check_time_zone(value):
    if value is None:
        return None
    try:
        import zoneinfo  # pylint: disable=import-outside-toplevel
        zoneinfo.ZoneInfo(value)
    except (ValueError, LookupError, OSError) as exc:
        raise InputError(f"time_zone={value!r} is not an IANA time zone; use a name such as 'Europe/Brussels' or "
                         "'Etc/UTC'.") from exc
    return value


def check_resources(resources):
    """Requests and limits are both set, requests within limits, limits within a backup's reasonable size."""
    for section in ("requests", "limits"):
        for kind in ("cpu", "memory"):
            if not (resources.get(section) or {}).get(kind):
                raise InputError(f"resources.{section}.{kind} is not set; a backup Job's requests and limits must "
                                 "both be bounded (for example requests {cpu: 100m, memory: 256Mi}, limits "
                                 "{cpu: '1', memory: 512Mi}).")
    _check_resources("resources", resources)
    for kind, top in MAX_RESOURCES.items():
        if quantity(f"resources.limits.{kind}", resources["limits"][kind], kind == "cpu") > top:
            raise InputError(f"resources.limits.{kind}={resources['limits'][kind]} is above what a backup needs "
                             f"({'4 cores' if kind == 'cpu' else '8Gi'}); the backup streams with bounded memory.")


def namespace_of(params):
    return params["namespace"] or f"odoo-{params['tenant']}"


def labels(params):
    out = {"app.kubernetes.io/name": "odoo", "app.kubernetes.io/instance": params["tenant"],
           "app.kubernetes.io/component": "backup", f"{LABEL}/tenant": params["tenant"]}
    out.update(MANAGED_BY)
    return out


def secret_data(params, mode):
    data = {"PGPASSWORD": params["db_password"] or ""}
    if mode == "connection_string":
        data["AZURE_STORAGE_CONNECTION_STRING"] = params["connection_string"]
    elif mode == "key":
        data["AZURE_STORAGE_KEY"] = params["account_key"]
    return data


def job_arguments(params, mode):
    """What the pod passes to the module: everything but the secrets, which come from the environment."""
    args = {"action": "run", "prune": True, "tenant": params["tenant"], "database": params["database"],
            "container": params["container"], "odoo_version": params["odoo_version"],
            "filestore_path": f"/var/lib/odoo/filestore/{params['database']}",
            "filestore_compression": params["filestore_compression"],
            "keep_daily": params["keep_daily"], "keep_weekly": params["keep_weekly"],
            "keep_monthly": params["keep_monthly"], "incomplete_grace_hours": params["incomplete_grace_hours"],
            "login_host": params["db_host"] or params["login_host"], "login_port": params["login_port"],
            "login_user": params["db_user"] or params["database"], "maintenance_db": params["database"],
            "ssl_mode": params["ssl_mode"], "auth_mode": mode}
    for key in ("account_name", "account_url", "tenant_id", "client_id", "authority"):
        if params.get(key):
            args[key] = params[key]
    return args


def render(params, mode):
    """The Secret and the CronJob of one tenant's scheduled backup, as plain data."""
    ns = namespace_of(params)
    lab = labels(params)
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": NAME, "namespace": ns, "labels": dict(lab)},
              "stringData": secret_data(params, mode)}
    env = [{"name": key, "valueFrom": {"secretKeyRef": {"name": NAME, "key": key}}}
           for key in sorted(secret["stringData"])]
    env += [{"name": "HOME", "value": "/tmp"}, {"name": "ANSIBLE_LOCAL_TEMP", "value": "/tmp/.ansible"}]
    security = {"runAsNonRoot": True, "runAsUser": ODOO_UID, "runAsGroup": ODOO_UID,
                "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    command = ["ansible", "localhost", "--connection", "local", "--inventory", "localhost,",
               "--module-name", "odoo_saas.platform.backup_policy",
               "--args", json.dumps(job_arguments(params, mode), sort_keys=True)]
    filestore = {"name": "filestore", "persistentVolumeClaim": {"claimName": "odoo-filestore", "readOnly": True}} \
        if params["filestore_claim"] else {"name": "filestore", "emptyDir": {}}
    pod = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "nodeSelector": {"kubernetes.azure.com/agentpool": params["node_pool"]},
        "containers": [{
            "name": "backup", "image": params["image"], "imagePullPolicy": "IfNotPresent",
            "command": command, "env": env, "resources": params["resources"], "securityContext": security,
            "volumeMounts": [{"name": "filestore", "mountPath": "/var/lib/odoo", "readOnly": True},
                             {"name": "tmp", "mountPath": "/tmp"}]}],
        "volumes": [filestore, {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
    }
    pod_labels = dict(lab)
    if mode == "entra":
        # Entra ID in the cluster: AKS workload identity, through the service account's federated credential.
        pod["serviceAccountName"] = params["service_account"]
        pod["automountServiceAccountToken"] = True
        pod_labels["azure.workload.identity/use"] = "true"
    spec = {"schedule": params["schedule"], "concurrencyPolicy": "Forbid", "suspend": False,
            "startingDeadlineSeconds": params["starting_deadline_seconds"],
            "successfulJobsHistoryLimit": params["successful_jobs_history_limit"],
            "failedJobsHistoryLimit": params["failed_jobs_history_limit"],
            "jobTemplate": {"metadata": {"labels": dict(lab)}, "spec": {
                "backoffLimit": 1, "activeDeadlineSeconds": params["active_deadline_seconds"],
                "template": {"metadata": {"labels": pod_labels}, "spec": pod}}}}
    if params["time_zone"]:
        spec["timeZone"] = params["time_zone"]
    cronjob = {"apiVersion": "batch/v1", "kind": "CronJob",
               "metadata": {"name": NAME, "namespace": ns, "labels": dict(lab)}, "spec": spec}
    return [secret, cronjob]


def validate(params, mode):
    """The schedule's own input, checked before anything is written."""
    if params["state"] == "absent":
        return
    if not params["database"]:
        raise InputError("action=schedule needs database: the tenant's database, which the CronJob dumps.")
    check_cron(params["schedule"])
    check_time_zone(params["time_zone"])
    check_resources(params["resources"])
    if not params["image"]:
        raise InputError("image is not set: the backup CronJob runs this collection's backup_policy module, so it "
                         "needs an image with ansible-core, the odoo_saas.platform collection, its Python "
                         "requirements and PostgreSQL client tools (for example an execution environment image).")
    if params["db_password"] is None:
        raise InputError("db_password is not set: the CronJob connects as the tenant's role (db_user) with this "
                         "password, kept in the Secret odoo-backup.")
    if mode == "entra" and not params["service_account"]:
        raise InputError("auth_mode=entra in the cluster needs service_account: a service account federated with "
                         "an Entra identity (AKS workload identity) that may write to the container.")
    for option in ("starting_deadline_seconds", "active_deadline_seconds"):
        if params[option] < 1:
            raise InputError(f"{option}={params[option]} must be at least 1 second.")
    for option in ("successful_jobs_history_limit", "failed_jobs_history_limit"):
        if params[option] < 0:
            raise InputError(f"{option}={params[option]} is negative; use 0 or more.")


def converge(params, mode, check_mode, diff):
    """Apply (or delete) the Secret and the CronJob; only what differs is written."""
    ns = namespace_of(params)
    with Client(params["kubernetes"]) as client:
        conv = Converger(client, check_mode)
        if params["state"] == "absent":
            for kind in ("CronJob", "Secret"):
                if client.get(kind, NAME, ns) is not None:  # read first: a no-op removal sends no write
                    conv.delete(kind, NAME, ns)
            return converge_result(conv, client, diff, cronjob={"name": NAME, "namespace": ns, "exists": False})
        secret, cronjob = render(params, mode)
        if client.get("Namespace", ns) is None:
            if not check_mode:
                raise InputError(f"namespace {ns!r} does not exist; create the tenant with odoo_tenant first, or set "
                                 "namespace. Nothing was written.")
            # Check mode, before odoo_tenant has created the namespace: nothing to dry-run against.
            conv.would_create(secret)
            conv.would_create(cronjob)
            return converge_result(conv, client, diff, cronjob={"name": NAME, "namespace": ns, "exists": False})
        conv.converge(secret)
        live = conv.converge(cronjob)
        spec = live.get("spec", {})
        facts = {"name": NAME, "namespace": ns, "exists": True, "schedule": spec.get("schedule"),
                 "time_zone": spec.get("timeZone"), "concurrency_policy": spec.get("concurrencyPolicy"),
                 "last_schedule_time": live.get("status", {}).get("lastScheduleTime")}
        return converge_result(conv, client, diff, cronjob=facts)
