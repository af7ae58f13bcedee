"""The AWS-shaped documents a job writes: AutoMLCandidate (ListCandidatesForAutoMLJob, BestCandidate), ARNs,
timestamps and the leaderboard, with keys exactly as AWS spells them. Where each file lies is `files.JobFolder`'s.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime, timezone
from pathlib import Path

from .files import (
    JobFolder,
    dump_model,  # noqa: F401  (notebooks of jobs written before files.py import it from here)
)
from .vocabulary import (
    ACCOUNT,
    COMPLETED,
    ENSEMBLING,
    HYPERPARAMETER_TUNING,
    INFERENCE_KEYS,
    MAX_MESSAGE,
    OBJECTIVE_METRICS,
    REGION,
    REGRESSION,
    objective_direction,
)

IMAGE = "autopilot-local"


def iso_time(epoch: float) -> str:
    """An epoch time as the ISO 8601 text the job's JSON documents carry (UTC)."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


def arn(kind: str, name: str) -> str:
    """The local account's ARN of a SageMaker resource (``kind`` as in "automl-job", ``name`` its name)."""
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name.lower()}"


def candidate_document(folder: JobFolder, trial, objective: str, problem_type: str, model_path: Path | None,
                       mode: str = HYPERPARAMETER_TUNING, reported: bool = False) -> dict:
    """One AutoMLCandidate, as ListCandidatesForAutoMLJob and BestCandidate give it; ``reported``: the job wrote
    this candidate's model insights and explainability reports."""
    name = trial.candidate_name(folder.job_name)
    ensembling = mode == ENSEMBLING
    document = {
        "CandidateName": name,
        "ObjectiveStatus": "Succeeded" if trial.status == COMPLETED else "Failed",
        "CandidateSteps": _ensemble_steps(folder, name) if ensembling else _candidate_steps(folder, trial.dpp, name),
        "CandidateStatus": trial.status,
        "CreationTime": iso_time(trial.started),
        "EndTime": iso_time(trial.ended),
        "LastModifiedTime": iso_time(trial.ended),
    }
    if trial.status == COMPLETED:
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
                "Explainability": folder.location(folder.explainability(name)),
                "ModelInsights": folder.location(folder.model_insights(name)),
            }
    else:
        document["FailureReason"] = trial.failure_reason[:MAX_MESSAGE]
    if model_path is not None and ensembling:  # one container: the whole ensemble, raw rows in
        document["InferenceContainers"] = [
            {"Image": f"{IMAGE}/ensemble", "ModelDataUrl": folder.location(model_path),
             "Environment": {"SAGEMAKER_PROGRAM": "sagemaker_serve"} | _inference_keys(problem_type)}
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
    processor = folder.location(folder.data_processor_model(trial.dpp))
    containers = [
        {"Image": f"{IMAGE}/sklearn-automl", "ModelDataUrl": processor,
         "Environment": {"AUTOML_TRANSFORM_MODE": "feature-transform", "SAGEMAKER_PROGRAM": "sagemaker_serve"}},
        {"Image": f"{IMAGE}/{trial.algorithm}", "ModelDataUrl": folder.location(model_path), "Environment": {}},
    ]
    if problem_type != REGRESSION:
        containers.append(
            {"Image": f"{IMAGE}/sklearn-automl", "ModelDataUrl": processor,
             "Environment": {"AUTOML_TRANSFORM_MODE": "inverse-label-transform", "SAGEMAKER_PROGRAM": "sagemaker_serve"}
             | _inference_keys(problem_type)}
        )
    return containers


def _inference_keys(problem_type: str) -> dict:
    """A classification pipeline's last container says which inference keys it can answer with (the SDK's
    ``inference_response_keys`` are checked against them) and which it answers with by default."""
    if problem_type == REGRESSION:
        return {}
    return {"SAGEMAKER_INFERENCE_SUPPORTED": ",".join(INFERENCE_KEYS), "SAGEMAKER_INFERENCE_OUTPUT": "predicted_label"}


def leaderboard_csv(rows: list[dict]) -> str:
    """The leaderboard ``rows`` as CSV text under a header row (just ``rank`` when there are no rows)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["rank"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
