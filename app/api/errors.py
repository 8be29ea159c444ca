"""The JSON error shape: {code, status, message, errors, fields}, for every failure under /api."""
import marshmallow as ma
from flask import render_template, request
from flask_smorest import Api
from flask_smorest.error_handler import ErrorSchema


class SagaErrorSchema(ErrorSchema):
    """An error: a message, and for invalid input the offending fields and what is wrong."""

    fields = ma.fields.List(ma.fields.String(), metadata={"description": "Offending fields"})


class SagaApi(Api):
    """flask-smorest's Api, with a message on every error and an HTML page outside /api."""

    ERROR_SCHEMA = SagaErrorSchema

    def handle_http_exception(self, error):
        """Answer JSON under /api (and for JSON clients), a small page elsewhere."""
        if not wants_json():
            return render_template("error.html", error=error), error.code
        custom_message = "message" in (getattr(error, "data", None) or {})
        payload, code, headers = super().handle_http_exception(error)
        if "errors" in payload:
            payload["fields"] = sorted(_field_names(payload["errors"]))
            if not custom_message:
                payload["message"] = "invalid input: " + ", ".join(payload["fields"])
        payload.setdefault("message", error.description or error.name)
        allow = dict(error.get_headers()).get("Allow")
        if allow:
            headers = {**headers, "Allow": allow}
        return payload, code, headers


def wants_json():
    """Whether the current request should be answered in JSON."""
    return request.path.startswith("/api") or request.accept_mimetypes.best == "application/json"


def _field_names(errors):
    """The field names in webargs' {location: {field: [messages]}} error layout."""
    names = set()
    for location, fields in errors.items():
        if isinstance(fields, dict):
            names.update(str(name) for name in fields)
        else:
            names.add(str(location))
    return names
