"""Fuzz every JSON endpoint from the published OpenAPI document (schemathesis).

Checks: no response >= 500, and every response (status, content type, body, headers) matches
the document. Run by .ci/run; not part of the default suite.
"""
import tempfile

import fakeredis
import schemathesis
from hypothesis import HealthCheck, settings

from app import create_app
from app.extensions import db
from app.seed import seed

_folder = tempfile.mkdtemp(prefix="saga-fuzz-")
app = create_app({
    "TESTING": True,
    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{_folder}/fuzz.db",
    "REDIS_URL": None,
    "FAKE_REDIS_SERVER": fakeredis.FakeServer(),
})
with app.app_context():
    db.create_all()
    seed()

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)


@schema.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_endpoint_conforms_to_the_document(case):
    # A schema-valid body may name a user or product that does not exist: that is a 422 naming
    # the field, which the positive-data check would count as a rejection of valid data.
    case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])
