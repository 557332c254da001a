"""The generic mechanics of ARM resources, shared by every resource provider of the emulator.

A `Kind` describes one resource type (a tracked resource such as a managed cluster, or a child resource
such as an agent pool). Its `dispatch` serves GET, PUT, PATCH and DELETE the way ARM does:

- the subscription, then the resource group (404 `ResourceGroupNotFound`), then the parent resource
  (404 `ResourceNotFound`) must exist;
- every write gets a new etag; `If-Match` (an etag or `*`) and `If-None-Match: *` are honoured, with
  412 `PreconditionFailed` otherwise;
- a write stores the resource in its transitional state (Creating, Updating, Deleting) and starts an
  asynchronous operation, announced through `Azure-AsyncOperation` (and `Location` for 202 answers);
  when the operation completes, the provider's side effects run, then the state becomes final
  (Succeeded, or Failed when a side effect failed);
- a DELETE of a missing resource answers 204, as ARM resource providers do.

Providers subclass `Kind` and supply the request validation (`build`, `patch`, `check_delete`), the side
effects (`completed`; delete side effects are `providers.DELETE_HOOKS`, which also run when a resource
group is deleted) and the response view. Stored resources keep emulator-only fields under keys starting with `_`
(the etag, the pending operation); `view` strips them.
"""

import copy
import re
import urllib.parse
import uuid

from arm.errors import ArmError
from arm.validate import BodyError, validate

RETRY_AFTER = "1"  # azure-core reads 0 as "no hint" and then waits its default 30 s; 1 keeps tests fast


class Request:
    """One ARM request, as the HTTP core parsed it."""

    def __init__(self, emu, method, match, body, query, headers):
        self.emu = emu
        self.method = method
        self.match = match
        self.body = body
        self.query = query
        self.headers = headers or {}
        self.transient = {}  # data for the operation's side effects that must not be stored (passwords)

    @property
    def api_version(self):
        return self.query.get("api-version", "")

    def header(self, name):
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


class Ids:
    """The ids a request addresses: its subscription, resource group, resource, and top-level resource."""

    def __init__(self, sub, rg, rg_id, top_id, resource_id, names):
        self.sub, self.rg, self.rg_id = sub, rg, rg_id
        self.top_id, self.id, self.names = top_id, resource_id, names

    @property
    def name(self):
        return self.names[-1]


def new_etag():
    return str(uuid.uuid4())


def _etag_values(header):
    values = []
    for item in header.split(","):
        item = item.strip()
        if item.startswith("W/"):
            item = item[2:]
        if item:
            values.append(item.strip('"'))
    return values


def check_preconditions(if_match, if_none_match, etag):
    """`etag` is the resource's current etag, or None when it does not exist."""
    if if_match:
        values = _etag_values(if_match)
        if etag is None or ("*" not in values and etag not in values):
            raise ArmError(412, "PreconditionFailed",
                           f"The condition specified using HTTP conditional header(s) is not met: If-Match "
                           f"'{if_match}' does not match the current etag "
                           f"{'(the resource does not exist)' if etag is None else repr(etag)}.")
    if if_none_match:
        values = _etag_values(if_none_match)
        if etag is not None and ("*" in values or etag in values):
            raise ArmError(412, "PreconditionFailed",
                           f"The condition specified using HTTP conditional header(s) is not met: If-None-Match "
                           f"'{if_none_match}' but the resource exists with etag '{etag}'.")


def check_body(model_cls, body, require=True):
    """The SDK model check: 400 InvalidRequestContent when the body does not deserialise."""
    try:
        validate(model_cls, body, require=require)
    except BodyError as exc:
        raise ArmError(400, "InvalidRequestContent",
                       f"The request content was invalid and could not be deserialized: {exc}") from exc


def merge_patch(target, patch):
    """RFC 7396 JSON merge patch, as ARM applies PATCH bodies."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def get_path(data, dotted, default=None):
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return default
        data = data[part]
    return data


class Kind:
    """One ARM resource type. Subclasses fill in the class attributes and override the hooks."""

    provider = ""                   # "Microsoft.ContainerService"
    segments = ()                   # ("managedClusters",) or ("managedClusters", "agentPools")
    type_name = ""                  # the `type` ARM returns
    etag_field = None               # "eTag" (top level), "properties.eTag", or None (ETag header only)
    state_field = "provisioningState"   # under properties; None for resources without a state
    states = {"create": "Creating", "update": "Updating", "delete": "Deleting", "done": "Succeeded",
              "failed": "Failed"}
    status_segment = "operations"   # AKS: .../locations/<loc>/operations/<id>; PostgreSQL: azureAsyncOperation
    result_segment = "operationresults"
    put_create_status, put_update_status, patch_status = 201, 200, 200
    creatable = deletable = patchable = True
    delay = 0.3
    parent = None                   # the parent Kind, for child resources

    # ------------------------------------------------------------------ routes
    def routes(self):
        """(regex, handler) pairs for this kind's item and list URLs."""
        prov = re.escape(self.provider)
        base = r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/" + prov
        item = base
        for index, segment in enumerate(self.segments):
            item += f"/{re.escape(segment)}/(?P<n{index}>[^/]+)"
        routes = [(re.compile(item + "$", re.I), self._item_handler)]
        list_path = item[: item.rfind("/(?P<n")]
        routes.append((re.compile(list_path + "$", re.I), self._list_handler))
        if len(self.segments) == 1:
            sub_list = r"^/subscriptions/(?P<sub>[^/]+)/providers/" + prov + "/" + re.escape(self.segments[0]) + "$"
            routes.append((re.compile(sub_list, re.I), self._list_handler))
        return routes

    def _item_handler(self, emu, method, match, body, query, headers=None):
        return self.dispatch(Request(emu, method, match, body, query, headers))

    def _list_handler(self, emu, method, match, body, query, headers=None):
        req = Request(emu, method, match, body, query, headers)
        if method != "GET":
            raise ArmError(405, "MethodNotAllowed", f"The method {method} is not allowed on a collection.")
        groups = match.groupdict()
        emu.require_subscription(groups["sub"])
        if "rg" not in groups or groups["rg"] is None:
            prefix = f"/subscriptions/{groups['sub']}/resourcegroups/".lower()
            suffix = re.compile(r"^[^/]+/providers/" + re.escape(self.provider.lower()) + "/" +
                                re.escape(self.segments[0].lower()) + "/[^/]+$")
            with emu.store.lock:
                items = [r for k, r in sorted(emu.store.resources.items())
                         if k.startswith(prefix) and suffix.match(k[len(prefix):])]
        else:
            ids = self.resolve(req)
            parent = ids.top_id if len(self.segments) > 1 else ids.rg_id + "/providers/" + self.provider
            items = emu.store.children(parent, self.segments[-1])
        return 200, {"value": [self.view(emu, r) for r in items]}, {}

    # -------------------------------------------------------------------- ids
    def resolve(self, req):
        """Check that the subscription, resource group and parent exist; return the request's Ids."""
        groups = req.match.groupdict()
        emu = req.emu
        sub, rg = groups["sub"], urllib.parse.unquote(groups["rg"])
        emu.require_subscription(sub)
        rg_stored = emu.store.get(f"/subscriptions/{sub}/resourceGroups/{rg}")
        if rg_stored is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        rg_id = rg_stored["id"]
        wanted = [urllib.parse.unquote(groups[f"n{i}"]) for i in range(len(self.segments))
                  if groups.get(f"n{i}") is not None]
        top_id = None
        resource_id = None
        if wanted:
            top_id = f"{rg_id}/providers/{self.provider}/{self.segments[0]}/{wanted[0]}"
            top = emu.store.get(top_id)
            if top is not None:
                top_id = top["id"]
            elif len(self.segments) > 1:
                raise self.not_found(rg, self.provider + "/" + self.segments[0] + "/" + wanted[0])
            resource_id = top_id
            if len(wanted) > 1:
                resource_id = f"{top_id}/{self.segments[1]}/{wanted[1]}"
                stored = emu.store.get(resource_id)
                if stored is not None:
                    resource_id = stored["id"]
        return Ids(sub, rg, rg_id, top_id, resource_id, wanted)

    @staticmethod
    def not_found(rg, typed_name):
        return ArmError(404, "ResourceNotFound",
                        f"The Resource '{typed_name}' under resource group '{rg}' was not found. For more "
                        "details please go to https://aka.ms/ARMResourceNotFoundFix")

    def typed_name(self, ids):
        parts = [self.provider]
        for segment, name in zip(self.segments, ids.names):
            parts += [segment, name]
        return "/".join([parts[0] + "/" + parts[1]] + parts[2:])

    # ------------------------------------------------------------ the methods
    def dispatch(self, req):
        ids = self.resolve(req)
        emu = req.emu
        if req.method == "GET":
            current = emu.store.get(ids.id)
            if current is None:
                raise self.not_found(ids.rg, self.typed_name(ids))
            return 200, self.view(emu, current), self.etag_headers(current)
        if req.method == "PUT":
            return self.write(req, ids, patch=False)
        if req.method == "PATCH" and self.patchable:
            return self.write(req, ids, patch=True)
        if req.method == "DELETE" and self.deletable:
            return self.delete(req, ids)
        raise ArmError(405, "MethodNotAllowed", f"The method {req.method} is not allowed for {self.type_name}.")

    def write(self, req, ids, patch):
        emu = req.emu
        with emu.lock:
            emu.settle(ids.top_id)
            current = emu.store.get(ids.id)
            check_preconditions(req.header("If-Match"), req.header("If-None-Match"),
                                current.get("_etag") if current else None)
            if current is None and (patch or not self.creatable):
                raise self.not_found(ids.rg, self.typed_name(ids))
            if not isinstance(req.body, dict):
                raise ArmError(400, "InvalidRequestContent", "The request content must be a JSON object.")
            previous = copy.deepcopy(current)
            resource = self.patch(req, ids, current, req.body) if patch else self.build(req, ids, current, req.body)
            resource["_etag"] = new_etag()
            self.set_state(resource, "create" if current is None else "update")
            op_id = str(uuid.uuid4())
            resource["_op"] = op_id
            emu.store.put(ids.id, resource)
            transient = req.transient

            def finish():
                stored = emu.store.get(ids.id)
                if stored is None or stored.get("_op") != op_id:
                    return
                try:
                    self.completed(emu, stored, previous, transient)
                except Exception:
                    self.set_state(stored, "failed")
                    emu.store.put(ids.id, stored)
                    raise
                self.set_state(stored, "done")
                stored.pop("_op", None)
                emu.store.put(ids.id, stored)

            emu.start_operation(ids.id, finish, delay=self.delay, op_id=op_id)
            if patch:
                status = self.patch_status
            else:
                status = self.put_create_status if current is None else self.put_update_status
            headers = dict(self.etag_headers(resource), **self.operation_headers(req, ids, op_id, status == 202))
            return status, self.view(emu, resource), headers

    def delete(self, req, ids):
        emu = req.emu
        with emu.lock:
            emu.settle(ids.top_id)
            current = emu.store.get(ids.id)
            check_preconditions(req.header("If-Match"), None, current.get("_etag") if current else None)
            if current is None:
                return 204, None, {}
            self.check_delete(req, ids, current)
            self.set_state(current, "delete")
            op_id = str(uuid.uuid4())
            current["_op"] = op_id
            emu.store.put(ids.id, current)

            def finish():
                stored = emu.store.get(ids.id)
                if stored is None:
                    return
                try:
                    emu.delete_tree(ids.id)  # runs the providers' DELETE_HOOKS first
                except Exception:
                    self.set_state(stored, "failed")
                    emu.store.put(ids.id, stored)
                    raise

            emu.start_operation(ids.id, finish, delay=self.delay, op_id=op_id)
            return 202, None, self.operation_headers(req, ids, op_id, True)

    # ----------------------------------------------------------------- helpers
    def set_state(self, resource, step):
        if self.state_field:
            resource.setdefault("properties", {})[self.state_field] = self.states[step]

    def etag_headers(self, resource):
        return {"ETag": f'"{resource["_etag"]}"'} if resource.get("_etag") else {}

    def location_of(self, emu, ids):
        top = emu.store.get(ids.top_id)
        return (top or {}).get("location", "westeurope")

    def operation_headers(self, req, ids, op_id, with_location):
        emu = req.emu
        base = f"{emu.base_url}/subscriptions/{ids.sub}/providers/{self.provider}/locations/" \
               f"{self.location_of(emu, ids)}"
        query = f"?api-version={urllib.parse.quote(req.api_version)}"
        headers = {"Azure-AsyncOperation": f"{base}/{self.status_segment}/{op_id}{query}",
                   "Retry-After": RETRY_AFTER}
        if with_location:
            headers["Location"] = f"{base}/{self.result_segment}/{op_id}{query}"
        return headers

    def view(self, emu, resource):
        """The resource as GET returns it: internal fields stripped, the etag where the API puts it."""
        result = {k: copy.deepcopy(v) for k, v in resource.items() if not k.startswith("_")}
        etag = resource.get("_etag")
        if etag and self.etag_field == "eTag":
            result["eTag"] = etag
        elif etag and self.etag_field == "properties.eTag":
            result.setdefault("properties", {})["eTag"] = etag
        return result

    # ------------------------------------------------------------------- hooks
    def build(self, req, ids, current, body):
        """Validate a PUT body and return the resource to store (current is None on create)."""
        raise NotImplementedError

    def patch(self, req, ids, current, body):
        """Validate a PATCH body and return the resource to store."""
        raise ArmError(405, "MethodNotAllowed", f"PATCH is not supported for {self.type_name}.")

    def check_delete(self, req, ids, current):
        """Raise ArmError to refuse a DELETE."""

    def completed(self, emu, resource, previous, transient):
        """Side effects of a finished PUT/PATCH (runs when the operation completes)."""
