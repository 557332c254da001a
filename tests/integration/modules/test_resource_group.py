"""resource_group against the lab's ARM emulator: check mode, the real run, an independent GET, a second run with no
write, a tag change, bad input refused before any write, and state=absent."""

import uuid

from integration.ansible_task import run_task
from integration.arm import emulator, module_args  # noqa: F401  pylint: disable=unused-import

API = "2021-04-01"


def test_lifecycle(lab, emulator):  # noqa: F811  pylint: disable=redefined-outer-name
    name = f"rg-mod-{uuid.uuid4().hex[:8]}"
    rid = f"/subscriptions/{lab['arm']['subscription_id']}/resourceGroups/{name}"
    args = dict(module_args(lab), name=name, location="westeurope", tags={"environment": "shared"})
    try:
        planned = run_task("resource_group", args, check=True, diff=True)
        assert planned["changed"] and planned["actions"] == ["create resource group"], planned
        assert planned["diff"]["before"] is None and planned["diff"]["after"]["tags"] == {"environment": "shared"}
        assert emulator.get(rid, API)[0] == 404 and emulator.writes(name) == []

        created = run_task("resource_group", args, verbosity=3)
        assert created["changed"] and created["resource_group"]["location"] == "westeurope", created
        assert lab["arm"]["client_secret"] not in created.output
        assert "AnsiballZ_resource_group.py" not in created.output  # run in the worker (plugin_utils/_in_process.py)
        status, body = emulator.get(rid, API)
        assert status == 200 and body["tags"] == {"environment": "shared"}
        assert body["properties"]["provisioningState"] == "Succeeded"

        # As a module process too, as on a host that is not this controller with its Python.
        writes = len(emulator.writes(name))
        again = run_task("resource_group", args, verbosity=3, via="module")
        assert again["changed"] is False and again["actions"] == [] and len(emulator.writes(name)) == writes
        assert "AnsiballZ_resource_group.py" in again.output and lab["arm"]["client_secret"] not in again.output

        retagged = run_task("resource_group", dict(args, tags={"environment": "shared", "owner": "platform"}),
                            diff=True)
        assert retagged["changed"] and retagged["actions"] == ["set tags"]
        assert emulator.get(rid, API)[1]["tags"] == {"environment": "shared", "owner": "platform"}

        writes = len(emulator.writes(name))
        moved = run_task("resource_group", dict(args, location="northeurope"))
        assert moved["failed"] and "cannot move" in moved["msg"] and "northeurope" in moved["msg"]
        bad = run_task("resource_group", dict(args, name="bad/name."))
        assert bad["failed"] and "is not a resource group name" in bad["msg"]
        missing = run_task("resource_group", dict(args, name=f"rg-new-{uuid.uuid4().hex[:6]}", location=None))
        assert missing["failed"] and "location is required" in missing["msg"]
        assert len(emulator.writes(name)) == writes

        planned_removal = run_task("resource_group", dict(args, state="absent"), check=True)
        assert planned_removal["changed"] and emulator.get(rid, API)[0] == 200
        removed = run_task("resource_group", dict(args, state="absent"))
        assert removed["changed"] and emulator.get(rid, API)[0] == 404
        assert run_task("resource_group", dict(args, state="absent"))["changed"] is False
    finally:
        run_task("resource_group", dict(args, state="absent"))
