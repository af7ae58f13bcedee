"""The candidate definition notebook: the job's candidates, re-run through the engine's own functions."""

from __future__ import annotations

from pathlib import Path

import nbformat

from ..algorithms import ALGORITHMS
from ..config import OBJECTIVES, REGRESSION, JobConfig, objective_direction
from .dpp_modules import FOLDER
from .rendering import render_notebook, trusted

TEMPLATE = "candidate_definition.ipynb.jinja"
NAME = "SageMakerAutopilotCandidateDefinitionNotebook.ipynb"


def render(config: JobConfig, data, job_dir: Path, modules_dir: Path) -> nbformat.NotebookNode:
    """The notebook, unexecuted (as Autopilot's): running it performs the job's transformations and tuning.

    ``data`` is the job's `PreparedData`; paths are absolute so the notebook runs from any working directory, and
    the notebook falls back to its own place in the job folder when the folder has moved.
    """
    definitions = data.definitions
    algorithms = dict.fromkeys(d.algorithm for d in definitions)
    n_classes = 0 if data.problem_type == REGRESSION else len(data.label_transform.classes_)
    return render_notebook(
        TEMPLATE,
        job_name=config.job_name,
        job_dir=str(job_dir),
        modules_dir=str(modules_dir),
        data_path=_absolute(config.data),
        validation_path=_absolute(config.validation_data) if config.validation_data else None,
        columns=len(data.report.column_names),
        target=config.target,
        problem_type=data.problem_type,
        n_classes=n_classes,
        objective=data.objective,
        objectives=", ".join(OBJECTIVES[data.problem_type]),
        direction=objective_direction(data.objective).lower() + "s",
        seed=config.seed,
        allow_small=config.allow_small,
        max_candidates=config.effective_max_candidates,
        workers=config.workers,
        max_runtime=config.max_job_runtime,
        candidates=[_candidate(d) for d in definitions],
        labels=[d.label for d in definitions],
        algorithms={name: ALGORITHMS[name].ranges for name in algorithms},
    )


def _candidate(definition) -> dict:
    module = f"{definition.name}.py"
    return {
        "label": definition.label,
        "description": trusted(definition.description()),  # built from column types and transformer names only
        "module_name": module,
        "module_link": trusted("/".join(("..", *FOLDER, module))),
    }


def _absolute(path) -> str:
    return str(Path(path).resolve())
