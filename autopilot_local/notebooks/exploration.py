"""The data exploration notebook: Autopilot's 2023 report sections, with the job's insights where they belong."""

from __future__ import annotations

from pathlib import Path

import nbformat

from ..analysis import ExplorationReport
from ..analysis.prediction_power import LEAKAGE_THRESHOLD
from ..vocabulary import REGRESSION
from . import report_views
from .prerun import prerun
from .rendering import render_notebook

TEMPLATE = "data_exploration.ipynb.jinja"
NAME = "SageMakerAutopilotDataExplorationNotebook.ipynb"
SECTIONS = ("summary", "target", "features", "duplicates", "missing", "cardinality")
# The report section each insight is shown in; insights not named here go to the Dataset Summary.
_INSIGHT_SECTIONS = {
    "heavy_tailed_target": "target",
    "outlier_target_values": "target",
    "missing_target_values": "target",
    "class_imbalance": "target",
    "rare_class": "target",
    "target_leakage": "features",
    "duplicate_rows": "duplicates",
    "mostly_missing_columns": "missing",
    "high_cardinality_categorical": "cardinality",
}


def render(report: ExplorationReport, job_name: str, report_path: Path, data_path: str) -> nbformat.NotebookNode:
    """The notebook with its outputs computed: its code cells run here, reading ``report_path`` and ``data_path``."""
    insights = {section: [] for section in SECTIONS}
    for insight in report.insights:
        insights[_INSIGHT_SECTIONS.get(insight["key"], "summary")].append(insight)
    notebook = render_notebook(
        TEMPLATE,
        job_name=job_name,
        report_path=str(report_path),
        data_path=data_path,
        target=report.target,
        rows=report.rows,
        columns=report.columns,
        problem_type=report.problem_type,
        problem_type_inferred=report.problem_type_inferred,
        regression=report.problem_type == REGRESSION,
        sample_rows=len(report.sample),
        sample_columns=report_views.TOP_FEATURES,
        sample_sizes=report.sample_sizes,
        leakage_threshold=LEAKAGE_THRESHOLD,
        missing_columns=sum(1 for p in report.missing.values() if p > 0),
        insights=insights,
    )
    return prerun(notebook)
