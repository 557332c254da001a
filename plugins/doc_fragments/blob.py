# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure Blob Storage options; pairs with _blob.blob_argument_spec()."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  auth_mode:
    description:
      - How to authenticate to Blob Storage. V(auto) picks V(connection_string) when O(connection_string) is set,
        else V(key) when O(account_key) is set, else V(entra).
      - V(entra) uses azure-identity, with a service principal when O(client_secret) is set, otherwise the default
        credential chain (managed identity, workload identity, Azure CLI).
    type: str
    choices: [auto, connection_string, key, entra]
    default: auto
  connection_string:
    description: A storage account connection string. Falls back to E(AZURE_STORAGE_CONNECTION_STRING). Never logged.
    type: str
  account_name:
    description: The storage account. Falls back to E(AZURE_STORAGE_ACCOUNT).
    type: str
  account_key:
    description: The storage account key, with O(account_name). Falls back to E(AZURE_STORAGE_KEY). Never logged.
    type: str
  account_url:
    description:
      - The Blob endpoint, for a sovereign cloud, Azure Stack or an emulator, for example
        V(https://127.0.0.1:20000/odoolab). Defaults to C(https://<account_name>.blob.core.windows.net).
    type: str
  tenant_id:
    description:
      - The Entra tenant of the service principal, for O(auth_mode=entra). Falls back to E(AZURE_TENANT_ID), then
        E(AZURE_TENANT) (which an AWX Azure Resource Manager credential sets).
    type: str
  client_id:
    description: The service principal's application id, for O(auth_mode=entra). Falls back to E(AZURE_CLIENT_ID).
    type: str
  client_secret:
    description:
      - The service principal's secret, for O(auth_mode=entra). Falls back to E(AZURE_CLIENT_SECRET), then
        E(AZURE_SECRET) (which an AWX Azure Resource Manager credential sets). Never logged.
    type: str
  authority:
    description:
      - The Entra authority host of a custom cloud, for example V(https://login.microsoftonline.us). Instance discovery
        is then skipped. Falls back to E(AZURE_AUTHORITY_HOST).
    type: str
  ca_bundle:
    description: A CA bundle that signs the Blob endpoint's and the authority's certificates, for a private cloud or an emulator.
    type: path
  validate_certs:
    description: Verify the Blob endpoint's certificate. Only for tests; O(ca_bundle) is the way to trust a private CA.
    type: bool
    default: true
  blob_retries:
    description:
      - How many times one Blob request (a block, a commit, a listing) is retried after a connection error, a
        timeout, or an HTTP 408 or 5xx answer, before the task fails. V(0) fails at the first error.
      - A backup that still fails leaves no manifest, so it is never used, and a later prune removes it.
    type: int
    default: 3
  blob_retry_backoff:
    description:
      - Seconds to wait before the first retry. Each next retry waits twice as long, within 20% jitter, so the
        defaults wait about 12, 24 and 48 seconds, riding out a storage outage of about a minute and a half.
      - Lower it where failing fast matters more than riding out an outage, for example in tests.
    type: float
    default: 12.0
requirements:
  - azure-storage-blob >= 12.20
  - azure-identity >= 1.16 (for O(auth_mode=entra))
"""
