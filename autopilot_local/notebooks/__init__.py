"""Autopilot's two notebooks and its generated ``dppN.py`` modules, rendered from the Jinja templates in ``templates/``.

Written into the job folder where Autopilot writes them::

    sagemaker-automl-candidates/<job>-pr-1-<hash>/
        generated_module/candidate_data_processors/dppN.py
        notebooks/SageMakerAutopilotDataExplorationNotebook.ipynb
        notebooks/SageMakerAutopilotCandidateDefinitionNotebook.ipynb
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from ..files import write_atomic
from . import candidate, exploration
from .dpp_modules import render_module

if TYPE_CHECKING:
    from ..config import JobConfig
    from ..files import JobFolder
    from ..stages import PreparedData

__all__ = ["write_candidate_artifacts"]


def write_candidate_artifacts(folder: JobFolder, config: JobConfig, data: PreparedData) -> dict:
    """Write the dpp modules and both notebooks; return their locations as DescribeAutoMLJob's AutoMLJobArtifacts."""
    modules = folder.dpp_modules.resolve()
    for definition in data.definitions:
        write_atomic(modules / f"{definition.name}.py", render_module(definition, config.job_name))
    notebooks = folder.notebooks.resolve()
    explore = exploration.render(data.report, config.job_name, folder.exploration_report.resolve(),
                                 str(Path(config.data).resolve()))
    define = candidate.render(config, data, folder.root.resolve(), modules)
    write_atomic(notebooks / exploration.NAME, nbformat.writes(explore))
    write_atomic(notebooks / candidate.NAME, nbformat.writes(define))
    return {
        "CandidateDefinitionNotebookLocation": folder.location(notebooks / candidate.NAME),
        "DataExplorationNotebookLocation": folder.location(notebooks / exploration.NAME),
    }
