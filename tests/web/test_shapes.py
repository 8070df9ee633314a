"""The execution's shape, derived from flux's ExecutionRecord: the model mirrors every
record field, and the API schema is the record's public fields."""

from __future__ import annotations

from django.utils import timezone

from executions.api import schemas
from executions.models import Execution
from executions.models.executions import RECORD_FIELDS
from flux.store import PUBLIC_FIELDS


def test_the_model_has_a_field_for_each_record_field():
    # A foreign key mirrors the record's *_id field by its column (parent_execution_id).
    names = {f.name for f in Execution._meta.get_fields()} | {
        f.attname for f in Execution._meta.concrete_fields}
    assert set(RECORD_FIELDS) <= names and "parent" in names


def test_the_api_schema_is_the_json_the_model_gives(db):
    execution = Execution.objects.create(id="s1", workflow="w", created_at=timezone.now())
    data = execution.to_dict()
    schema = schemas.Execution.model_json_schema()
    assert set(PUBLIC_FIELDS) <= set(schema["required"])
    assert set(schema["properties"]) == set(data)
    assert schemas.Execution.model_validate(data).model_dump() == data
