"""autopilot-local on the raw training file, as a user would run it: `python bench/runners/autopilot_local_runner.py
TASK.json` in the project's own environment.

The budget is the job's MaxAutoMLJobRuntimeInSeconds; the system name's suffix picks Autopilot's mode.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import _protocol as protocol

from autopilot_local import JobConfig, load_best_model
from autopilot_local.io import read_table
from autopilot_local.job import run_job  # imported here, as the peers' runners import theirs: fit_s is the fit
from autopilot_local.progress import Reporter

PACKAGES = ("autopilot-local", "scikit-learn", "xgboost", "xgboost-cpu", "lightgbm", "optuna", "pandas", "numpy")
OBJECTIVES = {"mse": "MSE", "f1": "F1", "accuracy": "Accuracy"}
MODES = {"autopilot_local": "HYPERPARAMETER_TUNING", "autopilot_local_ensembling": "ENSEMBLING"}


def main() -> None:
    task = protocol.read_task()
    config = JobConfig(
        data=str(task.train), target=task.target, job_name="bench", output_dir=str(task.workdir),
        problem_type=task.problem_type, objective=OBJECTIVES[task.metric], mode=MODES[task.system],
        max_job_runtime=int(task.budget_s), seed=task.seed, workers=task.n_jobs,
        allow_small=True,  # the peers take a 258-row table (penguins); Autopilot itself asks for 500 rows
    )
    started = time.time()
    described = run_job(config, Reporter())
    fit_s = time.time() - started

    started_predict = time.perf_counter()
    model = load_best_model(task.workdir / "bench")
    rows = read_table(task.test)
    labels = None
    if task.is_classification:
        proba = model.predict_proba(rows)
        labels = [str(label) for label in model.classes_]
        protocol.write_predictions(task, [labels[i] for i in proba.argmax(axis=1)], proba, labels)
    else:
        protocol.write_predictions(task, model.predict(rows))
    predict_s = time.perf_counter() - started_predict

    candidates = json.loads((task.workdir / "bench" / "candidates.json").read_text())["Candidates"]
    ends = [_epoch(c["EndTime"]) for c in candidates if c["CandidateStatus"] == "Completed"]
    protocol.write_info(
        task,
        fit_s=fit_s,
        predict_s=predict_s,
        time_to_first_s=min(ends) - started if ends else None,
        n_models=len(candidates),
        best_model=described["BestCandidate"]["CandidateName"],
        versions=protocol.versions(*PACKAGES),
        notes=(
            "time_to_first_s: EndTime of the earliest completed candidate less the time run_job() was called "
            f"(reading, analysis and feature engineering included); stopped by {described['AutoMLJobSecondaryStatus']}."
        ),
    )


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


if __name__ == "__main__":
    main()
