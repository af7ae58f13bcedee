"""Batch transform: the best candidate of a finished job, applied to a table of raw rows.

The inference keys (``predicted_label``, ``probability``, ``probabilities``, ``labels``) are computed here and
nowhere else: `autopilot-local predict` and the endpoint of `serve` both call `prediction_columns` and write CSV
with `encode_csv`.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from .errors import InputError
from .files import JobFolder, load_model, read_json
from .io import read_table_chunks
from .model import CandidateModel
from .vocabulary import INFERENCE_KEYS, REGRESSION

DEFAULT_KEYS = ("predicted_label",)
# Rows per chunk when `predict` streams a file: memory stays flat whatever the file's length.
CHUNK_ROWS = 50_000


def load_best_model(job_dir: Path) -> CandidateModel:
    """The best candidate of the job in ``job_dir``, as one object that predicts from raw rows.

    Parameters
    ----------
    job_dir : Path
        A job folder, ``<output>/<job name>``.

    Raises
    ------
    InputError
        If ``job_dir`` holds no job, the job has no best candidate (yet), or its model file is missing.
    """
    return load_model(best_model_file(job_dir))


def best_model_file(job_dir: Path) -> Path:
    """The model file of the best candidate of the job in ``job_dir``; `InputError` as `load_best_model`."""
    folder = JobFolder.existing(job_dir)
    described = read_json(folder.job_json)
    best = described.get("BestCandidate")
    if best is None:
        raise InputError(f"job {job_dir} has no best candidate (status {described.get('AutoMLJobStatus')})")
    path = folder.saved_model(best["CandidateName"])
    if path is None:
        raise InputError(f"the model file of {best['CandidateName']} is missing under {job_dir}")
    return path


def resolve_keys(keys: str | Sequence[str] | None, problem_type: str) -> tuple[str, ...]:
    """The inference keys a response carries: ``keys`` (comma-separated or a sequence), else the
    ``SAGEMAKER_INFERENCE_OUTPUT`` environment variable, else ``predicted_label``.

    A regression model answers with its value alone, as Autopilot's regression containers do.
    """
    if not keys:
        keys = os.environ.get("SAGEMAKER_INFERENCE_OUTPUT") or DEFAULT_KEYS
    if isinstance(keys, str):
        keys = keys.split(",")
    chosen = tuple(dict.fromkeys(key.strip().lower() for key in keys if key.strip()))
    unknown = [key for key in chosen if key not in INFERENCE_KEYS]
    if unknown or not chosen:
        raise InputError(f"inference keys must be among {', '.join(INFERENCE_KEYS)}; got {', '.join(keys) or 'none'}")
    if problem_type == REGRESSION and chosen != DEFAULT_KEYS:
        raise InputError(f"a regression model answers with its value only; the keys {', '.join(chosen)} are for "
                         "classification")
    return chosen


def prediction_columns(model: CandidateModel, rows: pd.DataFrame, keys: Sequence[str] = DEFAULT_KEYS) -> dict:
    """One list per key, one item per row, as Autopilot's inference containers compute them.

    ``probability`` is the positive class's probability (the second label) for a binary problem and the predicted
    label's for a multiclass one, as Autopilot's HPO containers give it; ``probabilities`` follow ``labels``.
    Regression gives ``predicted_label``: the predicted value.
    """
    raw = model.predict_raw(rows)
    if model.problem_type == REGRESSION:
        return {"predicted_label": np.asarray(raw, dtype=float).tolist()}
    labels = model.classes_
    values = {
        "predicted_label": lambda: labels[np.argmax(raw, axis=1)].tolist(),
        "probability": lambda: (raw[:, 1] if raw.shape[1] == 2 else raw.max(axis=1)).tolist(),
        "probabilities": lambda: raw.tolist(),
        "labels": lambda: [[str(label) for label in labels]] * len(raw),
    }
    return {key: values[key]() for key in keys}


def encode_csv(columns: dict, header: bool = False) -> str:
    """One line per row with the keys in order; a list cell is written as Autopilot's containers write it
    (``"[0.9, 0.1]"``, ``"['yes', 'no']"``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(columns)
    writer.writerows(zip(*columns.values()))
    return buffer.getvalue()


def write_predictions(model: CandidateModel, path: str | Path, out: TextIO, keys: Sequence[str],
                      header: bool) -> int:
    """Predict the rows of a CSV or Parquet file chunk by chunk (`CHUNK_ROWS`), writing each chunk's lines to
    ``out`` as soon as they are ready; returns the number of rows."""
    count = 0
    for chunk in read_table_chunks(path, CHUNK_ROWS):
        out.write(encode_csv(prediction_columns(model, chunk, keys), header=header and count == 0))
        count += len(chunk)
    if count == 0:
        raise InputError(f"{path} has a header but no data rows")
    return count
