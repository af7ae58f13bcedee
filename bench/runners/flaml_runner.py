"""FLAML AutoML on the raw frame, as a user would call it: `python bench/runners/flaml_runner.py TASK.json`.

Classification labels are encoded as the codes of their sorted string forms, so that for binary F1 FLAML's positive
class (label 1) is the sorted-last label, as the protocol fixes, and predict_proba's columns follow that order.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import _protocol as protocol
import numpy as np
import pandas as pd
from flaml import AutoML

PACKAGES = ("flaml", "lightgbm", "xgboost", "xgboost-cpu", "scikit-learn", "pandas", "numpy", "scipy")
METRICS = {"mse": "mse", "f1": "f1", "accuracy": "accuracy"}


def trial_log(path: Path) -> list[dict]:
    """FLAML's JSON-lines trial records (the closing checkpoint line, which has no record_id, left out)."""
    if not path.exists():
        return []
    records = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return [r for r in records if "record_id" in r]


def main() -> None:
    task = protocol.read_task()
    X, y, X_test = protocol.load_frames(task)
    labels = protocol.class_labels(y) if task.is_classification else None
    y_fit = pd.Series(pd.Categorical(y.map(str), categories=labels).codes, index=y.index) if labels else y
    log = task.workdir / "flaml.log"
    automl = AutoML()
    started = time.perf_counter()
    automl.fit(
        X_train=X,
        y_train=y_fit,
        task="classification" if labels else "regression",
        time_budget=task.budget_s,
        metric=METRICS[task.metric],
        seed=task.seed,
        n_jobs=task.n_jobs,
        log_file_name=str(log),
        log_type="all",
        verbose=0,
    )
    fit_s = time.perf_counter() - started

    started = time.perf_counter()
    if labels:
        codes = np.asarray(automl.predict(X_test), dtype=int)
        prediction = np.asarray(labels, dtype=object)[codes]
        proba = automl.predict_proba(X_test)
    else:
        prediction, proba = automl.predict(X_test), None
    predict_s = time.perf_counter() - started

    protocol.write_predictions(task, prediction, proba, labels)
    records = trial_log(log)
    protocol.write_info(
        task,
        fit_s=fit_s,
        predict_s=predict_s,
        time_to_first_s=records[0]["wall_clock_time"] if records else None,
        n_models=len(records),
        best_model=automl.best_estimator,
        versions=protocol.versions(*PACKAGES),
        notes=(
            "time_to_first_s: wall_clock_time of the first record in FLAML's trial log (log_type='all', one record "
            "per trial, seconds since fit() started); n_models: trials logged; best_model: the best learner, "
            f"val loss {automl.best_loss:.5g} with config {json.dumps(automl.best_config, default=float)}."
        ),
    )


if __name__ == "__main__":
    main()
