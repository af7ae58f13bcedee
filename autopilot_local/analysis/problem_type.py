"""Autopilot's problem type inference from the target column, and which target rows are usable."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..parsing import coerce_numeric, numeric_fraction
from ..vocabulary import BINARY, MULTICLASS, PROBLEM_TYPES, REGRESSION
from ._common import missing_mask

# An integer-valued numeric target with 3..MAX_INTEGER_CLASSES distinct values is a class label (ratings, 0/1/2
# codes); more distinct values, or any non-integer value, make it a quantity: Regression.
MAX_INTEGER_CLASSES = 10
# A string target whose non-missing values parse as numbers (money "$85.00", "95%") at least this often is numeric.
NUMERIC_TARGET_SHARE = 0.9


def infer_problem_type(target: pd.Series) -> str:
    """Regression, BinaryClassification or MulticlassClassification, from the non-missing target values.

    Non-numeric targets are classes (two distinct values: binary). Numeric targets with two distinct values are
    binary, integer-valued ones with at most ``MAX_INTEGER_CLASSES`` distinct values multiclass, others regression.
    """
    name = target.name
    present = target[~missing_mask(target)]
    if present.empty:
        raise InputError(f"target column {name!r} has no values: every row is missing")
    numbers = target_numbers(present)
    if numbers is None:
        classes = class_labels(present).unique()
        _require_two(name, classes)
        return BINARY if len(classes) == 2 else MULTICLASS
    distinct = np.unique(numbers[np.isfinite(numbers)])
    _require_two(name, distinct)
    if len(distinct) == 2:
        return BINARY
    if len(distinct) <= MAX_INTEGER_CLASSES and np.all(distinct == np.round(distinct)):
        return MULTICLASS
    return REGRESSION


def target_numbers(values: pd.Series) -> np.ndarray | None:
    """The target as floats when it is numeric (numeric dtype or mostly numeric strings), else None."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return None
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        return coerce_numeric(values)
    if numeric_fraction(values) >= NUMERIC_TARGET_SHARE:
        return coerce_numeric(values)
    return None


def class_labels(values: pd.Series) -> pd.Series:
    """Class labels as compared and counted: strings with surrounding white space stripped, other values as they are."""
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        return values.astype(str).str.strip()
    return values


def valid_target_mask(target: pd.Series, problem_type: str) -> np.ndarray:
    """Rows usable for training: regression needs a finite number, classification any non-missing label but an
    infinite number (inf among 0/1 labels is a broken value, not a third class)."""
    if problem_type == REGRESSION:
        return np.isfinite(coerce_numeric(target))
    if isinstance(target.dtype, pd.CategoricalDtype):
        return ~missing_mask(target)
    return ~missing_mask(target) & ~np.isinf(pd.to_numeric(target, errors="coerce").to_numpy(dtype=float))


def check_problem_type(problem_type: str) -> str:
    """Return ``problem_type`` if it is one of Autopilot's three names, else raise InputError naming it."""
    if problem_type not in PROBLEM_TYPES:
        raise InputError(f"problem type {problem_type!r} is not one of {', '.join(PROBLEM_TYPES)}")
    return problem_type


def _require_two(name, distinct) -> None:
    if len(distinct) == 0:
        raise InputError(f"target column {name!r} has no usable values: every value is missing or infinite")
    if len(distinct) < 2:
        raise InputError(f"target column {name!r} has a single class {shown_label(distinct[0])} (constant target): "
                         "at least two distinct values are needed")


def shown_label(value) -> str:
    """A class label as messages quote it: 3.0 as 3, strings in quotes."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return repr(int(value))
    return repr(value.item() if isinstance(value, np.generic) else value)
