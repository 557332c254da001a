"""The emulator's resource store: ARM resources by id, persisted to one JSON file.

Resource ids are case-insensitive in ARM, so keys are lower-cased ids while each stored
resource keeps the casing it was created with.
"""

import json
import os
import threading


class Store:
    def __init__(self, path):
        self.path = path
        self.lock = threading.RLock()
        self.resources = {}
        self.operations = {}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            self.resources = data.get("resources", {})

    def _save(self):
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"resources": self.resources}, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def get(self, resource_id):
        with self.lock:
            return self.resources.get(resource_id.lower())

    def put(self, resource_id, resource):
        with self.lock:
            self.resources[resource_id.lower()] = resource
            self._save()

    def delete_tree(self, resource_id):
        """Delete a resource and everything below it (a resource group takes its resources along)."""
        prefix = resource_id.lower()
        with self.lock:
            doomed = [key for key in self.resources if key == prefix or key.startswith(prefix + "/")]
            for key in doomed:
                del self.resources[key]
            self._save()
            return doomed

    def children(self, parent_id, type_segment):
        """Resources directly under parent_id whose id continues with `/<type_segment>/<name>`."""
        prefix = (parent_id.rstrip("/") + "/" + type_segment + "/").lower()
        with self.lock:
            return [value for key, value in sorted(self.resources.items())
                    if key.startswith(prefix) and "/" not in key[len(prefix):]]
