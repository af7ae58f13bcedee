"""The runner side of the peer protocol: read TASK.json, load the frames, write predictions and info.

Runners execute in the peers' own venvs, so this module needs only the stdlib, numpy and pandas, and is imported as a
sibling (`import _protocol`): the script's folder is first on sys.path when Python runs `bench/runners/X.py`.
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "Task",
    "align_to_train",
    "as_text",
    "class_labels",
    "is_text",
    "load_frames",
    "read_task",
    "versions",
    "write_info",
    "write_predictions",
]

PROBLEM_TYPES = ("Regression", "BinaryClassification", "MulticlassClassification")


@dataclass(frozen=True)
class Task:
    """One fit-and-predict job, exactly as the harness wrote it to TASK.json."""

    system: str
    train: Path
    test: Path
    target: str
    problem_type: str
    metric: str
    budget_s: float | None
    seed: int
    n_jobs: int
    workdir: Path
    predictions: Path
    info: Path

    @property
    def is_classification(self) -> bool:
        return self.problem_type != "Regression"


def read_task(argv: list[str] | None = None) -> Task:
    """Parse the TASK.json named on the command line; the workdir is created so that peers can write into it."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit(f"usage: {Path(sys.argv[0]).name} TASK.json")
    spec = json.loads(Path(args[0]).read_text())
    if spec["problem_type"] not in PROBLEM_TYPES:
        raise ValueError(f"problem_type {spec['problem_type']!r} is not one of {PROBLEM_TYPES}")
    budget = spec.get("budget_s")
    task = Task(
        system=spec["system"],
        train=Path(spec["train"]),
        test=Path(spec["test"]),
        target=spec["target"],
        problem_type=spec["problem_type"],
        metric=spec["metric"],
        budget_s=None if budget is None else float(budget),
        seed=int(spec.get("seed", 0)),
        n_jobs=int(spec.get("n_jobs", 2)),
        workdir=Path(spec["workdir"]),
        predictions=Path(spec["predictions"]),
        info=Path(spec["info"]),
    )
    task.workdir.mkdir(parents=True, exist_ok=True)
    return task


def load_frames(task: Task) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Train features, train target and test features, read with pandas' default options as the protocol fixes,
    the test columns then aligned to the training frame's (see `align_to_train`)."""
    train = pd.read_csv(task.train)
    y = train.pop(task.target)
    return train, y, align_to_train(pd.read_csv(task.test)[list(train.columns)], train)


def is_text(column: pd.Series) -> bool:
    """Object or string dtype: pandas 2 reads text as object, pandas 3 as str."""
    return pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)


def as_text(column: pd.Series) -> pd.Series:
    """Values as strings with missing values kept; integral floats lose their '.0' (98112.0 -> '98112')."""

    def text(value: object) -> object:
        if pd.isna(value):
            return np.nan
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return column.astype(object).map(text).astype(object)


def align_to_train(test: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    """The test frame with each column of the training frame's kind, text or numeric.

    read_csv guesses each file's dtypes on its own: Seattle's zipcode is text in the training file (one odd value)
    but float in the test file, and '98112.0' would then be an unseen category. A user who reads one file and splits
    it never sees this, so the runners undo it.
    """
    test = test.copy()
    for name in train.columns:
        if is_text(train[name]) and not is_text(test[name]):
            test[name] = as_text(test[name]).astype(train[name].dtype)
        elif not is_text(train[name]) and is_text(test[name]):
            test[name] = pd.to_numeric(test[name], errors="coerce")
    return test


def class_labels(y: pd.Series) -> list[str]:
    """The class labels as strings, sorted: index i is class code i, and the last one is the positive class."""
    return sorted(y.map(str).unique())


def write_predictions(
    task: Task, prediction: np.ndarray | pd.Series, proba: np.ndarray | None = None, labels: list[str] | None = None
) -> None:
    """Write the `prediction` column and, for classification, one `proba_<label>` column per class (in `labels`
    order, which must be the column order of `proba`)."""
    columns: dict[str, np.ndarray] = {"prediction": np.asarray(prediction)}
    if task.is_classification:
        if proba is None or labels is None:
            raise ValueError("classification needs class probabilities and their labels")
        proba = np.asarray(proba, dtype=float)
        if proba.shape != (len(columns["prediction"]), len(labels)):
            raise ValueError(f"probabilities of shape {proba.shape} for {len(labels)} labels")
        columns.update({f"proba_{label}": proba[:, i] for i, label in enumerate(labels)})
    task.predictions.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(columns).to_csv(task.predictions, index=False)


def versions(*packages: str) -> dict[str, str]:
    """Installed versions of the named distributions (absent ones left out), plus Python's."""
    found = {"python": platform.python_version()}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def write_info(
    task: Task,
    *,
    fit_s: float,
    predict_s: float,
    time_to_first_s: float | None,
    n_models: int | None,
    best_model: str | None,
    versions: dict[str, str],
    notes: str,
) -> None:
    """Write info JSON with exactly the keys the harness reads."""
    info = {
        "fit_s": float(fit_s),
        "predict_s": float(predict_s),
        "time_to_first_s": None if time_to_first_s is None else float(time_to_first_s),
        "n_models": None if n_models is None else int(n_models),
        "best_model": best_model,
        "versions": versions,
        "notes": notes,
    }
    task.info.parent.mkdir(parents=True, exist_ok=True)
    task.info.write_text(json.dumps(info, indent=1) + "\n")
