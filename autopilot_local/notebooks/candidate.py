"""The candidate definition notebook: the job's candidates, re-run through the engine's own functions."""

from __future__ import annotations

from pathlib import Path

import nbformat

from ..config import JobConfig
from ..files import JobFolder
from ..tuning.algorithms import ALGORITHMS
from ..vocabulary import CV_FOLDS, ENSEMBLING, OBJECTIVES, objective_direction
from .rendering import render_notebook, trusted

TEMPLATE = "candidate_definition.ipynb.jinja"
ENSEMBLE_TEMPLATE = "candidate_ensemble.ipynb.jinja"
NAME = "SageMakerAutopilotCandidateDefinitionNotebook.ipynb"


def render(config: JobConfig, data, job_dir: Path, modules_dir: Path) -> nbformat.NotebookNode:
    """The notebook, unexecuted (as Autopilot's): running it performs the job's transformations and tuning.

    ``data`` is the job's `PreparedData`; paths are absolute so the notebook runs from any working directory, and
    the notebook falls back to its own place in the job folder when the folder has moved.
    """
    definitions = data.definitions
    if data.mode == ENSEMBLING:
        return render_notebook(ENSEMBLE_TEMPLATE, plan=data.plan, folds=CV_FOLDS, sample_weight=config.sample_weight,
                               **_common(config, data, job_dir, modules_dir))
    algorithms = dict.fromkeys(d.algorithm for d in definitions)
    return render_notebook(
        TEMPLATE,
        max_candidates=config.effective_max_candidates,
        max_runtime=config.max_job_runtime,
        algorithms={name: ALGORITHMS[name].ranges for name in algorithms},
        **_common(config, data, job_dir, modules_dir),
    )


def _common(config: JobConfig, data, job_dir: Path, modules_dir: Path) -> dict:
    """What both candidate notebooks say of the job."""
    return dict(
        job_name=config.job_name,
        job_dir=str(job_dir),
        modules_dir=str(modules_dir),
        data_path=_absolute(config.data),
        validation_path=_absolute(config.validation_data) if config.validation_data else None,
        columns=len(data.report.column_names),
        target=config.target,
        problem_type=data.problem_type,
        n_classes=data.n_classes,
        objective=data.objective,
        objectives=", ".join(OBJECTIVES[data.problem_type]),
        direction=objective_direction(data.objective).lower() + "s",
        seed=config.seed,
        allow_small=config.allow_small,
        workers=config.workers,
        candidates=[_candidate(d) for d in data.definitions],
        labels=[d.label for d in data.definitions],
    )


def _candidate(definition) -> dict:
    module = f"{definition.name}.py"
    return {
        "label": definition.label,
        "description": trusted(definition.description()),  # built from column types and transformer names only
        "module_name": module,
        "module_link": trusted("/".join(("..", *JobFolder.DPP_MODULES, module))),
    }


def _absolute(path) -> str:
    return str(Path(path).resolve())
