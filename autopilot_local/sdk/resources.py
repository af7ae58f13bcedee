"""``AutoMLJob`` and ``AutoMLJobV2`` as ``sagemaker.core.resources`` has them, answered by local jobs.

A resource's fields are the Describe response's members in snake_case (nested structures as `shapes.Shape`);
``create`` starts the job in its own process and returns once the job exists, ``wait`` follows it to its end.
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import api, registry
from ..errors import InputError
from ..files import JobFolder
from ..vocabulary import FAILED
from . import shapes
from .background import start_job, wait_for_job


class FailedStatusError(Exception):
    """The job ended Failed (sagemaker-core raises its own of this name)."""


class TimeoutExceededError(Exception):
    """The job did not end within ``wait``'s timeout."""


class _AutoMLResource:
    _describe = None  # the api function that describes this kind of job

    def __init__(self, described: dict):
        self._update(described)

    def _update(self, described: dict) -> None:
        for member, value in described.items():
            setattr(self, shapes.snake(member), shapes.parse(value))

    def get_name(self) -> str:
        """The job's AutoMLJobName."""
        return self.auto_ml_job_name

    @classmethod
    def get(cls, auto_ml_job_name: str, session=None, region=None):
        """The job named ``auto_ml_job_name``, as its Describe call gives it now."""
        return cls(cls._describe(registry.job_dir(auto_ml_job_name)))

    @classmethod
    def get_all(cls, name_contains: str | None = None, status_equals: str | None = None, **_) -> Iterator:
        """Every local job whose name contains ``name_contains`` and whose status is ``status_equals``."""
        for name in registry.names():
            if name_contains is None or name_contains in name:
                job = cls.get(name)
                if status_equals is None or job.auto_ml_job_status == status_equals:
                    yield job

    def refresh(self):
        """Read the job's fields again from its Describe response; return the job."""
        self._update(self._describe(registry.job_dir(self.auto_ml_job_name)))
        return self

    def wait(self, poll: int = 5, timeout: int | None = None) -> None:
        """Block until the job ends, then refresh it; `FailedStatusError` if it failed, `TimeoutExceededError`
        past ``timeout`` seconds."""
        try:
            wait_for_job(self.auto_ml_job_name, None, poll=min(poll, 1), timeout=timeout)
        except TimeoutError as error:
            raise TimeoutExceededError(str(error)) from None
        self.refresh()
        if self.auto_ml_job_status == FAILED:
            raise FailedStatusError(f"job {self.auto_ml_job_name} failed: {getattr(self, 'failure_reason', '')}")

    def stop(self) -> None:
        """Ask the job to stop, as StopAutoMLJob does; this returns at once, before the job has stopped."""
        folder = JobFolder(registry.job_dir(self.auto_ml_job_name), self.auto_ml_job_name)
        folder.stop_request.parent.mkdir(parents=True, exist_ok=True)
        folder.stop_request.touch()

    @classmethod
    def _create(cls, members: dict):
        request = shapes.to_request({key: value for key, value in members.items() if value is not None})
        process = start_job(request)
        wait_for_job(request["AutoMLJobName"], process, started=True)
        return cls.get(request["AutoMLJobName"])


class AutoMLJob(_AutoMLResource):
    """A CreateAutoMLJob (V1) job."""

    _describe = staticmethod(api.describe_auto_ml_job)

    @classmethod
    def create(cls, auto_ml_job_name, input_data_config, output_data_config, role_arn, problem_type=None,
               auto_ml_job_objective=None, auto_ml_job_config=None, generate_candidate_definitions_only=None,
               tags=None, model_deploy_config=None, session=None, region=None) -> AutoMLJob:
        """Start a CreateAutoMLJob request's job in its own process; return the job once it exists."""
        return cls._create({
            "AutoMLJobName": auto_ml_job_name, "InputDataConfig": input_data_config,
            "OutputDataConfig": output_data_config, "RoleArn": role_arn, "ProblemType": problem_type,
            "AutoMLJobObjective": auto_ml_job_objective, "AutoMLJobConfig": auto_ml_job_config,
            "GenerateCandidateDefinitionsOnly": generate_candidate_definitions_only, "Tags": tags,
            "ModelDeployConfig": model_deploy_config,
        })

    def get_all_candidates(self, status_equals=None, candidate_name_equals=None, sort_order=None, sort_by=None,
                           session=None, region=None) -> Iterator[shapes.AutoMLCandidate]:
        """Every candidate, page by page, as ListCandidatesForAutoMLJob gives them."""
        token = None
        while True:
            page = api.list_candidates_for_auto_ml_job(
                registry.job_dir(self.auto_ml_job_name), status_equals=status_equals,
                candidate_name_equals=candidate_name_equals, sort_order=sort_order, sort_by=sort_by,
                next_token=token)
            for candidate in page["Candidates"]:
                yield shapes.AutoMLCandidate.parse(candidate)
            token = page.get("NextToken")
            if not token:
                return


class AutoMLJobV2(_AutoMLResource):
    """A CreateAutoMLJobV2 job (tabular problem type)."""

    _describe = staticmethod(api.describe_auto_ml_job_v2)

    @classmethod
    def create(cls, auto_ml_job_name, auto_ml_job_input_data_config, output_data_config,
               auto_ml_problem_type_config, role_arn, tags=None, security_config=None, auto_ml_job_objective=None,
               model_deploy_config=None, data_split_config=None, auto_ml_compute_config=None, session=None,
               region=None) -> AutoMLJobV2:
        """Start a CreateAutoMLJobV2 request's job in its own process; return the job once it exists."""
        tabular = shapes.to_request(auto_ml_problem_type_config)
        if "TabularJobConfig" not in tabular:
            raise InputError("autopilot-local runs tabular problems: give a TabularJobConfig")
        return cls._create({
            "AutoMLJobName": auto_ml_job_name, "AutoMLJobInputDataConfig": auto_ml_job_input_data_config,
            "OutputDataConfig": output_data_config, "AutoMLProblemTypeConfig": tabular, "RoleArn": role_arn,
            "Tags": tags, "SecurityConfig": security_config, "AutoMLJobObjective": auto_ml_job_objective,
            "ModelDeployConfig": model_deploy_config, "DataSplitConfig": data_split_config,
            "AutoMLComputeConfig": auto_ml_compute_config,
        })
