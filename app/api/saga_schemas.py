"""Response schemas of the saga endpoints."""
import marshmallow as ma

from app.api.fields import UtcDateTime

Int, Str, Time = ma.fields.Integer, ma.fields.String, UtcDateTime


class SagaSummary(ma.Schema):
    id = Int()
    type = Str()
    status = Str()
    step_count = Int()
    current_step = Int()
    retries = Int()
    error = Str(allow_none=True)
    created_at = Time()
    updated_at = Time()
    finished_at = Time(allow_none=True)
    url = ma.fields.Method("_url")

    def _url(self, saga):
        saga_id = saga["id"] if isinstance(saga, dict) else saga.id
        return f"/api/sagas/{saga_id}"


class SagaPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SagaSummary))
    next_cursor = Int(allow_none=True)


class AttemptOut(ma.Schema):
    phase = Str()
    number = Int()
    started_at = Time()
    ended_at = Time(allow_none=True)
    duration_ms = ma.fields.Float(allow_none=True)
    outcome = Str()
    error = Str(allow_none=True)
    error_type = Str(allow_none=True)


class StepOut(ma.Schema):
    index = Int()
    name = Str()
    status = Str()
    attempts = Int(attribute="attempts")
    compensation_attempts = Int()
    timeout_seconds = Int()
    outcome_unknown = ma.fields.Boolean()
    next_retry_at = Time(allow_none=True)
    error = Str(allow_none=True)
    error_type = Str(allow_none=True)
    result = ma.fields.Dict(allow_none=True)
    history = ma.fields.List(ma.fields.Nested(AttemptOut))


class EventOut(ma.Schema):
    id = Int()
    type = Str()
    step_index = Int(allow_none=True)
    step_name = Str(allow_none=True)
    from_status = Str(allow_none=True)
    to_status = Str(allow_none=True)
    attempt = Int(allow_none=True)
    duration_ms = ma.fields.Float(allow_none=True)
    error = Str(allow_none=True)
    error_type = Str(allow_none=True)
    actor = Str()
    detail = Str(allow_none=True)
    created_at = Time()


class SagaDetail(SagaSummary):
    payload = ma.fields.Dict()
    context = ma.fields.Dict()
    idempotency_key = Str(allow_none=True)
    deadline_at = Time()
    compensation_deadline_at = Time(allow_none=True)
    steps = ma.fields.List(ma.fields.Nested(StepOut))
    events = ma.fields.List(ma.fields.Nested(EventOut))


class SagaAccepted(ma.Schema):
    saga_id = Int()
    status = Str()
    url = Str()


class OperatorActionIn(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    reason = Str(load_default="", validate=ma.validate.Length(0, 500))
    operator = Str(load_default="operator", validate=ma.validate.Length(1, 64),
                   metadata={"description": "Who acts (recorded in the history)"})


class ResolveIn(OperatorActionIn):
    reason = Str(required=True, validate=ma.validate.Length(1, 500))
