"""Batch transform: the best candidate of a finished job, applied to a table of raw rows."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from .artifacts import read_json
from .config import REGRESSION
from .errors import InputError
from .model import CandidateModel


def load_best_model(job_dir: Path) -> CandidateModel:
    job_json = Path(job_dir) / "job.json"
    if not job_json.exists():
        raise InputError(f"{job_dir} is not a job folder (no job.json)")
    best = read_json(job_json).get("BestCandidate")
    if best is None:
        raise InputError(f"job {job_dir} has no best candidate (status {read_json(job_json).get('AutoMLJobStatus')})")
    paths = list((Path(job_dir) / "tuning").glob(f"*/{best['CandidateName']}/output/model.joblib"))
    if not paths:
        raise InputError(f"the model file of {best['CandidateName']} is missing under {job_dir}/tuning")
    return joblib.load(paths[0])


def prediction_table(model: CandidateModel, rows: pd.DataFrame, probabilities: bool = False) -> pd.DataFrame:
    """One row per input row: ``predicted_label``; with ``probabilities``, Autopilot's other inference keys too."""
    raw = model.predict_raw(rows)
    if model.problem_type == REGRESSION:
        return pd.DataFrame({"predicted_label": raw})
    labels = model.classes_
    table = pd.DataFrame({"predicted_label": labels[np.argmax(raw, axis=1)]})
    if probabilities:
        table["probability"] = raw.max(axis=1)
        table["probabilities"] = [json.dumps([round(float(p), 6) for p in row]) for row in raw]
        table["labels"] = json.dumps([str(label) for label in labels])
    return table
