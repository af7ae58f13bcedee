"""SageMaker's control plane for Autopilot's jobs: each operation served takes the request's members (already
checked against botocore's model) and returns the response's, as AWS names them."""

from __future__ import annotations

from .. import api
from ..errors import InputError
from .endpoints import Endpoints
from .jobs import JobRunner
from .protocol import validation
from .records import page
from .steps import Steps
from .transforms import TransformJobs

JOB_SORT_KEYS = {"Name": "AutoMLJobName", "CreationTime": "CreationTime", "Status": "AutoMLJobStatus"}


class ControlPlane:
    """The operations served, by name.

    Parameters
    ----------
    jobs : JobRunner
        The service's AutoML jobs.
    endpoints : Endpoints
        Its models, endpoint configs and endpoints.
    transforms : TransformJobs
        Its batch transform jobs.
    steps : Steps
        The candidates' steps, and the tags on every resource.
    """

    def __init__(self, jobs: JobRunner, endpoints: Endpoints, transforms: TransformJobs, steps: Steps):
        self.jobs, self.endpoints, self.steps = jobs, endpoints, steps
        self.operations = endpoints.operations | transforms.operations | steps.operations | {
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
        job_arn = self.jobs.create(request)
        if request.get("Tags"):
            self.steps.add_tags({"ResourceArn": job_arn, "Tags": request["Tags"]})
        return {"AutoMLJobArn": job_arn}

    def stop_auto_ml_job(self, request: dict) -> dict:
        """StopAutoMLJob."""
        self.jobs.stop(request["AutoMLJobName"])
        return {}

    def list_candidates_for_auto_ml_job(self, request: dict) -> dict:
        """ListCandidatesForAutoMLJob of a job that has started (none before)."""
        folder = self.jobs.folder_of(request["AutoMLJobName"])
        if folder is None:
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
        """ListAutoMLJobs, with its filters, its sort keys and NextToken paging (by name, descending, by default)."""
        summaries = [_summary(self.jobs.describe(name)) for name in self.jobs.names()]
        found = page(summaries, request, "AutoMLJobName", JOB_SORT_KEYS, default_sort="Name")
        return {"AutoMLJobSummaries": found.pop("items")} | found


def _summary(described: dict) -> dict:
    keys = ("AutoMLJobName", "AutoMLJobArn", "AutoMLJobStatus", "AutoMLJobSecondaryStatus", "CreationTime",
            "EndTime", "LastModifiedTime", "FailureReason", "PartialFailureReasons")
    return {key: described[key] for key in keys if key in described}
