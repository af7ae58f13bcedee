"""The job folder, laid out like Autopilot's S3 output, and the AWS-shaped JSON documents in it.

Layout of ``<output>/<job>/``::

    job.json                      DescribeAutoMLJobV2 response
    candidates.json               ListCandidatesForAutoMLJob response
    leaderboard.csv               every candidate, best first, with its hyperparameters
    request.json                  the CreateAutoMLJobV2 request the job ran
    status-history.json           secondary status transitions with their times
    sagemaker-automl-candidates/<job>-pr-1-<hash>/
        exploration_report.json   the data analysis (ExplorationReport)
        candidate_definitions.json the dpp pipelines (CandidateDefinition)
    data-processor-models/<job>-dppN-1-<hash>/output/model.joblib    fitted feature transforms
    tuning/<job>-dppN-<algo>/<candidate>/output/model.joblib         the best candidate, raw rows in, predictions out
    tuning/study.db               the Optuna study (SQLite)

Every file is written to a temporary name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import joblib

from .algorithms import ALGORITHMS
from .config import OBJECTIVES, objective_direction

ACCOUNT = "000000000000"
REGION = "local"
IMAGE = "autopilot-local"
MAX_FAILURE_REASON = 1024  # AutoMLFailureReason's length limit
OBJECTIVE_METRICS = frozenset(m for metrics in OBJECTIVES.values() for m in metrics)


def write_atomic(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_json(path: Path, document) -> None:
    write_atomic(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def dump_model(path: Path, model) -> None:
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    write_atomic(path, buffer.getvalue())


def iso_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


def arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name.lower()}"


def short_hash(*parts) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:8]


class JobFolder:
    """Paths inside one job's folder, named as Autopilot names them in S3."""

    def __init__(self, root: Path, job_name: str):
        self.root = Path(root)
        self.job_name = job_name
        self.hash = short_hash(job_name)

    job_json = property(lambda self: self.root / "job.json")
    candidates_json = property(lambda self: self.root / "candidates.json")
    leaderboard_csv = property(lambda self: self.root / "leaderboard.csv")
    request_json = property(lambda self: self.root / "request.json")
    history_json = property(lambda self: self.root / "status-history.json")
    study_db = property(lambda self: self.root / "tuning" / "study.db")
    # what a local run needs beyond the AWS request (seed, workers), and the seconds it has spent so far
    local_run_json = property(lambda self: self.root / "local-run.json")
    stop_request = property(lambda self: self.root / "tuning" / "stop-requested")

    @property
    def processing_job(self) -> str:
        return f"{self.job_name}-pr-1-{self.hash}"

    @property
    def candidates_dir(self) -> Path:
        return self.root / "sagemaker-automl-candidates" / self.processing_job

    @property
    def exploration_report(self) -> Path:
        return self.candidates_dir / "exploration_report.json"

    @property
    def candidate_definitions(self) -> Path:
        return self.candidates_dir / "candidate_definitions.json"

    def data_processor_job(self, dpp: str) -> str:
        return f"{self.job_name}-{dpp}-1-{short_hash(self.job_name, dpp)}"

    def data_processor_model(self, dpp: str) -> Path:
        return self.root / "data-processor-models" / self.data_processor_job(dpp) / "output" / "model.joblib"

    # ENSEMBLING: each finished base model (crash-safe: a resumed job keeps them), and the final model where
    # Autopilot keeps its ensemble (sagemaker-automl-candidates/model/<name>/)
    base_models = property(lambda self: self.root / "ensembling" / "models")

    def base_model(self, name: str) -> Path:
        return self.base_models / f"{name}.joblib"

    def model_insights(self, candidate_name: str) -> Path:
        """The best candidate's model performance report (Autopilot's CandidateArtifactLocations.ModelInsights)."""
        return self.root / "documentation" / "model_insights" / candidate_name

    def explainability(self, candidate_name: str) -> Path:
        """The best candidate's explainability report (CandidateArtifactLocations.Explainability)."""
        return self.root / "documentation" / "explainability" / candidate_name

    def ensemble_model(self, candidate_name: str) -> Path:
        return self.root / "sagemaker-automl-candidates" / "model" / candidate_name / "model.joblib"

    def candidate_model(self, candidate_name: str, dpp: str, algorithm: str) -> Path:
        tuning_job = f"{self.job_name}-{dpp}-{ALGORITHMS[algorithm].short_name}"
        return self.root / "tuning" / tuning_job / candidate_name / "output" / "model.joblib"


def candidate_document(folder: JobFolder, trial, objective: str, problem_type: str, model_path: Path | None,
                       mode: str = "HYPERPARAMETER_TUNING", reported: bool = False) -> dict:
    """One AutoMLCandidate, as ListCandidatesForAutoMLJob and BestCandidate give it; ``reported``: the job wrote
    this candidate's model insights and explainability reports."""
    name = trial.candidate_name(folder.job_name)
    ensembling = mode == "ENSEMBLING"
    document = {
        "CandidateName": name,
        "ObjectiveStatus": "Succeeded" if trial.status == "Completed" else "Failed",
        "CandidateSteps": _ensemble_steps(folder, name) if ensembling else _candidate_steps(folder, trial.dpp, name),
        "CandidateStatus": trial.status,
        "CreationTime": iso_time(trial.started),
        "EndTime": iso_time(trial.ended),
        "LastModifiedTime": iso_time(trial.ended),
    }
    if trial.status == "Completed":
        document["FinalAutoMLJobObjectiveMetric"] = {
            "Type": objective_direction(objective),
            "MetricName": objective,
            "Value": trial.objective,
            "StandardMetricName": objective,
        }
        document["CandidateProperties"] = {
            "CandidateMetrics": _candidate_metrics(trial.metrics, "Validation")
            + _candidate_metrics(trial.train_metrics, "Train")
        }
        if reported:
            document["CandidateProperties"]["CandidateArtifactLocations"] = {
                "Explainability": str(folder.explainability(name).resolve()),
                "ModelInsights": str(folder.model_insights(name).resolve()),
            }
    else:
        document["FailureReason"] = trial.failure_reason[:MAX_FAILURE_REASON]
    if model_path is not None and ensembling:  # one container: the whole ensemble, raw rows in
        document["InferenceContainers"] = [
            {"Image": f"{IMAGE}/ensemble", "ModelDataUrl": str(model_path.resolve()),
             "Environment": {"SAGEMAKER_PROGRAM": "sagemaker_serve"}}
        ]
    elif model_path is not None:
        document["InferenceContainers"] = _inference_containers(folder, trial, problem_type, model_path)
    return document


def _ensemble_steps(folder: JobFolder, candidate_name: str) -> list[dict]:
    """An ensembling candidate's steps: the analysis, then the training that bags, stacks and weighs its models."""
    return _steps((("ProcessingJob", "processing-job", folder.processing_job),
                   ("TrainingJob", "training-job", candidate_name)))


def _candidate_metrics(metrics: dict, scored_on: str) -> list[dict]:
    """CandidateMetrics of one set ("Validation" or "Train") as AWS types them: MetricName only for the objective
    metrics (its enum has no LogLoss, which StandardMetricName alone names), and no value JSON cannot carry (an
    AUC of NaN)."""
    return [
        ({"MetricName": metric} if metric in OBJECTIVE_METRICS else {})
        | {"StandardMetricName": metric, "Value": value, "Set": scored_on}
        for metric, value in metrics.items()
        if math.isfinite(value)
    ]


def _candidate_steps(folder: JobFolder, dpp: str, candidate_name: str) -> list[dict]:
    processor = folder.data_processor_job(dpp)
    steps = (
        ("ProcessingJob", "processing-job", folder.processing_job),  # analysis and split
        ("TrainingJob", "training-job", processor),  # fit the dpp's feature transform
        ("TransformJob", "transform-job", f"{processor}-rpb"),  # apply it
        ("TrainingJob", "training-job", candidate_name),  # tune the algorithm
    )
    return _steps(steps)


def _steps(steps) -> list[dict]:
    return [{"CandidateStepType": f"AWS::SageMaker::{kind}", "CandidateStepArn": arn(resource, name),
             "CandidateStepName": name} for kind, resource, name in steps]


def _inference_containers(folder: JobFolder, trial, problem_type: str, model_path: Path) -> list[dict]:
    processor = str(folder.data_processor_model(trial.dpp).resolve())
    containers = [
        {"Image": f"{IMAGE}/sklearn-automl", "ModelDataUrl": processor,
         "Environment": {"AUTOML_TRANSFORM_MODE": "feature-transform", "SAGEMAKER_PROGRAM": "sagemaker_serve"}},
        {"Image": f"{IMAGE}/{trial.algorithm}", "ModelDataUrl": str(model_path.resolve()), "Environment": {}},
    ]
    if problem_type != "Regression":
        containers.append(
            {"Image": f"{IMAGE}/sklearn-automl", "ModelDataUrl": processor,
             "Environment": {"AUTOML_TRANSFORM_MODE": "inverse-label-transform", "SAGEMAKER_PROGRAM": "sagemaker_serve",
                             "SAGEMAKER_INFERENCE_OUTPUT": "predicted_label"}}
        )
    return containers


def leaderboard_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["rank"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
