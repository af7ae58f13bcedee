"""`JobConfig`: the CreateAutoMLJobV2 tabular request, validated, with Autopilot's defaults."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import s3
from .errors import InputError
from .vocabulary import (
    ALGORITHMS_BY_MODE,
    AUTO,
    AUTO_ENSEMBLING_BYTES,
    DEFAULT_MAX_CANDIDATES,
    ENSEMBLING,
    ENSEMBLING_ALGORITHMS,
    HYPERPARAMETER_TUNING,
    MAX_CANDIDATES_LIMIT,
    MAX_JOB_NAME,
    MAX_JOB_RUNTIME_LIMIT,
    MODES,
    OBJECTIVES,
    PROBLEM_TYPES,
    ROLE_ARN,
    TUNING_ALGORITHMS,
    objective_direction,  # noqa: F401  (notebooks of jobs written before vocabulary.py)
)

JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,%d}$" % (MAX_JOB_NAME - 1))


def default_job_name(data_path: str | Path, now: float | None = None) -> str:
    """A name Autopilot accepts (<= 32 chars of [a-zA-Z0-9-]): the data file's stem and a timestamp."""
    stem = Path(str(data_path)).name.split(".")[0]
    stem = re.sub(r"[^a-zA-Z0-9]+", "-", stem).strip("-")[:16].strip("-") or "automl"
    stamp = time.strftime("%y%m%d-%H%M%S", time.localtime(now))
    return f"{stem}-{stamp}"


@dataclass
class JobConfig:
    """One AutoML job's request, in CreateAutoMLJobV2's terms (tabular problem type config), checked as Autopilot
    checks it: a setting it would reject raises `InputError` naming it.

    Parameters
    ----------
    data : str
        The training file (TrainingChannel's S3Uri): CSV, ``.gz``, ``.zip`` or Parquet, local or ``s3://``.
    target : str
        TargetAttributeName.
    job_name : str, optional
        AutoMLJobName; by default the data file's name and a timestamp.
    output_dir : str, default "jobs"
        S3OutputPath: the folder (or ``s3://`` prefix) the job folder goes in.
    problem_type, objective : str, optional
        ProblemType and AutoMLJobObjective's MetricName; inferred from the target, and Autopilot's default for the
        problem type, when absent.
    max_candidates, max_runtime_per_training_job, max_job_runtime : int, optional
        CompletionCriteria: MaxCandidates, MaxRuntimePerTrainingJobInSeconds, MaxAutoMLJobRuntimeInSeconds.
    validation_fraction : float, default 0.2
        DataSplitConfig's ValidationFraction (the holdout above 50,000 rows).
    validation_data : str, optional
        A separate validation channel's file.
    mode : str, default "HYPERPARAMETER_TUNING"
        HYPERPARAMETER_TUNING, ENSEMBLING or AUTO.
    algorithms : tuple of str, optional
        AutoMLAlgorithms; by default every algorithm of the mode.
    sample_weight : str, optional
        SampleWeightAttributeName (ENSEMBLING only).
    seed : int, default 0
        Seeds the split, the folds, the search and every model.
    workers, trials_in_flight, storage
        Where trials run: this machine's processes, how many may run at once across every worker (a seed
        reproduces the search for a given number), and an Optuna database URL that workers elsewhere join.
    allow_small : bool, default False
        Run on fewer than Autopilot's 500 rows.
    candidate_definitions_only : bool, default False
        GenerateCandidateDefinitionsOnly.
    cloud_only_settings : dict, optional
        Request members only the cloud acts on, kept in ``request.json`` without local effect.
    """

    data: str
    target: str
    job_name: str = ""
    output_dir: str = "jobs"
    problem_type: str | None = None
    objective: str | None = None
    max_candidates: int | None = None
    max_runtime_per_training_job: int | None = None
    max_job_runtime: int | None = None
    validation_fraction: float = 0.2
    validation_data: str | None = None
    mode: str = HYPERPARAMETER_TUNING
    algorithms: tuple[str, ...] = ()  # AutoMLAlgorithms; empty: every algorithm of the (resolved) mode
    sample_weight: str | None = None  # SampleWeightAttributeName: a column of non-negative row weights
    seed: int = 0
    workers: int | None = None  # trials this machine runs at once; None: one per core, at most two
    # trials that may run at once across every worker; None: max(4, workers). Trial k is chosen knowing the
    # results of trials 0..k-trials_in_flight, so a seed reproduces the search whatever the timing.
    trials_in_flight: int | None = None
    storage: str | None = None  # an Optuna RDB URL that workers on other machines join; None: SQLite in the job
    allow_small: bool = False
    candidate_definitions_only: bool = False
    # request members only the cloud acts on (SecurityConfig, Tags, ModelDeployConfig, AutoMLComputeConfig, KmsKeyId):
    # kept in request.json as they came, without local effect
    cloud_only_settings: dict = field(default_factory=dict)

    def __post_init__(self):
        self.job_name = self.job_name or default_job_name(self.data)
        self.algorithms = tuple(self.algorithms)
        self.validate()

    def validate(self) -> None:
        """Raise `InputError` naming the first setting that Autopilot would reject."""
        if not JOB_NAME_PATTERN.match(self.job_name):
            raise InputError(
                f"job name {self.job_name!r} is not valid: use 1-32 letters, digits and hyphens, "
                "starting with a letter or digit"
            )
        if not self.target:
            raise InputError("no target column given")
        if self.problem_type is not None and self.problem_type not in PROBLEM_TYPES:
            raise InputError(f"problem type {self.problem_type!r} is not one of {', '.join(PROBLEM_TYPES)}")
        if self.objective is not None:
            known = {m for metrics in OBJECTIVES.values() for m in metrics}
            if self.objective not in known:
                raise InputError(f"objective metric {self.objective!r} is not one of {', '.join(sorted(known))}")
            if self.problem_type is not None:
                self.check_objective(self.problem_type)
        if self.max_candidates is not None and not 1 <= self.max_candidates <= MAX_CANDIDATES_LIMIT:
            raise InputError(f"MaxCandidates must be between 1 and {MAX_CANDIDATES_LIMIT}, got {self.max_candidates}")
        for name in ("max_runtime_per_training_job", "max_job_runtime"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= MAX_JOB_RUNTIME_LIMIT:
                raise InputError(
                    f"{name.replace('_', ' ')} must be between 1 and {MAX_JOB_RUNTIME_LIMIT} s, got {value}"
                )
        if not 0 < self.validation_fraction < 1:
            raise InputError(f"validation fraction must be strictly between 0 and 1, got {self.validation_fraction}")
        for name in ("workers", "trials_in_flight"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError(f"{name.replace('_', ' ')} must be at least 1, got {value}")
        if self.storage is not None and not re.match(r"^(postgresql|mysql|sqlite)(\+\w+)?://", self.storage):
            raise InputError(f"storage {self.storage!r} is not a database URL such as postgresql://user@host/db")
        if s3.is_s3(self.output_dir):
            s3.staging(self.output_dir)  # refuses a prefix no local folder can stand for ("..")
        if self.mode not in MODES:
            raise InputError(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.mode != AUTO:
            self.check_mode(self.mode)
        elif any(a not in TUNING_ALGORITHMS + ENSEMBLING_ALGORITHMS for a in self.algorithms):
            self.check_mode(ENSEMBLING)

    def check_mode(self, mode: str) -> None:
        """Raise `InputError` where a setting does not fit ``mode`` (the requested or AUTO's resolved one)."""
        allowed = ALGORITHMS_BY_MODE[mode]
        unknown = [a for a in self.algorithms if a not in allowed]
        if unknown:
            raise InputError(f"algorithm(s) {', '.join(unknown)} not available in {mode}; "
                             f"choose from {', '.join(allowed)}")
        if mode == HYPERPARAMETER_TUNING and self.sample_weight:
            raise InputError(f"SampleWeightAttributeName ({self.sample_weight!r}) is supported in ENSEMBLING mode "
                             "only, as in Autopilot" + (" (AUTO chose HYPERPARAMETER_TUNING: the data is 100 MB "
                                                       "or more)" if self.mode == AUTO else ""))
        if mode == ENSEMBLING and self.storage:
            raise InputError("--storage spreads HYPERPARAMETER_TUNING trials over machines; ENSEMBLING runs on "
                             "one machine (use --workers)")

    def resolved_mode(self, data_bytes: int) -> str:
        """The mode the job runs: AUTO picks ENSEMBLING for data under 100 MB, HYPERPARAMETER_TUNING above."""
        if self.mode != AUTO:
            return self.mode
        mode = ENSEMBLING if data_bytes < AUTO_ENSEMBLING_BYTES else HYPERPARAMETER_TUNING
        self.check_mode(mode)
        return mode

    def algorithms_for(self, mode: str) -> tuple[str, ...]:
        """The algorithms asked for, or else every algorithm of ``mode``."""
        return self.algorithms or ALGORITHMS_BY_MODE[mode]

    def check_objective(self, problem_type: str) -> None:
        """Raise `InputError` if the objective asked for does not fit ``problem_type``."""
        if self.objective is not None and self.objective not in OBJECTIVES[problem_type]:
            raise InputError(
                f"objective metric {self.objective!r} does not fit a {problem_type} problem; "
                f"use one of {', '.join(OBJECTIVES[problem_type])}"
            )

    def resolved_objective(self, problem_type: str) -> str:
        """The objective the job uses: the one asked for, else Autopilot's default for ``problem_type``."""
        self.check_objective(problem_type)
        return self.objective or OBJECTIVES[problem_type][0]

    @property
    def effective_max_candidates(self) -> int:
        """MaxCandidates as asked for, else Autopilot's default of 250."""
        return self.max_candidates or DEFAULT_MAX_CANDIDATES

    @property
    def job_dir(self) -> Path:
        """The job folder; for an ``s3://`` output path, its local staging folder (mirrored there at the end)."""
        return (s3.staging(self.output_dir) if s3.is_s3(self.output_dir) else Path(self.output_dir)) / self.job_name

    def to_dict(self) -> dict:
        """The config as JSON-ready data, one key per field."""
        return dataclasses.asdict(self) | {"algorithms": list(self.algorithms)}

    @classmethod
    def from_dict(cls, data: dict) -> "JobConfig":
        """Inverse of `to_dict`; keys that are not fields are ignored, missing ones take their defaults."""
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})

    # --- the AWS request shape -------------------------------------------------------------------------------

    def completion_criteria(self, resolved: bool = False) -> dict:
        """CompletionCriteria as requested, or as resolved (with Autopilot's default MaxCandidates filled in)."""
        pairs = (
            ("MaxCandidates", self.effective_max_candidates if resolved else self.max_candidates),
            ("MaxRuntimePerTrainingJobInSeconds", self.max_runtime_per_training_job),
            ("MaxAutoMLJobRuntimeInSeconds", self.max_job_runtime),
        )
        return {key: value for key, value in pairs if value is not None}

    def to_request(self) -> dict:
        """This config as a CreateAutoMLJobV2 request body (local paths stand in for S3 URIs)."""
        criteria = self.completion_criteria()
        tabular = {
            "TargetAttributeName": self.target,
            "Mode": self.mode,
            "GenerateCandidateDefinitionsOnly": self.candidate_definitions_only,
        }
        if self.algorithms:
            tabular["CandidateGenerationConfig"] = {"AlgorithmsConfig": [{"AutoMLAlgorithms": list(self.algorithms)}]}
        if self.sample_weight:
            tabular["SampleWeightAttributeName"] = self.sample_weight
        if criteria:
            tabular["CompletionCriteria"] = criteria
        if self.problem_type:
            tabular["ProblemType"] = self.problem_type
        request = {
            "AutoMLJobName": self.job_name,
            "AutoMLJobInputDataConfig": [_channel("training", self.data)]
            + ([_channel("validation", self.validation_data)] if self.validation_data else []),
            "OutputDataConfig": {"S3OutputPath": self.output_dir if s3.is_s3(self.output_dir)
                                 else str(Path(self.output_dir).resolve())},
            "AutoMLProblemTypeConfig": {"TabularJobConfig": tabular},
            "RoleArn": ROLE_ARN,
        }
        if not self.validation_data:
            request["DataSplitConfig"] = {"ValidationFraction": self.validation_fraction}
        if self.objective:
            request["AutoMLJobObjective"] = {"MetricName": self.objective}
        for key, value in self.cloud_only_settings.items():
            if key == "KmsKeyId":
                request["OutputDataConfig"]["KmsKeyId"] = value
            else:
                request[key] = value
        return request

    @classmethod
    def from_request(cls, request: dict, **overrides) -> "JobConfig":
        """Build a config from a CreateAutoMLJobV2 (or CreateAutoMLJob) request body, as the AWS CLI takes it."""
        try:
            return cls(**(_settings_from_request(request) | {k: v for k, v in overrides.items() if v is not None}))
        except (KeyError, TypeError, AttributeError) as error:
            raise InputError(
                f"the request is not a CreateAutoMLJobV2 tabular request: missing or bad {error}"
            ) from None

    @classmethod
    def from_request_file(cls, path: str | Path, **overrides) -> "JobConfig":
        """`from_request` on the JSON request body in file ``path``; `InputError` if it cannot be read."""
        try:
            request = json.loads(Path(path).read_text())
        except OSError as error:
            raise InputError(f"cannot read request file {path}: {error.strerror}") from None
        except json.JSONDecodeError as error:
            raise InputError(f"request file {path} is not valid JSON: {error.msg} at line {error.lineno}") from None
        return cls.from_request(request, **overrides)


def _channel(kind: str, path: str) -> dict:
    content_type = "x-application/vnd.amazon+parquet" if str(path).endswith(".parquet") else "text/csv;header=present"
    return {
        "ChannelType": kind,
        "ContentType": content_type,
        "CompressionType": "Gzip" if str(path).endswith(".gz") else "None",
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(path)}},
    }


def _settings_from_request(request: dict) -> dict:
    if "AutoMLProblemTypeConfig" in request:  # V2
        tabular = request["AutoMLProblemTypeConfig"]["TabularJobConfig"]
        channels = request["AutoMLJobInputDataConfig"]
        target = tabular["TargetAttributeName"]
        criteria = tabular.get("CompletionCriteria", {})
        generation = tabular.get("CandidateGenerationConfig", {})
        split = request.get("DataSplitConfig", {})
        settings = {
            "mode": tabular.get("Mode", HYPERPARAMETER_TUNING),
            "problem_type": tabular.get("ProblemType"),
            "candidate_definitions_only": tabular.get("GenerateCandidateDefinitionsOnly", False),
            "sample_weight": tabular.get("SampleWeightAttributeName"),
        }
    else:  # V1 CreateAutoMLJob
        channels = request["InputDataConfig"]
        target = channels[0]["TargetAttributeName"]
        job_config = request.get("AutoMLJobConfig", {})
        criteria = job_config.get("CompletionCriteria", {})
        generation = job_config.get("CandidateGenerationConfig", {})
        split = job_config.get("DataSplitConfig", {})
        settings = {
            "mode": job_config.get("Mode", HYPERPARAMETER_TUNING),
            "problem_type": request.get("ProblemType"),
            "candidate_definitions_only": request.get("GenerateCandidateDefinitionsOnly", False),
            "sample_weight": channels[0].get("SampleWeightAttributeName"),
        }
    by_kind = {c.get("ChannelType", "training"): c["DataSource"]["S3DataSource"]["S3Uri"] for c in channels}
    algorithms = [a for conf in generation.get("AlgorithmsConfig", []) for a in conf.get("AutoMLAlgorithms", [])]
    output = request.get("OutputDataConfig", {}).get("S3OutputPath")
    settings |= {
        "data": by_kind["training"],
        "validation_data": by_kind.get("validation"),
        "target": target,
        "job_name": request.get("AutoMLJobName", ""),
        "objective": request.get("AutoMLJobObjective", {}).get("MetricName"),
        "max_candidates": criteria.get("MaxCandidates"),
        "max_runtime_per_training_job": criteria.get("MaxRuntimePerTrainingJobInSeconds"),
        "max_job_runtime": criteria.get("MaxAutoMLJobRuntimeInSeconds"),
        "validation_fraction": split.get("ValidationFraction", 0.2),
    }
    if algorithms:
        settings["algorithms"] = tuple(algorithms)
    if output:
        settings["output_dir"] = output
    settings["cloud_only_settings"] = _cloud_only(request)
    return settings


CLOUD_ONLY = ("SecurityConfig", "Tags", "ModelDeployConfig", "AutoMLComputeConfig")


def _cloud_only(request: dict) -> dict:
    """The request's members that only the cloud acts on, in their V2 places."""
    v1_config = request.get("AutoMLJobConfig", {})
    found = {key: request.get(key, v1_config.get(key)) for key in CLOUD_ONLY}
    found["KmsKeyId"] = request.get("OutputDataConfig", {}).get("KmsKeyId")
    return {key: value for key, value in found.items() if value not in (None, [], {})}
