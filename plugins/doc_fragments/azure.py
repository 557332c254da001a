# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials, cloud and wait options of the Azure modules; pairs with _azure.azure_argument_spec()."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  auth_source:
    description:
      - How to authenticate. V(auto) uses a service principal when O(client_id) and O(secret) (or
        O(certificate_path)) are set, and azure-identity's default chain otherwise.
      - V(managed_identity) uses the machine's or the AWX pod's managed identity (O(client_id) picks a user-assigned
        one); V(cli) uses the Azure CLI's login. Falls back to E(AZURE_AUTH_SOURCE).
    type: str
    default: auto
    choices: [auto, service_principal, managed_identity, cli, default]
  subscription_id:
    description: The subscription. Falls back to E(AZURE_SUBSCRIPTION_ID).
    type: str
  tenant:
    description: The Entra tenant id. Falls back to E(AZURE_TENANT), then E(AZURE_TENANT_ID).
    type: str
  client_id:
    description: The service principal's (or user-assigned identity's) client id. Falls back to E(AZURE_CLIENT_ID).
    type: str
  secret:
    description: The service principal's secret. Falls back to E(AZURE_SECRET), then E(AZURE_CLIENT_SECRET). Never logged.
    type: str
  certificate_path:
    description: A PEM or PKCS12 certificate for the service principal, instead of O(secret). Falls back to
      E(AZURE_CLIENT_CERTIFICATE_PATH).
    type: path
  certificate_password:
    description: The password of O(certificate_path). Falls back to E(AZURE_CLIENT_CERTIFICATE_PASSWORD). Never logged.
    type: str
  cloud_environment:
    description:
      - The Azure cloud. V(custom) is any other cloud (Azure Stack, a sovereign cloud, the offline lab), given by
        O(resource_manager_endpoint) and O(authority_host), with O(ca_bundle) when its certificates come from a private
        CA. Falls back to E(AZURE_CLOUD_ENVIRONMENT).
    type: str
    default: AzureCloud
    choices: [AzureCloud, AzureChinaCloud, AzureUSGovernment, custom]
  resource_manager_endpoint:
    description: The ARM endpoint, for example C(https://management.azure.com). Required with O(cloud_environment=custom).
      Falls back to E(AZURE_RESOURCE_MANAGER_ENDPOINT).
    type: str
  authority_host:
    description: The Entra authority, for example C(https://login.microsoftonline.com). Required with
      O(cloud_environment=custom). Falls back to E(AZURE_AUTHORITY_HOST).
    type: str
  credential_scope:
    description: The token scope for ARM. Defaults to the cloud's (C(https://management.azure.com/.default) for a
      custom cloud). Falls back to E(AZURE_CREDENTIAL_SCOPE).
    type: str
  ca_bundle:
    description: A CA bundle that proves ARM's and Entra's certificates. Falls back to E(AZURE_CA_BUNDLE), then
      E(REQUESTS_CA_BUNDLE).
    type: path
  wait:
    description:
      - Wait for each long-running ARM operation to finish. With V(false) the module starts the first pending
        operation and returns at once; the result's RV(pending) lists what a later run will do.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for each operation, on a monotonic clock. On timeout the task fails with the
      operation's state; the operation goes on in Azure.
    type: int
    default: 1800
notes:
  - Retries apply to HTTP 429 and 5xx only. They honour C(Retry-After), and otherwise back off exponentially with jitter.
  - ARM errors are reported once, with ARM's error code, its message and the resource id.
requirements:
  - azure-identity
  - azure-mgmt-containerservice (for aks_cluster)
  - azure-mgmt-postgresqlflexibleservers (for pg_server)
"""
