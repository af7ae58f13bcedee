"""End-to-end jobs on small tables: Autopilot-shaped results, a best model that predicts raw rows, budgets."""

from __future__ import annotations

import csv
import json
import math
import re
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from conftest import classification_frame, regression_frame

from autopilot_local import JobConfig, load_best_model, run_job
from autopilot_local.cli import main
from autopilot_local.errors import InputError
from autopilot_local.io import read_table


def _job(tmp_path, data, target, **settings):
    config = JobConfig(data=str(data), target=target, output_dir=str(tmp_path / "jobs"), seed=0, **settings)
    return config, run_job(config)


def _candidates(config) -> list[dict]:
    return json.loads((config.job_dir / "candidates.json").read_text())["Candidates"]


def _seconds(document: dict) -> float:
    start, end = (datetime.fromisoformat(document[key]) for key in ("CreationTime", "EndTime"))
    return (end - start).total_seconds()


def test_regression_job_writes_autopilot_shaped_results(tmp_path, regression_csv):
    config, document = _job(tmp_path, regression_csv, "price", job_name="homes", max_candidates=12)
    assert document["AutoMLJobStatus"] == "Completed"
    assert document["AutoMLJobSecondaryStatus"] == "MaxCandidatesReached"
    resolved = document["ResolvedAttributes"]
    assert resolved["AutoMLProblemTypeResolvedAttributes"]["TabularResolvedAttributes"]["ProblemType"] == "Regression"
    assert resolved["AutoMLJobObjective"]["MetricName"] == "MSE"
    best = document["BestCandidate"]
    assert best["FinalAutoMLJobObjectiveMetric"]["Type"] == "Minimize"
    assert math.isfinite(best["FinalAutoMLJobObjectiveMetric"]["Value"])
    assert json.loads((config.job_dir / "job.json").read_text()) == document

    candidates = _candidates(config)
    assert len(candidates) == 12
    values = [c["FinalAutoMLJobObjectiveMetric"]["Value"] for c in candidates if c["CandidateStatus"] == "Completed"]
    assert values == sorted(values) and values[0] == best["FinalAutoMLJobObjectiveMetric"]["Value"]
    names = [c["CandidateName"] for c in candidates]
    assert len(set(names)) == 12 and all(n.startswith("homes-dpp") for n in names)
    assert {c["CandidateSteps"][-1]["CandidateStepName"] for c in candidates} == set(names)
    with open(config.job_dir / "leaderboard.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["candidate_name"] for r in rows] == names
    assert len({r["pipeline"] for r in rows}) >= 6 and len({r["algorithm"] for r in rows}) == 3

    # the signal is linear in size and rooms plus a district premium: the best model must capture most of it
    frame = pd.read_csv(regression_csv)
    assert best["FinalAutoMLJobObjectiveMetric"]["Value"] < 0.2 * frame["price"].var()


def test_saved_best_pipeline_predicts_raw_rows(tmp_path, regression_csv):
    config, document = _job(tmp_path, regression_csv, "price", max_candidates=4, algorithms=("xgboost",))
    model = load_best_model(config.job_dir)
    raw = read_table(regression_csv)
    shuffled = raw.drop(columns=["price"]).sample(frac=1, random_state=1)[list(reversed(raw.columns[:-1]))]
    predictions = model.predict(shuffled.head(50))
    assert predictions.shape == (50,) and np.all(np.isfinite(predictions))
    truth = raw.loc[shuffled.index[:50], "price"].to_numpy()
    assert np.mean((predictions - truth) ** 2) < 0.2 * raw["price"].var()
    # one row at a time, money strings and ISO dates as the CSV has them
    single = model.predict(raw.drop(columns=["price"]).iloc[[3]])
    assert single.shape == (1,) and np.isclose(single[0], model.predict(raw.iloc[[3]])[0])


def test_binary_job_predicts_original_labels(tmp_path, binary_csv):
    config, document = _job(tmp_path, binary_csv, "label", max_candidates=6)
    assert document["ResolvedAttributes"]["AutoMLJobObjective"]["MetricName"] == "F1"
    problem = document["ResolvedAttributes"]["AutoMLProblemTypeResolvedAttributes"]["TabularResolvedAttributes"]
    assert problem["ProblemType"] == "BinaryClassification"
    assert len(document["BestCandidate"]["InferenceContainers"]) == 3
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(config.job_dir), str(binary_csv), "--output", str(out), "--probabilities"]) == 0
    table = pd.read_csv(out)
    truth = pd.read_csv(binary_csv)["label"]
    assert set(table["predicted_label"]) <= {"no", "yes"}
    assert (table["predicted_label"] == truth).mean() > 0.8
    probabilities = np.array([json.loads(p) for p in table["probabilities"]])
    assert np.allclose(probabilities.sum(axis=1), 1)


def test_multiclass_job_uses_accuracy(tmp_path):
    path = tmp_path / "three.csv"
    classification_frame(n=900, classes=("low", "mid", "high")).to_csv(path, index=False)
    config, document = _job(tmp_path, path, "label", max_candidates=4, algorithms=("xgboost", "linear-learner"))
    assert document["ResolvedAttributes"]["AutoMLJobObjective"]["MetricName"] == "Accuracy"
    assert document["BestCandidate"]["FinalAutoMLJobObjectiveMetric"]["Value"] > 0.6
    assert set(load_best_model(config.job_dir).predict(pd.read_csv(path).head(30))) <= {"low", "mid", "high"}


def test_rows_with_missing_target_are_dropped_and_counted(tmp_path):
    frame = regression_frame(n=700)
    frame.loc[:99, "price"] = np.nan
    path = tmp_path / "holes.csv"
    frame.to_csv(path, index=False)
    config, document = _job(tmp_path, path, "price", max_candidates=2, algorithms=("linear-learner",))
    assert "dropped 100 rows" in document["PartialFailureReasons"][0]["PartialFailureMessage"]


def test_separate_validation_file_is_the_holdout(tmp_path):
    train, valid = tmp_path / "train.csv", tmp_path / "valid.csv"
    regression_frame(n=600, seed=1).to_csv(train, index=False)
    regression_frame(n=200, seed=2).to_csv(valid, index=False)
    config, document = _job(tmp_path, train, "price", validation_data=str(valid), max_candidates=2,
                            algorithms=("xgboost",))
    channels = [c["ChannelType"] for c in document["AutoMLJobInputDataConfig"]]
    assert channels == ["training", "validation"]
    model = load_best_model(config.job_dir)
    holdout = pd.read_csv(valid)
    mse = float(np.mean((model.predict(holdout) - holdout["price"]) ** 2))
    assert mse == pytest.approx(document["BestCandidate"]["FinalAutoMLJobObjectiveMetric"]["Value"], rel=1e-9)


def _wide(tmp_path):
    """12,000 rows x 40 numbers: an MLP trial (5 folds) takes about 6 s here."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(12000, 40)), columns=[f"f{i}" for i in range(40)])
    frame["y"] = frame.sum(axis=1) + rng.normal(size=12000)
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    return path


def test_max_runtime_per_training_job_fails_slow_trials_and_the_job_goes_on(tmp_path):
    path = _wide(tmp_path)
    config, document = _job(tmp_path, path, "y", max_candidates=6, algorithms=("linear-learner", "mlp"),
                            max_runtime_per_training_job=2)
    assert document["AutoMLJobStatus"] == "Completed"
    failed = [c for c in _candidates(config) if c["CandidateStatus"] == "Failed"]
    assert failed, "an MLP trial (5 folds on 12,000 x 40, about 6 s here) takes longer than 2 s"
    assert all("MaxRuntimePerTrainingJobInSeconds" in c["FailureReason"] for c in failed)
    assert all(_seconds(c) < 2 + 1.0 for c in failed)
    assert "-linear-learner-" in document["BestCandidate"]["CandidateName"]  # the fast linear candidates finish and win


def test_a_budget_no_candidate_fits_fails_saying_where_the_time_went_and_what_would_do(tmp_path):
    config = JobConfig(data=str(_wide(tmp_path)), target="y", output_dir=str(tmp_path / "jobs"), seed=0,
                       max_candidates=4, algorithms=("mlp",), max_job_runtime=4)
    with pytest.raises(InputError, match="Try MaxAutoMLJobRuntimeInSeconds="):
        run_job(config)
    document = json.loads((config.job_dir / "job.json").read_text())
    reason = document["FailureReason"]
    assert document["AutoMLJobStatus"] == "Failed"
    assert reason.startswith("no candidate completed in MaxAutoMLJobRuntimeInSeconds=4: "), reason
    assert re.search(r"AnalyzingData \d+\.\d s, FeatureEngineering \d+\.\d s.*; \w+ took the most", reason), reason
    suggested = int(re.search(r"Try MaxAutoMLJobRuntimeInSeconds=(\d+) or more", reason).group(1))
    assert suggested >= 8 and suggested % 10 == 0


def test_max_job_runtime_ends_the_job_within_two_percent(tmp_path, regression_csv):
    config, document = _job(tmp_path, regression_csv, "price", max_candidates=750, max_job_runtime=30)
    assert document["AutoMLJobStatus"] == "Completed"
    assert document["AutoMLJobSecondaryStatus"] == "MaxAutoMLJobRuntimeReached"
    assert 29 <= _seconds(document) <= 31  # the job's own CreationTime to EndTime
    assert math.isfinite(document["BestCandidate"]["FinalAutoMLJobObjectiveMetric"]["Value"])
    assert 1 < len(_candidates(config)) < 750


def test_the_command_lines_budget_counts_from_the_command_not_from_after_its_imports(tmp_path, regression_csv,
                                                                                    capsys):
    asked = datetime.now().astimezone()
    assert main(["run", str(regression_csv), "--target", "price", "--max-job-runtime", "10", "--output",
                 str(tmp_path), "--job-name", "clock", "--quiet"]) == 0
    document = json.loads((tmp_path / "clock" / "job.json").read_text())
    created = datetime.fromisoformat(document["CreationTime"])
    assert 0 <= (created - asked).total_seconds() < 0.5  # the job's clock starts as the command does
    with pytest.raises(SystemExit):  # an abbreviation is refused: --max-runtime is not the per-trial limit
        main(["run", str(regression_csv), "--target", "price", "--max-runtime", "10"])
    assert "unrecognized arguments: --max-runtime" in capsys.readouterr().err


def test_request_file_runs_the_aws_request(tmp_path, regression_csv):
    request = JobConfig(data=str(regression_csv), target="price", job_name="from-request", max_candidates=2,
                        algorithms=("linear-learner",), output_dir=str(tmp_path / "jobs")).to_request()
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    assert main(["run", "--request", str(path), "--quiet"]) == 0
    document = json.loads((tmp_path / "jobs" / "from-request" / "job.json").read_text())
    assert document["AutoMLJobStatus"] == "Completed"
    assert len(_candidates(JobConfig.from_request(request))) == 2


def test_candidate_definitions_only_stops_before_tuning(tmp_path, regression_csv):
    config, document = _job(tmp_path, regression_csv, "price", candidate_definitions_only=True)
    status = (document["AutoMLJobStatus"], document["AutoMLJobSecondaryStatus"])
    assert status == ("Completed", "CandidateDefinitionsGenerated")
    assert "BestCandidate" not in document
    assert not (config.job_dir / "candidates.json").exists()


def test_seed_and_trial_budget_reproduce_the_job_on_one_worker_or_three(tmp_path, binary_csv):
    runs = []
    for workers in (1, 3, 3):
        config, document = _job(tmp_path / f"w{workers}-{len(runs)}", binary_csv, "label", max_candidates=8,
                                workers=workers, job_name="same")
        board = (config.job_dir / "leaderboard.csv").read_bytes()
        predictions = load_best_model(config.job_dir).predict_proba(pd.read_csv(binary_csv))
        runs.append((board, predictions))
    for board, predictions in runs[1:]:
        assert board == runs[0][0]  # byte for byte: the leaderboard holds no timings
        np.testing.assert_array_equal(predictions, runs[0][1])


def test_a_class_too_rare_for_every_fold_does_not_fail_xgboost(tmp_path):
    frame = classification_frame(n=900, classes=("low", "mid", "high"))
    frame.loc[0, "label"] = "aaa"  # one row, coded 0: the training rows of the fold that scores it lack it
    path = tmp_path / "rare.csv"
    frame.to_csv(path, index=False)
    config, document = _job(tmp_path, path, "label", max_candidates=3, algorithms=("xgboost",))
    statuses = [c["CandidateStatus"] for c in _candidates(config)]
    assert statuses == ["Completed"] * 3
    probabilities = load_best_model(config.job_dir).predict_proba(frame.head(5))
    assert probabilities.shape == (5, 4) and np.allclose(probabilities.sum(axis=1), 1)
