"""The emulator's resource providers. Each module exposes `routes()` and `DELETE_HOOKS`."""

from arm.providers import aks, postgres

DELETE_HOOKS = dict(aks.DELETE_HOOKS, **postgres.DELETE_HOOKS)


def routes():
    return aks.routes() + postgres.routes()
