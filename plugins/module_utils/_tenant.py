# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner of odoo_tenant: the order in which a tenant's objects and Jobs are converged.

Rendering is _odoo's job and talking to the API server is _kube's; this file decides what happens
when: initialise a new database before serving, upgrade with cron stopped and the old version still
serving, suspend, remove.
"""

from __future__ import annotations

import base64

from . import _kube, _odoo
from ._common import InputError, ServiceError, generate_password

VERSION_ANNOTATION = f"{_odoo.LABEL}/odoo-version"
INITIALISED_ANNOTATION = f"{_odoo.LABEL}/initialised-version"


def _workload(deployment):
    if deployment is None:
        return {"exists": False, "replicas": 0, "ready_replicas": 0, "image": None, "odoo_version": None}
    containers = deployment["spec"]["template"]["spec"].get("containers") or [{}]
    return {"exists": True, "replicas": deployment["spec"].get("replicas", 0),
            "ready_replicas": deployment.get("status", {}).get("readyReplicas", 0),
            "image": containers[0].get("image"),
            "odoo_version": deployment["metadata"].get("annotations", {}).get(VERSION_ANNOTATION)}


def read(client, namespace):
    """A tenant as the API server holds it (odoo_tenant_info): its namespace's annotations and version, and its web
    and cron Deployments; nothing is written."""
    live = client.get("Namespace", namespace)
    annotations = (live or {}).get("metadata", {}).get("annotations", {})
    return {"exists": live is not None, "namespace": namespace,
            "version": annotations.get(INITIALISED_ANNOTATION, ""), "annotations": annotations,
            "workloads": {component: _workload(client.get("Deployment", f"odoo-{component}", namespace)
                                               if live else None) for component in ("web", "cron")}}


def _job_failed(job):
    return any(c["type"] == "Failed" and c["status"] == "True" for c in job.get("status", {}).get("conditions", []))


class TenantRunner:
    def __init__(self, client, spec, check_mode):
        self.client = client
        self.spec = spec
        self.check_mode = check_mode
        self.conv = _kube.Converger(client, check_mode)
        self.ns = _odoo.namespace_name(spec)
        self.version = None
        self.jobs = []
        self.would_create = False  # check mode, and the namespace does not exist yet

    # ------------------------------------------------------------- preflight
    def preflight(self):
        self.version = _odoo.validate(self.spec)
        if self.spec["tier"] == "dedicated" and self.spec["state"] != "absent":
            nodes = self.client.list("Node", label_selector=f"kubernetes.azure.com/agentpool={self.spec['node_pool']}")
            if not nodes:
                raise InputError(f"node_pool={self.spec['node_pool']!r} has no nodes in this cluster, so the dedicated "
                                 f"tenant {self.spec['name']!r} could never be scheduled. Create the pool first "
                                 "(aks_cluster), then run again.")
        namespace = self.client.get("Namespace", self.ns)
        if namespace is not None:
            owner = namespace["metadata"].get("labels", {}).get(f"{_odoo.LABEL}/tenant")
            if owner not in (None, self.spec["name"]):
                raise InputError(f"namespace {self.ns!r} belongs to tenant {owner!r}; choose another namespace.")
        return namespace

    def _secret(self):
        live = self.client.get("Secret", "odoo-secrets", self.ns)
        stored = {}
        if live:
            stored = {k: base64.b64decode(v).decode() for k, v in (live.get("data") or {}).items()}
        admin = self.spec["admin_passwd"] or stored.get("admin_passwd") or generate_password(32)
        db_password = self.spec["database"].get("password") or stored.get("db_password") or ""
        redis_password = (self.spec["redis"] or {}).get("password") or stored.get("redis_password") or ""
        return _odoo.secret(self.spec, self.ns, db_password, admin, redis_password), live

    # -------------------------------------------------------------- present
    def present(self, namespace):
        suspended = self.spec["state"] == "suspended"
        deployed_version = None
        initialised = None
        live_web = None
        if namespace is not None:
            initialised = namespace["metadata"].get("annotations", {}).get(INITIALISED_ANNOTATION)
            live_web = self.client.get("Deployment", "odoo-web", self.ns)
            if live_web is not None:
                deployed_version = live_web["metadata"].get("annotations", {}).get(VERSION_ANNOTATION)
        _odoo.check_not_older(initialised, self.version)
        _odoo.check_not_older(deployed_version, self.version)
        upgrade = deployed_version is not None and deployed_version != self.version
        replicas = {"web": 0, "cron": 0} if suspended else None
        objects = _odoo.render(self.spec, self.version, replicas_override=replicas)
        base = [o for o in objects if o["kind"] not in ("Deployment", "HorizontalPodAutoscaler")]
        deployments = [o for o in objects if o["kind"] == "Deployment"]
        hpas = [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
        secret, live_secret = self._secret()
        creating_namespace = namespace is None
        for obj in base[:1]:
            self.conv.converge(obj, live=namespace, fetch=False)
        if creating_namespace and self.check_mode:
            self.would_create = True
            # Nothing exists yet to dry-run against: report what would be created.
            for obj in base[1:] + [secret] + deployments + hpas:
                self.conv.would_create(obj)
            if not suspended and self.spec["init_database"]:
                self.jobs.append({"name": _odoo.job(self.spec, self.version, "init")["metadata"]["name"],
                                  "state": "would run"})
            return
        for obj in base[1:]:
            self.conv.converge(obj)
        self.conv.converge(secret, live=live_secret, fetch=False)
        if not suspended and initialised is None:
            if self.spec["init_database"]:
                self._run_job(_odoo.job(self.spec, self.version, "init"))
            self._annotate_namespace(INITIALISED_ANNOTATION, self.version)
        if hpas and not suspended:
            self._hand_replicas_to_hpa(live_web)
        if upgrade and not suspended:
            self._upgrade(deployments)
        else:
            for obj in deployments:
                if obj["metadata"]["name"] == "odoo-web":
                    self.conv.converge(obj, live=live_web, fetch=False)  # read above already
                else:
                    self.conv.converge(obj)
        if suspended:
            for hpa in hpas:
                self.conv.delete("HorizontalPodAutoscaler", hpa["metadata"]["name"], self.ns)
        else:
            for obj in hpas:
                self.conv.converge(obj)

    def _hand_replicas_to_hpa(self, live_web):
        """The web Deployment's replica count passes to the HPA without a drop to 1.

        Our apply no longer sets it (_odoo.render). Were our apply its only owner, leaving it out would reset it to
        the default of 1 until the HPA raised it again: so an apply under a second field manager first co-owns the
        live count (a suspended tenant's 0 becomes autoscale.min); the HPA's next scaling takes it over from there.
        """
        if live_web is None:
            return
        owned = any(entry.get("manager") == _kube.FIELD_MANAGER and entry.get("operation") == "Apply"
                    and "f:replicas" in entry.get("fieldsV1", {}).get("f:spec", {})
                    for entry in live_web["metadata"].get("managedFields", []))
        if owned:
            # Never below the HPA's minimum: an HPA leaves a Deployment at 0 alone (a tenant resumed from suspended).
            replicas = max(live_web["spec"].get("replicas") or 0, self.spec["autoscale"]["min"])
            body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "odoo-web", "namespace": self.ns},
                    "spec": {"replicas": replicas}}
            self.client.apply(body, dry_run=self.check_mode, field_manager=_kube.FIELD_MANAGER + "-handover")
            self.conv.changed.append(f"Deployment/{self.ns}/odoo-web")

    def _scale(self, name, replicas):
        self.client.patch_merge("Deployment", name, self.ns, {"spec": {"replicas": replicas}},
                                dry_run=self.check_mode)
        self.conv.changed.append(f"Deployment/{self.ns}/{name}")

    def _annotate_namespace(self, key, value):
        body = {"metadata": {"annotations": {key: value}}}
        self.client.patch_merge("Namespace", self.ns, None, body, dry_run=self.check_mode)
        self.conv.changed.append(f"Namespace/{self.ns}:{key}")

    def _run_job(self, job):
        name = job["metadata"]["name"]
        existing = self.client.get("Job", name, self.ns)
        rerun = {}
        if existing is not None and _job_failed(existing):
            # A failed Job of an earlier run (kept a day for its logs) is run again: a re-run after a fix must not
            # find the old failure and give up. Its spec may differ (a fixed image tag), and a Job's template is
            # immutable, so it is deleted and created anew.
            rerun = {"rerun_of_failed": True}
            self.client.delete("Job", name, self.ns, dry_run=self.check_mode)  # listed once, as the Job created
            if not self.check_mode:
                _kube.wait_for(_kube.gone(self.client, "Job", name, self.ns), self.spec["wait_timeout"],
                               f"the failed Job {self.ns}/{name} to be deleted")
            existing = None
        if rerun and self.check_mode:
            self.conv.would_create(job)  # the dry-run delete left it in place; a dry-run apply would change its template
        elif existing is None:
            self.conv.converge(job, fetch=False)
        if self.check_mode:
            self.jobs.append(dict(rerun, name=name, state="would run"))
            return
        state = _kube.wait_for(_kube.job_finished(self.client, name, self.ns), self.spec["wait_timeout"],
                               f"Job {self.ns}/{name}")
        self.jobs.append(dict(state, name=name, **rerun))
        if not state["complete"]:
            raise ServiceError(f"Job {self.ns}/{name} failed ({state}); the tenant keeps its previous state. Read the "
                               f"Job's logs: kubectl -n {self.ns} logs job/{name}", jobs=self.jobs)

    def _upgrade(self, deployments):
        """Cron stops, the upgrade Job runs on the new image, then web rolls and cron comes back."""
        cron = next(o for o in deployments if o["metadata"]["name"] == "odoo-cron")
        web = next(o for o in deployments if o["metadata"]["name"] == "odoo-web")
        live_cron = self.client.get("Deployment", "odoo-cron", self.ns)
        old_replicas = (live_cron or {}).get("spec", {}).get("replicas", self.spec["cron_replicas"])
        # Only the replica count of the running version changes: its image and settings stay as they are.
        self._scale("odoo-cron", 0)
        try:
            self._run_job(_odoo.job(self.spec, self.version, "upgrade", self.spec["upgrade_modules"]))
        except ServiceError:
            self._scale("odoo-cron", old_replicas)  # the old version keeps serving, with its cron
            raise
        self.conv.converge(web)
        if self.spec["wait"] and not self.check_mode:
            _kube.wait_for(_kube.deployment_available(self.client, "odoo-web", self.ns), self.spec["wait_timeout"],
                           f"Deployment {self.ns}/odoo-web to roll to {self.version}")
        self.conv.converge(cron)
        self._annotate_namespace(INITIALISED_ANNOTATION, self.version)

    # --------------------------------------------------------------- absent
    def absent(self, namespace):
        if namespace is None:
            return
        self.conv.delete("Namespace", self.ns)
        if self.spec["wait"] and not self.check_mode:
            _kube.wait_for(_kube.namespace_gone(self.client, self.ns), self.spec["wait_timeout"],
                           f"namespace {self.ns} to be deleted")

    # --------------------------------------------------------------- status
    def status(self):
        if self.spec["state"] == "absent" or self.would_create:
            # Removed, or (in check mode) not created yet.
            return {"namespace": self.ns, "exists": False, "objects": [], "odoo_version": self.version,
                    "jobs": self.jobs}
        if self.spec["wait"] and not self.check_mode and self.spec["state"] == "present":
            # Both: a tenant whose cron is not up yet sends no mail and runs no scheduled action.
            for name in ("odoo-web", "odoo-cron"):
                _kube.wait_for(_kube.deployment_available(self.client, name, self.ns), self.spec["wait_timeout"],
                               f"Deployment {self.ns}/{name} to be Available")
        result = {"namespace": self.ns, "exists": True, "odoo_version": self.version, "jobs": self.jobs,
                  "objects": sorted(self.conv.live)}
        for name in ("odoo-web", "odoo-cron"):
            dep = self.client.get("Deployment", name, self.ns)
            status = (dep or {}).get("status", {})
            result[name.replace("odoo-", "") + "_replicas"] = {
                "desired": (dep or {}).get("spec", {}).get("replicas"), "ready": status.get("readyReplicas", 0)}
            if dep and name == "odoo-web":
                result["image"] = dep["spec"]["template"]["spec"]["containers"][0]["image"]
        return result
