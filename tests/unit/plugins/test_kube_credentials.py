"""_kube.Credentials: which source of credentials wins, and how a token file is read (no API server needed)."""

import json
import os

import pytest

from ansible_collections.odoo_saas.platform.plugins.module_utils import _kube
from ansible_collections.odoo_saas.platform.plugins.module_utils._common import OdooSaasError


@pytest.fixture
def pod(tmp_path, monkeypatch):
    """An empty HOME, no kubeconfig variables, and a service-account folder with a token, outside any cluster."""
    folder = tmp_path / "serviceaccount"
    folder.mkdir()
    (folder / "token").write_text("sa-token\n")
    monkeypatch.setattr(_kube, "SERVICE_ACCOUNT_DIR", str(folder))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    return folder


def kubeconfig(path, server, **user):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"clusters": [{"name": "c", "cluster": {"server": server}}],
                   "users": [{"name": "u", "user": user}],
                   "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                   "current-context": "x"}, handle)
    return path


def test_in_cluster_credentials_come_last(pod, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    creds = _kube.Credentials({})
    assert (creds.server, creds.token, creds.ca_file) == ("https://10.0.0.1:443", "sa-token", str(pod / "ca.crt"))

    home = kubeconfig(str(tmp_path / "home" / ".kube" / "config"), "https://home:6443", token="home-token")
    assert _kube.Credentials({}).server == "https://home:6443"  # ~/.kube/config before in-cluster, as client-go
    option = kubeconfig(str(tmp_path / "option.kubeconfig"), "https://option:6443", token="option-token")
    assert _kube.Credentials({"kubeconfig": option}).token == "option-token"
    by_host = _kube.Credentials({"kubeconfig": home, "host": "https://host:6443", "api_key": "key"})
    assert (by_host.server, by_host.token) == ("https://host:6443", "key")


def test_in_cluster_ipv6_host_and_default_port(pod, monkeypatch):
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    assert _kube.Credentials({}).server == "https://[fd00::1]:443"


def test_in_cluster_without_a_token_says_what_is_missing(pod, monkeypatch):
    (pod / "token").unlink()
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    with pytest.raises(OdooSaasError, match="in-cluster credentials.*service account token.*cannot be read"):
        _kube.Credentials({})


def test_no_credentials_at_all(pod):
    with pytest.raises(OdooSaasError, match="no Kubernetes credentials"):
        _kube.Credentials({})


def test_a_token_file_is_read_again_when_it_changes(pod, tmp_path):
    token = tmp_path / "token"
    token.write_text("first\n")
    creds = _kube.Credentials({"kubeconfig": kubeconfig(str(tmp_path / "k"), "https://s:6443", tokenFile="token")})
    assert creds.token == "first"
    token.with_name("token.new").write_text("second, longer\n")
    os.replace(token.with_name("token.new"), token)  # how the kubelet swaps a projected token
    assert creds.token == "second, longer"
    token.unlink()  # gone for a moment during a swap: the token read last stays in use
    assert creds.token == "second, longer"


def test_a_given_token_replaces_the_token_file(pod, monkeypatch):
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    creds = _kube.Credentials({})
    creds.token = "entra"
    (pod / "token").write_text("rotated")
    assert creds.token == "entra" and creds.token_file is None


def test_context_picks_another_than_the_current_one(pod, tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "clusters": [{"name": "prod", "cluster": {"server": "https://prod:443"}},
                     {"name": "lab", "cluster": {"server": "https://lab:6443"}}],
        "users": [{"name": "p", "user": {"token": "prod-token"}}, {"name": "l", "user": {"token": "lab-token"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "p"}},
                     {"name": "lab", "context": {"cluster": "lab", "user": "l"}}],
        "current-context": "prod"}))
    current = _kube.Credentials({"kubeconfig": str(path)})
    assert (current.server, current.token) == ("https://prod:443", "prod-token")
    chosen = _kube.Credentials({"kubeconfig": str(path), "context": "lab"})
    assert (chosen.server, chosen.token) == ("https://lab:6443", "lab-token")
    with pytest.raises(OdooSaasError, match=r"context='staging' is not in kubeconfig .*; it has lab, prod\."):
        _kube.Credentials({"kubeconfig": str(path), "context": "staging"})
