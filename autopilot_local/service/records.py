"""The service's resources on disk: one JSON record per model, endpoint config, endpoint or transform job under
the local home (``service/<kind>/<name>.json``), so that a restarted server finds every one again, and the list
operations they share (filters, sort keys, NextToken paging)."""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from pathlib import Path

from .. import registry
from ..artifacts import arn, iso_time
from ..files import read_json, write_json
from .protocol import epoch, in_use, not_found, validation

DEFAULT_MAX_RESULTS = 100  # a page when MaxResults is not given (the largest the list operations allow)


class Records:
    """The records of one kind of resource.

    Parameters
    ----------
    kind : str
        The resource's kind as its ARN names it ("model", "endpoint-config", "endpoint", "transform-job").
    label : str
        How AWS's messages name it ("Model", "Endpoint configuration", ...).
    """

    def __init__(self, kind: str, label: str):
        self.kind, self.label = kind, label
        self.folder = registry.home() / "service" / kind
        self.lock = threading.Lock()

    def path(self, name: str) -> Path:
        """The record's file (the name is one botocore's pattern allowed: letters, digits and hyphens)."""
        return self.folder / f"{name}.json"

    def create(self, name: str, record: dict) -> dict:
        """Record a new resource, with its ARN and creation time; ValidationException ("Cannot create already
        existing ...", as SageMaker answers) if the name is taken."""
        with self.lock:
            if self.path(name).exists():
                raise validation(f'Cannot create already existing {self.label.lower()} "{arn(self.kind, name)}".')
            record = record | {"Arn": arn(self.kind, name), "CreationTime": iso_time(time.time())}
            record.setdefault("LastModifiedTime", record["CreationTime"])
            write_json(self.path(name), record)
        return record

    def get(self, name: str) -> dict:
        """The record of ``name``; ResourceNotFound (as SageMaker words it) if there is none."""
        try:
            return read_json(self.path(name))
        except (FileNotFoundError, ValueError):
            raise not_found(f'Could not find {self.label.lower()} "{arn(self.kind, name)}".') from None

    def update(self, name: str, **changes) -> dict:
        """Change members of the record of ``name`` and stamp its LastModifiedTime."""
        with self.lock:
            record = self.get(name) | changes | {"LastModifiedTime": iso_time(time.time())}
            write_json(self.path(name), record)
        return record

    def delete(self, name: str) -> None:
        """Forget ``name``; ResourceNotFound if there is none."""
        self.get(name)
        self.path(name).unlink(missing_ok=True)

    def names(self) -> list[str]:
        """Every recorded name, sorted."""
        return sorted(p.stem for p in self.folder.glob("*.json")) if self.folder.exists() else []

    def busy(self, name: str, why: str) -> None:
        """Raise ResourceInUse for ``name``, saying ``why``."""
        raise in_use(f"{self.label} {name} {why}")


def page(items: list[dict], request: dict, name_key: str, sort_keys: dict, default_sort: str = "CreationTime") -> dict:
    """One page of a List operation: ``items`` filtered by NameContains, the Creation/LastModifiedTime bounds and
    StatusEquals where the request gives them, sorted (Descending unless asked otherwise), cut at MaxResults, with a
    NextToken for the rest. Returns ``{"items": ..., "NextToken": ...}``."""
    def keep(item: dict) -> bool:
        for member, key, after in (("CreationTimeAfter", "CreationTime", True),
                                   ("CreationTimeBefore", "CreationTime", False),
                                   ("LastModifiedTimeAfter", "LastModifiedTime", True),
                                   ("LastModifiedTimeBefore", "LastModifiedTime", False)):
            if member in request and key in item:
                when, bound = epoch(item[key]), epoch(request[member])
                if (when <= bound) if after else (when >= bound):
                    return False
        if "NameContains" in request and request["NameContains"].lower() not in item[name_key].lower():
            return False
        status = request.get("StatusEquals")
        return status is None or any(item.get(k) == status for k in item if k.endswith("Status"))

    kept = [item for item in items if keep(item)]
    key = sort_keys[request.get("SortBy", default_sort)]
    descending = request.get("SortOrder") != "Ascending"
    kept.sort(key=lambda item: (str(item.get(key, "")), item[name_key]), reverse=descending)
    start = _read_token(request["NextToken"], request) if request.get("NextToken") else 0
    size = request.get("MaxResults", DEFAULT_MAX_RESULTS)
    answer = {"items": kept[start:start + size]}
    if start + size < len(kept):
        answer["NextToken"] = _make_token(start + size, request)
    return answer


def _query(request: dict) -> str:
    return json.dumps({k: v for k, v in request.items() if k not in ("NextToken", "MaxResults")}, sort_keys=True,
                      default=str)


def _make_token(position: int, request: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps([position, _query(request)]).encode()).decode()


def _read_token(token: str, request: dict) -> int:
    try:
        position, query = json.loads(base64.urlsafe_b64decode(token.encode()))
        if query == _query(request) and isinstance(position, int) and position >= 0:
            return position
    except (ValueError, TypeError, binascii.Error):
        pass
    raise validation("Invalid pagination token: NextToken must come from a previous response to the same request")
