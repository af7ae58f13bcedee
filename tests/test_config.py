"""JobConfig mirrors CreateAutoMLJobV2: Autopilot's defaults, names and validation rules."""

from __future__ import annotations

import json

import pytest

from autopilot_local.config import JobConfig, default_job_name
from autopilot_local.errors import InputError
from autopilot_local.vocabulary import objective_direction


def test_defaults_are_autopilots():
    config = JobConfig(data="homes.csv", target="price")
    assert config.validation_fraction == 0.2
    assert config.mode == "HYPERPARAMETER_TUNING"
    assert config.algorithms == ()  # none asked for: every algorithm of the mode, and no AlgorithmsConfig sent
    assert config.algorithms_for("HYPERPARAMETER_TUNING") == ("xgboost", "linear-learner", "mlp")
    assert "CandidateGenerationConfig" not in config.to_request()["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    assert config.effective_max_candidates == 250
    assert config.resolved_objective("Regression") == "MSE"
    assert config.resolved_objective("BinaryClassification") == "F1"
    assert config.resolved_objective("MulticlassClassification") == "Accuracy"
    assert objective_direction("MSE") == "Minimize" and objective_direction("AUC") == "Maximize"


def test_default_job_name_follows_autopilots_rule():
    name = default_job_name("/data/Paris listings (2020) final.v2.csv.gz")
    assert len(name) <= 32
    JobConfig(data="x.csv", target="y", job_name=name)  # accepted by the same rule


@pytest.mark.parametrize("name", ["-leading", "has_underscore", "a" * 33, "spaces here"])
def test_invalid_job_names(name):
    with pytest.raises(InputError, match="job name"):
        JobConfig(data="x.csv", target="y", job_name=name)


def test_v2_request_round_trip():
    config = JobConfig(data="train.csv", target="price", job_name="airbnb", objective="RMSE", max_candidates=40,
                       max_runtime_per_training_job=60, max_job_runtime=600, validation_fraction=0.25,
                       algorithms=("xgboost",), problem_type="Regression")
    request = json.loads(json.dumps(config.to_request()))
    tabular = request["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    assert tabular["CompletionCriteria"] == {"MaxCandidates": 40, "MaxRuntimePerTrainingJobInSeconds": 60,
                                             "MaxAutoMLJobRuntimeInSeconds": 600}
    assert request["DataSplitConfig"] == {"ValidationFraction": 0.25}
    again = JobConfig.from_request(request)
    for name in ("data", "target", "job_name", "objective", "max_candidates", "max_runtime_per_training_job",
                 "max_job_runtime", "validation_fraction", "algorithms", "problem_type"):
        assert getattr(again, name) == getattr(config, name), name


def test_v1_request_is_accepted_too():
    request = {
        "AutoMLJobName": "bank",
        "InputDataConfig": [{"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "bank.csv"}},
                             "TargetAttributeName": "y"}],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
        "ProblemType": "BinaryClassification",
        "AutoMLJobObjective": {"MetricName": "AUC"},
        "AutoMLJobConfig": {"CompletionCriteria": {"MaxCandidates": 5}, "Mode": "AUTO"},
        "RoleArn": "arn:aws:iam::1:role/x",
    }
    config = JobConfig.from_request(request)
    assert (config.data, config.target, config.objective, config.max_candidates) == ("bank.csv", "y", "AUC", 5)
    assert config.mode == "AUTO" and config.output_dir == "s3://bucket/out"  # resolved by the data's size
    assert config.job_dir.parts[-4:] == ("s3-staging", "bucket", "out", "bank")  # staged here, mirrored at the end


def test_flags_override_the_request_and_bad_requests_are_named(tmp_path):
    path = tmp_path / "request.json"
    path.write_text(json.dumps(JobConfig(data="a.csv", target="y", job_name="one").to_request()))
    assert JobConfig.from_request_file(path, job_name="two").job_name == "two"
    path.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        JobConfig.from_request_file(path)
    path.write_text(json.dumps({"AutoMLJobName": "x"}))
    with pytest.raises(InputError, match="not a CreateAutoMLJobV2"):
        JobConfig.from_request_file(path)


def test_objective_must_fit_the_problem_type():
    with pytest.raises(InputError, match="does not fit a Regression"):
        JobConfig(data="x.csv", target="y", objective="F1", problem_type="Regression")
    config = JobConfig(data="x.csv", target="y", objective="F1")  # unknown problem type yet: checked later
    with pytest.raises(InputError, match="F1"):
        config.resolved_objective("MulticlassClassification")
