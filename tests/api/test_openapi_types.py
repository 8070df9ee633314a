"""The OpenAPI document types every body: a client (or the generated TypeScript types,
frontend/lib/api-types.ts) learns each request's and answer's shape from it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fluxweb.api import api

#: Properties that hold any JSON by design (a workflow's input and output, an event's
#: value, a pause's schema and default, a task parameter's default, 422 details).
ANY_JSON = {"input", "output", "value", "schema", "default", "input_schema", "errors",
            "payload", "match"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """As /api/openapi.json serves it."""
    return json.loads(json.dumps(api.get_openapi_schema()))


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def untyped(doc: dict[str, Any], schema: dict[str, Any] | None, where: str) -> list[str]:
    """Where ``schema`` says nothing of a shape: missing, ``{}``, an object without
    properties, an array without typed items."""
    if not schema:
        return [where]
    schema = resolve(doc, schema)
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema:
            return [p for i, s in enumerate(schema[combined])
                    for p in untyped(doc, s, f"{where}|{i}")]
    kind = schema.get("type")
    if kind is None:
        return [where]
    if kind == "array":
        return untyped(doc, schema.get("items"), f"{where}[]")
    if kind == "object" and not schema.get("properties") and not isinstance(
            schema.get("additionalProperties"), dict):
        return [where]
    return []


def operations(doc: dict[str, Any]):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield f"{method.upper()} {path}", op


def test_every_request_body_is_typed(document):
    found = []
    for name, op in operations(document):
        for kind, content in op.get("requestBody", {}).get("content", {}).items():
            found += untyped(document, content.get("schema"), f"{name} body ({kind})")
    assert found == []


def test_every_answer_is_typed(document):
    found = []
    for name, op in operations(document):
        for status, answer in op["responses"].items():
            if int(status) == 204:
                assert "content" not in answer, name
                continue
            contents = answer.get("content")
            if not contents:
                found.append(f"{name} {status}: no content")
            for kind, content in (contents or {}).items():
                found += untyped(document, content.get("schema"), f"{name} {status} ({kind})")
    assert found == []


def test_every_property_of_every_shape_is_typed(document):
    """Inside the shapes too: only the fields that hold any JSON by design are open."""
    found = []
    for model, schema in document["components"]["schemas"].items():
        for prop, value in schema.get("properties", {}).items():
            if prop in ANY_JSON:
                continue
            found += untyped(document, value, f"{model}.{prop}")
    assert found == []


def test_lists_share_one_page_shape_and_one_limit_rule(document):
    """Every list operation takes ?limit= (bounded) and ?cursor= and answers
    {"items", "next"}."""
    lists = [(name, op) for name, op in operations(document)
             if name.startswith("GET") and any(p["name"] == "cursor"
                                               for p in op.get("parameters", []))]
    assert {name for name, _ in lists} >= {
        "GET /api/workflows/", "GET /api/executions/", "GET /api/executions/{execution_id}/events",
        "GET /api/tokens/", "GET /api/secrets/", "GET /api/graphs/",
        "GET /api/graphs/{graph_id}/versions", "GET /api/tasks/", "GET /api/approvals/"}
    for name, op in lists:
        limit = next(p for p in op["parameters"] if p["name"] == "limit")["schema"]
        assert limit["minimum"] == 1 and limit["maximum"] >= limit["default"], name
        page = resolve(document, op["responses"]["200"]["content"]["application/json"]
                       ["schema"])
        assert set(page["required"]) == {"items", "next"}, name
