"""The ARM emulator validates request bodies with the SDK's own model classes."""

import pytest
from arm.validate import BodyError, validate
from azure.mgmt.resource.resources.models import ResourceGroup


def test_a_valid_body_passes():
    model = validate(ResourceGroup, {"location": "westeurope", "tags": {"env": "prod"}})
    assert model.location == "westeurope"


@pytest.mark.parametrize("body, fragment", [
    ({"location": 42}, "body.location: expected str, got int"),
    ({"location": "westeurope", "tags": ["a"]}, "body.tags: expected an object"),
    ({"location": "westeurope", "tags": {"a": 1}}, "body.tags.a: expected str"),
    ({"location": True}, "body.location: expected str"),
    ({"tags": {}}, "body.location: the property is required"),
    ("westeurope", "body: expected an object"),
])
def test_wrong_types_and_missing_fields_are_refused(body, fragment):
    with pytest.raises(BodyError) as caught:
        validate(ResourceGroup, body)
    assert fragment in str(caught.value)


def test_read_only_and_unknown_fields_are_ignored_as_arm_does():
    validate(ResourceGroup, {"location": "westeurope", "id": 12, "name": ["x"], "somethingNew": 1})
