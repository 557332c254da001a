# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that talks to Azure Blob Storage.

- a container client from a connection string, an account name and key, or Entra ID through azure-identity,
  with a custom account URL and CA bundle (sovereign clouds, Azure Stack, or the lab's Azurite over HTTPS);
- a streaming block upload: data is cut into fixed-size blocks, at most `in_flight` of them are being sent
  while the next one fills, and the block list is committed only at the end, so memory stays bounded whatever
  the size, and a failed upload leaves no blob behind (uncommitted blocks expire on their own);
- listing, streaming download and deletion.

Keys and connection strings never appear in an error message or a result.
"""

from __future__ import annotations

import base64
import random
import re
import threading
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import env_fallback

from ._common import InputError, OdooSaasError, ServiceError

# azure-core and azure-storage-blob cost about half a second of CPU to import: they are imported when a BlobStore is
# made (load_sdk), not with this file, which backup_policy action=schedule also imports, once per tenant of a fleet.
# Until then these names are stand-ins, never raised; the except clauses below read them when they run.
BlobServiceClient = None  # pylint: disable=invalid-name


class AzureError(Exception):
    """Stands in until load_sdk() imports azure-core."""


class ResourceExistsError(AzureError):
    """Stands in until load_sdk() imports azure-core."""


class ResourceNotFoundError(AzureError):
    """Stands in until load_sdk() imports azure-core."""


def load_sdk():
    """Import the Azure SDK once and bind its client and error classes to this file's names."""
    global BlobServiceClient, AzureError, ResourceExistsError, ResourceNotFoundError  # pylint: disable=global-statement
    if BlobServiceClient is None:
        try:
            from azure.core import exceptions  # pylint: disable=import-outside-toplevel
            from azure.storage.blob import BlobServiceClient as client  # pylint: disable=import-outside-toplevel
        except ImportError as exc:
            raise OdooSaasError("the azure-storage-blob Python package is required on the controller: "
                                "pip install 'azure-storage-blob>=12.20'") from exc
        AzureError, ResourceExistsError = exceptions.AzureError, exceptions.ResourceExistsError
        ResourceNotFoundError, BlobServiceClient = exceptions.ResourceNotFoundError, client


STORAGE_SCOPE = "https://storage.azure.com/.default"
MIB = 1024 * 1024
CONTAINER = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")


def blob_argument_spec():
    """Blob Storage options shared by the modules that use it; documented in doc_fragments/blob.py."""
    return {
        "auth_mode": {"type": "str", "default": "auto", "choices": ["auto", "connection_string", "key", "entra"]},
        "connection_string": {"type": "str", "no_log": True,
                              "fallback": (env_fallback, ["AZURE_STORAGE_CONNECTION_STRING"])},
        "account_name": {"type": "str", "fallback": (env_fallback, ["AZURE_STORAGE_ACCOUNT"])},
        "account_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["AZURE_STORAGE_KEY"])},
        "account_url": {"type": "str"},
        "tenant_id": {"type": "str", "fallback": (env_fallback, ["AZURE_TENANT_ID", "AZURE_TENANT"])},
        "client_id": {"type": "str", "fallback": (env_fallback, ["AZURE_CLIENT_ID"])},
        "client_secret": {"type": "str", "no_log": True,
                          "fallback": (env_fallback, ["AZURE_CLIENT_SECRET", "AZURE_SECRET"])},
        "authority": {"type": "str", "fallback": (env_fallback, ["AZURE_AUTHORITY_HOST"])},
        "ca_bundle": {"type": "path"},
        "validate_certs": {"type": "bool", "default": True},
        "blob_retries": {"type": "int", "default": 3},
        "blob_retry_backoff": {"type": "float", "default": 12.0},
    }


def doubling_retry(retries, backoff):
    """The storage SDK's retry policy (what it retries, and how it rewinds a block's body), with a backoff that
    scales as a whole: `backoff`, then twice that, then four times, each within +/-20% jitter.

    The SDK's own curve adds 3**n seconds whatever the initial backoff; this one keeps its shape at any scale.
    """
    from azure.storage.blob import ExponentialRetry  # pylint: disable=import-outside-toplevel

    class DoublingRetry(ExponentialRetry):  # pylint: disable=too-few-public-methods
        def get_backoff_time(self, settings):
            # `count` is 1 before the first retry's sleep.
            return self.initial_backoff * 2 ** max(settings["count"] - 1, 0) * random.uniform(0.8, 1.2)

    return DoublingRetry(initial_backoff=backoff, retry_total=retries, retry_connect=retries, retry_read=retries,
                         retry_status=retries, random_jitter_range=0)


def check_retries(params):
    """Refuses a retry setting the SDK would misread, before anything is written."""
    if params.get("blob_retries", 3) < 0:
        raise InputError(f"blob_retries={params['blob_retries']} is negative: use 0 to fail at the first error, "
                         "or a small count such as 3.")
    if params.get("blob_retry_backoff", 12.0) < 0:
        raise InputError(f"blob_retry_backoff={params['blob_retry_backoff']} is negative: give the seconds to wait "
                         "before the first retry, for example 12.")


def check_container(name):
    """Azure's container name rules: 3-63 characters, lowercase letters, digits and single hyphens."""
    if not isinstance(name, str) or not CONTAINER.match(name):
        raise InputError(f"container={name!r} breaks Azure's container naming rules: use 3 to 63 lowercase letters, "
                         "digits and hyphens, starting and ending with a letter or digit, with no two hyphens in a "
                         "row (for example 'odoo-backups-prod').")
    return name


def auth_mode(params):
    """Which way to authenticate, resolved from `auth_mode` and what is set; refuses an incomplete set."""
    mode = params.get("auth_mode") or "auto"
    if mode == "auto":
        if params.get("connection_string"):
            mode = "connection_string"
        elif params.get("account_key"):
            mode = "key"
        elif params.get("account_name") or params.get("account_url"):
            mode = "entra"
        else:
            raise InputError("no Blob Storage credentials: set connection_string (or AZURE_STORAGE_CONNECTION_STRING), "
                             "or account_name with account_key, or account_name/account_url for Entra ID.")
    if mode == "connection_string" and not params.get("connection_string"):
        raise InputError("auth_mode=connection_string needs connection_string (or AZURE_STORAGE_CONNECTION_STRING).")
    if mode == "key" and not (params.get("account_key") and (params.get("account_name") or params.get("account_url"))):
        raise InputError("auth_mode=key needs account_key and account_name (or account_url).")
    if mode == "entra" and not (params.get("account_name") or params.get("account_url")):
        raise InputError("auth_mode=entra needs account_name or account_url to know which storage account to use.")
    if mode == "entra" and params.get("client_secret") and not (params.get("tenant_id") and params.get("client_id")):
        raise InputError("client_secret needs tenant_id and client_id (a service principal).")
    return mode


def account_url(params):
    if params.get("account_url"):
        return params["account_url"].rstrip("/")
    return f"https://{params['account_name']}.blob.core.windows.net"


def _entra_credential(params):
    try:
        from azure.identity import ClientSecretCredential, DefaultAzureCredential  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise OdooSaasError("auth_mode=entra needs the azure-identity Python package: pip install azure-identity") \
            from exc
    kwargs = {}
    if params.get("authority"):
        # A custom cloud's authority has no instance metadata on login.microsoftonline.com.
        kwargs.update(authority=params["authority"], disable_instance_discovery=True)
    if params.get("ca_bundle"):
        kwargs["connection_verify"] = params["ca_bundle"]
    if params.get("client_secret"):
        return ClientSecretCredential(params["tenant_id"], params["client_id"], params["client_secret"], **kwargs)
    kwargs.pop("connection_verify", None)
    return DefaultAzureCredential(**kwargs)


class BlobStore:
    """One container, reached with the module's Blob options."""

    def __init__(self, params, container):
        self.mode = auth_mode(params)
        check_retries(params)
        load_sdk()
        self.container_name = container
        verify = params.get("ca_bundle") or params.get("validate_certs", True)
        retry = doubling_retry(params.get("blob_retries", 3), params.get("blob_retry_backoff", 12.0))
        kwargs = {"connection_verify": verify, "connection_timeout": 20, "read_timeout": 120, "retry_policy": retry}
        if self.mode == "connection_string":
            try:
                service = BlobServiceClient.from_connection_string(params["connection_string"], **kwargs)
            except ValueError as exc:
                raise InputError("connection_string is not a valid Azure Storage connection string (it was not "
                                 "shown); it needs AccountName, AccountKey and an endpoint.") from exc
        elif self.mode == "key":
            credential = {"account_name": params.get("account_name") or account_url(params).rsplit("/", 1)[-1],
                          "account_key": params["account_key"]}
            service = BlobServiceClient(account_url(params), credential=credential, **kwargs)
        else:
            service = BlobServiceClient(account_url(params), credential=_entra_credential(params), **kwargs)
        self.url = service.url.split("?")[0].rstrip("/")
        self.container = service.get_container_client(container)
        self.writes = 0

    def _fail(self, what, exc):
        code = getattr(exc, "error_code", None) or getattr(exc, "status_code", None)
        text = getattr(exc, "reason", None) or type(exc).__name__
        return ServiceError(f"Blob Storage refused {what} in container {self.container_name!r} at {self.url}: "
                            f"{code or ''} {text}".rstrip() + ". Check the credentials, the account URL and the "
                            "network path to the storage account.")

    # ---------------------------------------------------------------- reading
    def container_exists(self):
        try:
            return self.container.exists()
        except AzureError as exc:
            raise self._fail("a check for the container", exc) from exc

    def list(self, prefix):
        """Every blob under `prefix`, as dicts of name, size and last_modified."""
        try:
            return [{"name": b.name, "size": b.size, "last_modified": b.last_modified}
                    for b in self.container.list_blobs(name_starts_with=prefix)]
        except ResourceNotFoundError:
            return []
        except AzureError as exc:
            raise self._fail(f"the listing of {prefix!r}", exc) from exc

    def read(self, name):
        try:
            return self.container.download_blob(name).readall()
        except ResourceNotFoundError as exc:
            raise ServiceError(f"blob {name!r} is not in container {self.container_name!r}.") from exc
        except AzureError as exc:
            raise self._fail(f"the download of {name!r}", exc) from exc

    def chunks(self, name):
        """The blob's content as an iterator of chunks (a few MiB each), never the whole blob at once."""
        try:
            return self.container.download_blob(name, max_concurrency=1).chunks()
        except ResourceNotFoundError as exc:
            raise ServiceError(f"blob {name!r} is not in container {self.container_name!r}.") from exc
        except AzureError as exc:
            raise self._fail(f"the download of {name!r}", exc) from exc

    # ---------------------------------------------------------------- writing
    def ensure_container(self):
        if self.container_exists():
            return False
        try:
            self.container.create_container()
        except ResourceExistsError:
            return False
        except AzureError as exc:
            raise self._fail("the creation of the container", exc) from exc
        self.writes += 1
        return True

    def put(self, name, data):
        """A small blob in one request; refuses to overwrite an existing one."""
        try:
            self.container.upload_blob(name, data, overwrite=False)
        except ResourceExistsError as exc:
            raise ServiceError(f"blob {name!r} already exists in container {self.container_name!r}; it was not "
                               "overwritten.") from exc
        except AzureError as exc:
            raise self._fail(f"the upload of {name!r}", exc) from exc
        self.writes += 1

    def delete(self, names):
        for name in names:
            try:
                self.container.delete_blob(name, delete_snapshots="include")
            except ResourceNotFoundError:
                continue
            except AzureError as exc:
                raise self._fail(f"the deletion of {name!r}", exc) from exc
            self.writes += 1

    def writer(self, name, block_size=8 * MIB, in_flight=2):
        return BlockWriter(self, name, block_size, in_flight)


class BlockWriter:
    """A file-like object that streams into one block blob.

    `write()` fills a buffer of `block_size`; each full buffer is staged by a worker thread, with at most
    `in_flight` blocks being sent, so memory is bounded by (in_flight + 1) x block_size. `close()` commits
    the block list; `abort()` leaves only uncommitted blocks, which the service discards.
    """

    def __init__(self, store, name, block_size, in_flight):
        self.store = store
        self.name = name
        self.block_size = block_size
        self.client = store.container.get_blob_client(name)
        self._buffer = bytearray()
        self._ids = []
        self._pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="blob-stage")
        self._slots = threading.BoundedSemaphore(in_flight)
        self._futures = []
        self._error = None
        self.size = 0
        self.closed = False

    # tarfile only needs write(); the rest makes this a well-behaved file-like object.
    def writable(self):
        return True

    def tell(self):
        return self.size

    def write(self, data):
        self._raise_if_failed()
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= self.block_size:
            block = bytes(self._buffer[:self.block_size])
            del self._buffer[:self.block_size]
            self._stage(block)
        return len(data)

    def flush(self):
        self._raise_if_failed()

    def _stage(self, block):
        block_id = base64.b64encode(f"{len(self._ids):010d}".encode()).decode()
        self._ids.append(block_id)
        self._slots.acquire()  # pylint: disable=consider-using-with

        def send():
            try:
                self.client.stage_block(block_id, block, length=len(block))
            finally:
                self._slots.release()

        future = self._pool.submit(send)
        future.add_done_callback(self._record)
        self._futures = [f for f in self._futures if not f.done()] + [future]

    def _record(self, future):
        if future.exception() is not None and self._error is None:
            self._error = future.exception()

    def _raise_if_failed(self):
        if self._error is not None:
            raise self.store._fail(f"the upload of {self.name!r}", self._error)  # pylint: disable=protected-access

    def close(self):
        """Send the rest and commit the block list: only now does the blob exist."""
        if self.closed:
            return
        if self._buffer:
            self._stage(bytes(self._buffer))
            self._buffer = bytearray()
        for future in self._futures:
            future.exception()
        self._pool.shutdown(wait=True)
        self._raise_if_failed()
        try:
            self.client.commit_block_list(self._ids)
        except AzureError as exc:
            raise self.store._fail(f"the commit of {self.name!r}", exc) from exc  # pylint: disable=protected-access
        self.store.writes += 1
        self.closed = True

    def abort(self):
        self.closed = True
        self._buffer = bytearray()
        self._pool.shutdown(wait=True, cancel_futures=True)
