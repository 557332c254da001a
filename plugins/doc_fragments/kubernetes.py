# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options of the Kubernetes modules; pairs with _kube.kube_argument_spec()."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig, such as the one aks_cluster writes. Falls back to E(K8S_AUTH_KUBECONFIG), then
        E(KUBECONFIG), then C(~/.kube/config), then in-cluster credentials.
      - In-cluster credentials are used when E(KUBERNETES_SERVICE_HOST) is set (with E(KUBERNETES_SERVICE_PORT))
        and nothing above is found. They are the pod's service account token and CA in
        C(/var/run/secrets/kubernetes.io/serviceaccount). The token file is read again whenever the kubelet rotates
        it, as a kubeconfig's C(tokenFile) is.
    type: path
  context:
    description: The kubeconfig context to use. Falls back to E(K8S_AUTH_CONTEXT); defaults to the current one.
    type: str
  host:
    description: The API server's URL, used with O(api_key) instead of a kubeconfig. Falls back to E(K8S_AUTH_HOST).
    type: str
  api_key:
    description: A bearer token for O(host). Falls back to E(K8S_AUTH_API_KEY). Never logged.
    type: str
  ca_cert:
    description: CA bundle of the API server. Falls back to E(K8S_AUTH_SSL_CA_CERT).
    type: path
  validate_certs:
    description: Verify the API server's certificate.
    type: bool
    default: true
  entra_token:
    description:
      - For an AKS cluster with Entra ID and local accounts disabled, fetch the user token with azure-identity's
        default credential chain, so that no kubelogin binary is needed.
      - The token is for the AKS server application (scope C(6dae42f8-4368-4678-94ff-3960e28e3630/.default)). It
        replaces any token of the kubeconfig, O(api_key) or in-cluster credentials.
      - The chain takes its identity from its environment variables (E(AZURE_CLIENT_ID), E(AZURE_TENANT_ID) and
        E(AZURE_CLIENT_SECRET), or workload identity), or from a managed identity.
      - In a custom cloud, E(AZURE_AUTHORITY_HOST) names the Entra authority, which is then used without instance
        discovery, and E(REQUESTS_CA_BUNDLE) its CA bundle.
    type: bool
    default: false
  request_timeout:
    description: Seconds to wait for one API request.
    type: int
    default: 30
"""

    # The same options as one dict option, `kubernetes`, for modules whose own options would collide with these
    # (`host` and `ca_cert` of the PostgreSQL options). ansible-test needs a literal here, so the text is repeated;
    # tests/unit/plugins/test_backup_utils.py checks that it stays the same as DOCUMENTATION.
    NESTED = r"""
options:
  kubernetes:
    description:
      - How to reach the Kubernetes API server. The same options, defaults and environment variables as the
        Kubernetes modules' top-level ones.
    type: dict
    suboptions:
      kubeconfig:
        description:
          - Path to a kubeconfig, such as the one aks_cluster writes. Falls back to E(K8S_AUTH_KUBECONFIG), then
            E(KUBECONFIG), then C(~/.kube/config), then in-cluster credentials.
          - In-cluster credentials are used when E(KUBERNETES_SERVICE_HOST) is set (with E(KUBERNETES_SERVICE_PORT))
            and nothing above is found. They are the pod's service account token and CA in
            C(/var/run/secrets/kubernetes.io/serviceaccount). The token file is read again whenever the kubelet rotates
            it, as a kubeconfig's C(tokenFile) is.
        type: path
      context:
        description: The kubeconfig context to use. Falls back to E(K8S_AUTH_CONTEXT); defaults to the current one.
        type: str
      host:
        description: The API server's URL, used with O(kubernetes.api_key) instead of a kubeconfig. Falls back to E(K8S_AUTH_HOST).
        type: str
      api_key:
        description: A bearer token for O(kubernetes.host). Falls back to E(K8S_AUTH_API_KEY). Never logged.
        type: str
      ca_cert:
        description: CA bundle of the API server. Falls back to E(K8S_AUTH_SSL_CA_CERT).
        type: path
      validate_certs:
        description: Verify the API server's certificate.
        type: bool
        default: true
      entra_token:
        description:
          - For an AKS cluster with Entra ID and local accounts disabled, fetch the user token with azure-identity's
            default credential chain, so that no kubelogin binary is needed.
          - The token is for the AKS server application (scope C(6dae42f8-4368-4678-94ff-3960e28e3630/.default)). It
            replaces any token of the kubeconfig, O(kubernetes.api_key) or in-cluster credentials.
          - The chain takes its identity from its environment variables (E(AZURE_CLIENT_ID), E(AZURE_TENANT_ID) and
            E(AZURE_CLIENT_SECRET), or workload identity), or from a managed identity.
          - In a custom cloud, E(AZURE_AUTHORITY_HOST) names the Entra authority, which is then used without instance
            discovery, and E(REQUESTS_CA_BUNDLE) its CA bundle.
        type: bool
        default: false
      request_timeout:
        description: Seconds to wait for one API request.
        type: int
        default: 30
"""
