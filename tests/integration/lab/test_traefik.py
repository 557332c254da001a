"""Traefik runs its kubernetescrd provider against the lab apiserver: its CRDs validate, and its API
shows the routers that the cluster's IngressRoutes define."""

import json
import urllib.request

import pytest
from kubernetes import client

from integration.helpers import wait_for

GROUP, VERSION = "traefik.io", "v1alpha1"


def _ingressroute(name, host, kind="Rule"):
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "IngressRoute", "metadata": {"name": name},
        "spec": {"entryPoints": ["websecure"],
                 "routes": [{"match": f"Host(`{host}`)", "kind": kind,
                             "services": [{"name": "odoo", "port": 8069}]}]},
    }


def _traefik(lab, path):
    with urllib.request.urlopen(lab["traefik"]["api"] + path, timeout=5) as response:
        return json.load(response)


def test_invalid_ingressroute_is_rejected_by_the_crd_schema(kube, namespace):
    custom = client.CustomObjectsApi(kube)
    with pytest.raises(client.ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "ingressroutes",
                                               _ingressroute("bad", "bad.example.test", kind="Bogus"))
    assert caught.value.status == 422
    assert "spec.routes[0].kind" in caught.value.body and "Unsupported value" in caught.value.body
    bad_port = _ingressroute("bad2", "bad2.example.test")
    bad_port["spec"]["routes"][0]["services"][0]["port"] = {"not": "a port"}
    with pytest.raises(client.ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "ingressroutes", bad_port)
    assert caught.value.status == 422


def test_valid_ingressroute_becomes_an_enabled_router_in_traefik(kube, namespace, lab):
    core = client.CoreV1Api(kube)
    client.AppsV1Api(kube).create_namespaced_deployment(namespace, {
        "metadata": {"name": "odoo"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "odoo"}},
                 "template": {"metadata": {"labels": {"app": "odoo"}}, "spec": {
                     "nodeSelector": {"kubernetes.azure.com/agentpool": "web"},
                     "containers": [{"name": "odoo", "image": "registry.invalid/odoo:17.0",
                                     "ports": [{"containerPort": 8069}]}]}}},
    })
    core.create_namespaced_service(namespace, {
        "metadata": {"name": "odoo"},
        "spec": {"selector": {"app": "odoo"}, "ports": [{"name": "http", "port": 8069, "targetPort": 8069}]},
    })
    host = f"{namespace}.example.test"
    client.CustomObjectsApi(kube).create_namespaced_custom_object(GROUP, VERSION, namespace, "ingressroutes",
                                                                  _ingressroute("odoo", host))

    def router():
        for item in _traefik(lab, "/api/http/routers"):
            if item.get("rule") == f"Host(`{host}`)":
                return item
        return None

    found = wait_for(router, timeout=60, what=f"Traefik to report a router for {host}")
    assert found["status"] == "enabled", found
    assert found["provider"] == "kubernetescrd"
    assert "error" not in found
    service = _traefik(lab, f"/api/http/services/{found['service']}@kubernetescrd")
    assert service["status"] == "enabled" and "error" not in service
    # Which pod IPs Traefik balances onto depends on the EndpointSlice controller, which in this lab is at
    # times slow to publish a new pod (see the README); that is not what this test proves.
