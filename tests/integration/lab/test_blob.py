"""Azurite serves Blob over HTTPS with the lab CA, and enforces Azure's naming rules."""

import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient


@pytest.fixture
def blob_service(lab):
    return BlobServiceClient.from_connection_string(lab["blob"]["connection_string"],
                                                    connection_verify=lab["ca_bundle"])


def test_blob_is_uploaded_and_listed_back(blob_service):
    name = f"it-{uuid.uuid4().hex[:8]}"
    container = blob_service.create_container(name)
    try:
        payload = b"odoo" * 1000
        container.upload_blob("tenant-a/2026-11-23T000000Z/db.dump", payload)
        listed = [(b.name, b.size) for b in container.list_blobs(name_starts_with="tenant-a/")]
        assert listed == [("tenant-a/2026-11-23T000000Z/db.dump", len(payload))]
        assert container.download_blob("tenant-a/2026-11-23T000000Z/db.dump").readall() == payload
    finally:
        blob_service.delete_container(name)


def test_container_names_follow_azure_rules(blob_service):
    with pytest.raises(HttpResponseError) as caught:
        blob_service.create_container("ab")
    assert caught.value.status_code == 400
