"""SageMaker's JSON 1.1 protocol as botocore speaks it: each request checked against botocore's own service model
before anything happens, errors in AWS's shapes, responses written as the model's output shapes say.

Requests are checked as the service checks them, so code that builds its requests by hand (or turns off boto3's
own parameter validation) meets the ValidationException AWS would send, naming each member at fault with AWS's
path (``autoMLJobInputDataConfig.1.member.dataSource``) and AWS's wording.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from functools import lru_cache

CONTENT_TYPE = "application/x-amz-json-1.1"


class ServiceError(Exception):
    """An error the service answers with: AWS's error code, its message and the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def body(self) -> bytes:
        """The error as JSON 1.1 carries it (botocore reads ``__type`` and ``message``)."""
        return json.dumps({"__type": self.code, "message": self.message}).encode()


def not_found(message: str) -> ServiceError:
    """SageMaker's ResourceNotFound."""
    return ServiceError("ResourceNotFound", message)


def in_use(message: str) -> ServiceError:
    """SageMaker's ResourceInUse."""
    return ServiceError("ResourceInUse", message)


def limit_exceeded(quota: str, limit: int, unit: str) -> ServiceError:
    """SageMaker's ResourceLimitExceeded, in the words AWS uses for a service quota reached."""
    return ServiceError("ResourceLimitExceeded", (
        f"The account-level service limit '{quota}' is {limit} {unit}, with current utilization of {limit} {unit} "
        f"and a request delta of 1 {unit}. Please use AWS Service Quotas to request an increase for this quota. "
        "If AWS Service Quotas is not available, contact AWS support to request an increase for this quota."))


def validation(message: str) -> ServiceError:
    """SageMaker's ValidationException."""
    return ServiceError("ValidationException", message)


@lru_cache(maxsize=None)
def service_model(name: str):
    """botocore's model of service ``name`` ("sagemaker", "sagemaker-runtime")."""
    import botocore.session

    return botocore.session.get_session().get_service_model(name)


def operation(service: str, target: str):
    """The operation model that an ``X-Amz-Target`` header names; `ServiceError` for one the service lacks."""
    prefix, _, name = target.partition(".")
    model = service_model(service)
    if prefix != model.metadata["targetPrefix"] or name not in model.operation_names:
        raise ServiceError("UnknownOperationException", f"The operation {target!r} is not known to SageMaker")
    return model.operation_model(name)


def parse_request(body: bytes, operation_model) -> dict:
    """The request's members, checked against the operation's input shape."""
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        raise ServiceError("SerializationException", "the request body is not JSON") from None
    if not isinstance(params, dict):
        raise ServiceError("SerializationException", "the request body is not a JSON object")
    problems = _problems(operation_model.input_shape, params, "") if operation_model.input_shape else []
    if problems:
        count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected"
        raise validation(f"{count}: {'; '.join(problems)}")
    return params


def _member_path(path: str, member: str) -> str:
    name = member[:1].lower() + member[1:]  # AWS names members in lower camel case in its messages
    return f"{path}.{name}" if path else name


def _problems(shape, value, path: str) -> list[str]:
    kind = shape.type_name
    shown = "null" if value is None else f"'{value}'"
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"Value {shown} at '{path}' failed to satisfy constraint: Member must be a structure"]
        found = [f"Value at '{_member_path(path, key)}' failed to satisfy constraint: Member is not known to "
                 f"{shape.name}" for key in value if key not in shape.members]
        for name in shape.required_members:
            if value.get(name) is None:
                found.append(f"Value null at '{_member_path(path, name)}' failed to satisfy constraint: "
                             "Member must not be null")
        for name, member in shape.members.items():
            if value.get(name) is not None:
                found += _problems(member, value[name], _member_path(path, name))
        return found
    if kind == "list":
        if not isinstance(value, list):
            return [f"Value {shown} at '{path}' failed to satisfy constraint: Member must be a list"]
        found = _length(shape, len(value), path)
        for index, item in enumerate(value, 1):
            found += _problems(shape.member, item, f"{path}.{index}.member")
        return found
    if kind == "map":
        if not isinstance(value, dict):
            return [f"Value {shown} at '{path}' failed to satisfy constraint: Member must be a map"]
        found = _length(shape, len(value), path)
        for key, item in value.items():
            found += _problems(shape.key, key, f"{path}.key") + _problems(shape.value, item, f"{path}.{key}")
        return found
    return _scalar_problems(shape, value, path, shown)


def _scalar_problems(shape, value, path: str, shown: str) -> list[str]:
    kind, meta = shape.type_name, shape.metadata
    expected = {"string": str, "blob": str, "boolean": bool, "integer": int, "long": int,
                "float": (int, float), "double": (int, float), "timestamp": (int, float, str)}[kind]
    if not isinstance(value, expected) or (kind not in ("boolean",) and isinstance(value, bool)):
        return [f"Value {shown} at '{path}' failed to satisfy constraint: Member must be of type {kind}"]
    found = []
    if kind == "string":
        found += _length(shape, len(value), path)
        if shape.enum and value not in shape.enum:
            found.append(f"Value {shown} at '{path}' failed to satisfy constraint: Member must satisfy enum value "
                         f"set: [{', '.join(shape.enum)}]")
        elif "pattern" in meta and _pattern(meta["pattern"]) and not _pattern(meta["pattern"]).fullmatch(value):
            found.append(f"Value {shown} at '{path}' failed to satisfy constraint: Member must satisfy regular "
                         f"expression pattern: {meta['pattern']}")
    elif kind in ("integer", "long", "float", "double"):
        if "min" in meta and value < meta["min"]:
            found.append(f"Value {shown} at '{path}' failed to satisfy constraint: Member must have value greater "
                         f"than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            found.append(f"Value {shown} at '{path}' failed to satisfy constraint: Member must have value less than "
                         f"or equal to {meta['max']}")
    return found


@lru_cache(maxsize=None)
def _pattern(text: str) -> re.Pattern | None:
    """The model's pattern compiled; None for the few written in Java's dialect (Unicode classes such as
    ``\\p{L}``, in tag values and descriptions), which are not checked."""
    try:
        return re.compile(text, flags=re.DOTALL)
    except re.error:
        return None


def _length(shape, length: int, path: str) -> list[str]:
    meta = shape.metadata
    if "min" in meta and length < meta["min"]:
        return [f"Value at '{path}' failed to satisfy constraint: Member must have length greater than or equal "
                f"to {meta['min']}"]
    if "max" in meta and length > meta["max"]:
        return [f"Value at '{path}' failed to satisfy constraint: Member must have length less than or equal to "
                f"{meta['max']}"]
    return []


def to_wire(shape, value):
    """``value`` as the JSON 1.1 protocol carries the output ``shape``: timestamps as epoch seconds, members the
    shape does not name left out."""
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        return {name: to_wire(shape.members[name], item) for name, item in value.items()
                if name in shape.members and item is not None}
    if kind == "list":
        return [to_wire(shape.member, item) for item in value]
    if kind == "map":
        return {key: to_wire(shape.value, item) for key, item in value.items()}
    if kind == "timestamp":
        return epoch(value)
    return value


def epoch(value) -> float:
    """A timestamp (ISO 8601 text, a datetime, or epoch seconds) as epoch seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    when = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()
