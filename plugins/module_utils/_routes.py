# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner of traefik_route: host-claim checks, then the routes and middlewares.

Each route carries one label per host it claims (a hash of the host name), so that finding who
else claims a host is one indexed LIST per host, however many tenants the cluster holds.
"""

from __future__ import annotations

import hashlib

from . import _kube, _odoo
from ._common import InputError

HOST_LABEL_PREFIX = "host.odoo-saas.platform/"


def host_label(host):
    return HOST_LABEL_PREFIX + hashlib.sha256(host.encode()).hexdigest()[:20]


class RouteRunner:
    def __init__(self, client, params, check_mode):
        self.client = client
        self.p = params
        self.check_mode = check_mode
        self.conv = _kube.Converger(client, check_mode)
        self.ns = _odoo.namespace_name(params)

    def _validate(self):
        _odoo.check_dns_label("name", self.p["name"])
        version, _facts = _odoo.version_facts(self.p["odoo_version"])
        if self.p["state"] == "present":
            _odoo.check_hosts(self.p["hosts"], self.p["allow_wildcard"])
            for option in ("average", "burst"):
                if self.p["rate_limit"][option] < 1:
                    raise InputError(f"rate_limit.{option}={self.p['rate_limit'][option]} must be at least 1.")
            if self.p["max_body_bytes"] < 1024:
                raise InputError(f"max_body_bytes={self.p['max_body_bytes']} is too small for Odoo's requests; "
                                 "give at least 1024.")
        return version

    def _claims(self):
        """Refuse hosts claimed by another tenant's route, before anything is written."""
        mine = self.p["name"]
        for host in self.p["hosts"]:
            candidates = [host]
            if "." in host and not host.startswith("*."):
                candidates.append("*." + host.split(".", 1)[1])
            for candidate in candidates:
                for route in self.client.list("IngressRoute", label_selector=host_label(candidate)):
                    owner = route["metadata"].get("labels", {}).get(f"{_odoo.LABEL}/tenant")
                    if owner != mine:
                        raise InputError(
                            f"hosts: {host!r} is already claimed by tenant {owner!r} (IngressRoute "
                            f"{route['metadata']['namespace']}/{route['metadata']['name']}). Two tenants must never "
                            "share a host: remove it there first, or pick another host.")
            if host.startswith("*."):
                suffix = host[1:]
                for route in self.client.list("IngressRoute", label_selector="app.kubernetes.io/managed-by="
                                              "odoo_saas.platform"):
                    owner = route["metadata"].get("labels", {}).get(f"{_odoo.LABEL}/tenant")
                    claimed = route["metadata"].get("annotations", {}).get(f"{_odoo.LABEL}/hosts", "").split(",")
                    if owner != mine and any(h.endswith(suffix) for h in claimed if h):
                        raise InputError(f"hosts: {host!r} covers hosts of tenant {owner!r}; refusing the wildcard.")

    def run(self):
        version = self._validate()
        objects = []
        if self.p["state"] == "present":
            self._claims()
            namespace_missing = self.client.get("Namespace", self.ns) is None
            if namespace_missing and not self.check_mode:
                raise InputError(f"namespace {self.ns!r} does not exist: converge the tenant with odoo_tenant first.")
            objects = _odoo.routes(self.p, version)
            for obj in objects:
                if obj["kind"] == "IngressRoute" and obj["metadata"]["name"] == "odoo":
                    for host in self.p["hosts"]:
                        obj["metadata"]["labels"][host_label(host)] = "claimed"
                if namespace_missing:  # check mode, before odoo_tenant has created the namespace
                    self.conv.would_create(obj)
                else:
                    self.conv.converge(obj)
        else:
            for kind, names in (("IngressRoute", ("odoo", "odoo-http")),
                                ("Middleware", ("secure-headers", "compress", "rate-limit", "buffering",
                                                "redirect-https", "block-database-manager"))):
                for name in names:
                    self.conv.delete(kind, name, self.ns)
        return {"namespace": self.ns, "hosts": self.p["hosts"] if self.p["state"] == "present" else [],
                "objects": [f"{o['kind']}/{self.ns}/{o['metadata']['name']}" for o in objects]}
