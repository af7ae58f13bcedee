"""SageMaker's control plane for Autopilot's jobs: each operation served takes the request's members (already
checked against botocore's model) and returns the response's, as AWS names them."""

from __future__ import annotations

import base64
import binascii
import json

from .. import api, registry
from ..errors import InputError
from .jobs import JobRunner
from .protocol import epoch, validation

DEFAULT_MAX_RESULTS = 100  # ListAutoMLJobs' page when MaxResults is not given (its largest)


class ControlPlane:
    """The operations served, by name.

    Parameters
    ----------
    jobs : JobRunner
        The service's jobs.
    """

    def __init__(self, jobs: JobRunner):
        self.jobs = jobs
        self.operations = {
            "CreateAutoMLJob": self.create_auto_ml_job,
            "CreateAutoMLJobV2": self.create_auto_ml_job,
            "DescribeAutoMLJob": lambda request: self.jobs.describe(request["AutoMLJobName"], v1=True),
            "DescribeAutoMLJobV2": lambda request: self.jobs.describe(request["AutoMLJobName"]),
            "ListAutoMLJobs": self.list_auto_ml_jobs,
            "ListCandidatesForAutoMLJob": self.list_candidates_for_auto_ml_job,
            "StopAutoMLJob": self.stop_auto_ml_job,
        }

    def create_auto_ml_job(self, request: dict) -> dict:
        """CreateAutoMLJob and CreateAutoMLJobV2: the job is recorded, and starts when a slot is free."""
        return {"AutoMLJobArn": self.jobs.create(request)}

    def stop_auto_ml_job(self, request: dict) -> dict:
        """StopAutoMLJob."""
        self.jobs.stop(request["AutoMLJobName"])
        return {}

    def list_candidates_for_auto_ml_job(self, request: dict) -> dict:
        """ListCandidatesForAutoMLJob of a job that has started (none before)."""
        name = request["AutoMLJobName"]
        self.jobs.describe(name)  # ResourceNotFound for a job the service does not know
        try:
            folder = registry.job_dir(name)
        except InputError:
            return {"Candidates": []}
        try:
            return api.list_candidates_for_auto_ml_job(
                folder, status_equals=request.get("StatusEquals"),
                candidate_name_equals=request.get("CandidateNameEquals"), sort_order=request.get("SortOrder"),
                sort_by=request.get("SortBy"), max_results=request.get("MaxResults"),
                next_token=request.get("NextToken"))
        except InputError as error:
            raise validation(str(error)) from None

    def list_auto_ml_jobs(self, request: dict) -> dict:
        """ListAutoMLJobs, with its filters, its sort keys and NextToken paging."""
        summaries = [_summary(self.jobs.describe(name)) for name in self.jobs.names()]
        summaries = [s for s in summaries if _matches(s, request)]
        key = {"Name": "AutoMLJobName", "CreationTime": "CreationTime", "Status": "AutoMLJobStatus"}[
            request.get("SortBy", "Name")]
        summaries.sort(key=lambda s: (s[key], s["AutoMLJobName"]), reverse=request.get("SortOrder") != "Ascending")
        start = _read_token(request["NextToken"], request) if request.get("NextToken") else 0
        size = request.get("MaxResults", DEFAULT_MAX_RESULTS)
        response = {"AutoMLJobSummaries": summaries[start:start + size]}
        if start + size < len(summaries):
            response["NextToken"] = _make_token(start + size, request)
        return response


def _summary(described: dict) -> dict:
    keys = ("AutoMLJobName", "AutoMLJobArn", "AutoMLJobStatus", "AutoMLJobSecondaryStatus", "CreationTime",
            "EndTime", "LastModifiedTime", "FailureReason", "PartialFailureReasons")
    return {key: described[key] for key in keys if key in described}


def _matches(summary: dict, request: dict) -> bool:
    created, modified = epoch(summary["CreationTime"]), epoch(summary["LastModifiedTime"])
    checks = (
        ("CreationTimeAfter", lambda t: created > t), ("CreationTimeBefore", lambda t: created < t),
        ("LastModifiedTimeAfter", lambda t: modified > t), ("LastModifiedTimeBefore", lambda t: modified < t),
    )
    if any(name in request and not check(epoch(request[name])) for name, check in checks):
        return False
    if "NameContains" in request and request["NameContains"].lower() not in summary["AutoMLJobName"].lower():
        return False
    return "StatusEquals" not in request or summary["AutoMLJobStatus"] == request["StatusEquals"]


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

