"""A resource group: the container every environment's AKS cluster and PostgreSQL server live in."""

import re

from ._azure import arm_errors, begin, check_tags, fetch, merged_tags
from ._common import InputError

NAME = re.compile(r"^[-\w.()]{1,89}[-\w()]$")


def validate(params):
    if not NAME.match(params["name"] or ""):
        raise InputError(f"name={params['name']!r} is not a resource group name: 1-90 letters, digits, underscores, "
                         "hyphens, periods and parentheses, not ending in a period.")
    check_tags(params.get("tags"))


def view(group):
    if group is None:
        return None
    return {"name": group["name"], "location": group["location"], "tags": dict(group.get("tags") or {}),
            "provisioning_state": (group.get("properties") or {}).get("provisioning_state")}


class GroupRunner:
    """Reads the group; creates it, replaces its tags, or deletes it."""

    def __init__(self, session, params, check_mode):
        self.params = params
        self.check_mode = check_mode
        self.groups = session.resources().resource_groups
        self.rid = f"/subscriptions/{session.subscription_id}/resourceGroups/{params['name']}"
        self.actions = []
        self.pending = []

    def run(self):
        name = self.params["name"]
        current = fetch(lambda: self.groups.get(name), self.rid)
        before = view(current)
        if self.params["state"] == "absent":
            if current is None:
                return {"changed": False, "facts": None, "diff": {"before": None, "after": None}}
            self.actions.append("delete resource group")
            if not self.check_mode:
                begin(lambda: self.groups.begin_delete(name), "DELETE", self.rid) \
                    .finish(self.params["wait"], self.params["wait_timeout"])
            return {"changed": True, "facts": None, "diff": {"before": before, "after": None}}
        location = self.params.get("location")
        if current is None and not location:
            raise InputError(f"location is required to create the resource group {name}.")
        if current is not None and location and location.replace(" ", "").lower() != current["location"].lower():
            raise InputError(f"the resource group {name} is in {current['location']}, not {location}; a group "
                             f"cannot move. Use location={current['location']!r} or another group name.")
        tags = merged_tags(before["tags"] if before else {}, self.params.get("tags"), self.params["purge_tags"])
        after = {"name": name, "location": current["location"] if current else location, "tags": tags,
                 "provisioning_state": "Succeeded"}
        if current is None:
            self.actions.append("create resource group")
        elif tags != before["tags"]:
            self.actions.append("set tags")
        facts = before
        if self.actions and not self.check_mode:
            with arm_errors("PUT", self.rid):
                written = self.groups.create_or_update(name, {"location": after["location"], "tags": tags})
            facts = view(written.as_dict())
        elif self.actions:
            facts = after
        return {"changed": bool(self.actions), "facts": facts, "diff": {"before": before, "after": after}}
