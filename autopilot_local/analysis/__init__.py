"""Data exploration before training: column types, problem type and Autopilot's data exploration report."""

from .column_types import ColumnTypes, infer_column_types
from .problem_type import infer_problem_type
from .report import ExplorationReport, analyze

__all__ = ["ColumnTypes", "ExplorationReport", "analyze", "infer_column_types", "infer_problem_type"]
