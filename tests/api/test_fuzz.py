"""The API fuzzed from its own OpenAPI schema (schemathesis), as an admin with a token.

No answer may be a 500, and every answer must match the schema (status code,
content type, body). Bounded: a few examples per operation, about a minute in all.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
)

from executions.models import Token
from tests.api.conftest import make_user

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.fixture
def admin_token(db) -> str:
    """An admin's token; requests stay in the test's transaction (as Django's test
    client arranges, the end of a request must not close the connection)."""
    request_finished.disconnect(close_old_connections)
    request_started.disconnect(close_old_connections)
    _, raw = Token.issue(make_user("fuzzer", "admin"), name="fuzz")
    yield raw
    request_finished.connect(close_old_connections)
    request_started.connect(close_old_connections)


#: Tags of this app's operations (executions/api/routes.py, fluxweb/api.py): every check.
OURS = ["executions", "tokens", "secrets", "health"]
FUZZ = settings(max_examples=15, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.filter_too_much])
#: A schema-valid cursor this API never gave out is a 400 on purpose; so is a secret name
#: that is no valid name (422). And pydantic's lax parsing accepts a little more than the
#: schema says (a number as a date-time, as a Unix time): lenient, not wrong.
LENIENT = [positive_data_acceptance, negative_data_rejection]


@schema.include(tag=OURS).parametrize()
@FUZZ
def test_our_operations_keep_their_schema(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"},
                           excluded_checks=LENIENT)


@schema.exclude(tag=OURS).parametrize()
@FUZZ
def test_no_operation_answers_a_server_error(case, admin_token):
    """Other apps' operations: no 500s, and JSON as declared (their own tests own the
    finer conformance)."""
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"},
                           checks=[not_a_server_error, content_type_conformance])
