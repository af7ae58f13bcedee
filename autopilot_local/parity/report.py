"""Run the local engine with a real job's settings on its data, and say point by point where the two agree.

The report (``parity/parity-report.md`` and ``.json`` in the local job folder) has one row per point: problem type,
objective, column types, each candidate pipeline, the best objective value, runtime, candidates tried and the best
hyperparameters. Each row ends in a verdict: agree, differ, better or worse (the local side's), or unknown where
the cloud's artifacts do not say.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from ..config import JobConfig
from ..files import JobFolder, read_json, write_atomic, write_json
from ..job import run_job
from ..vocabulary import CV_MAX_ROWS, DEFAULT_MAX_CANDIDATES, TUNING_ALGORITHMS, objective_direction
from .sources import CloudJob

CLOSE = 0.005  # objective values within half a percent of each other agree


def compare(cloud: CloudJob, output_dir: str | Path = "jobs", job_name: str | None = None,
            max_candidates: int | None = None, max_job_runtime: int | None = None, seed: int = 0,
            reporter=None) -> dict:
    """Run the local job for ``cloud`` and write the parity report; return the report document.

    ``max_candidates`` and ``max_job_runtime`` override the cloud job's budget (the report says so).
    """
    config = local_config(cloud, output_dir, job_name, max_candidates, max_job_runtime, seed)
    started = time.time()
    local = run_job(config, reporter)
    seconds = time.time() - started
    report = _report(cloud, config, local, seconds)
    folder = JobFolder(config.job_dir)
    write_json(folder.parity / "parity-report.json", report)
    write_atomic(folder.parity / "parity-report.md", render_markdown(report))
    return report


def local_config(cloud: CloudJob, output_dir, job_name, max_candidates, max_job_runtime, seed) -> JobConfig:
    """The local job's config for ``cloud``: its data, target, problem type, objective, split and budget.

    Only HYPERPARAMETER_TUNING's algorithms run (all of them where the cloud job named none). ``max_candidates``
    and ``max_job_runtime`` override the cloud job's budget where given; ``job_name`` defaults to the cloud job's
    name with ``-local``.
    """
    criteria = cloud.completion_criteria
    algorithms = tuple(a for a in cloud.algorithms if a in TUNING_ALGORITHMS) or TUNING_ALGORITHMS
    return JobConfig(
        data=str(cloud.data), target=cloud.target, job_name=job_name or _local_name(cloud.name),
        output_dir=str(output_dir), problem_type=cloud.problem_type, objective=cloud.objective,
        max_candidates=max_candidates or criteria.get("MaxCandidates"),
        max_runtime_per_training_job=criteria.get("MaxRuntimePerTrainingJobInSeconds"),
        max_job_runtime=max_job_runtime or criteria.get("MaxAutoMLJobRuntimeInSeconds"),
        validation_fraction=cloud.validation_fraction or 0.2,
        validation_data=str(cloud.validation_data) if cloud.validation_data else None,
        algorithms=algorithms, seed=seed, allow_small=True,  # Autopilot ran on these rows: so do we
    )


def _local_name(cloud_name: str) -> str:
    return (re.sub(r"[^A-Za-z0-9-]", "-", cloud_name)[:26].strip("-") or "job") + "-local"


# --- the rows ----------------------------------------------------------------------------------------------------

def _report(cloud: CloudJob, config: JobConfig, local: dict, seconds: float) -> dict:
    folder = JobFolder(config.job_dir, config.job_name)
    definitions = read_json(folder.candidate_definitions)
    exploration = read_json(folder.exploration_report)
    board = _leaderboard(folder)
    rows = [
        _row("problem type", cloud.problem_type, local["ResolvedAttributes"]["AutoMLProblemTypeResolvedAttributes"]
             ["TabularResolvedAttributes"]["ProblemType"]),
        _row("objective", cloud.objective, local["AutoMLJobObjective"]["MetricName"]),
        *_column_type_rows(cloud, exploration["column_types"]),
        _objective_row(cloud, local),
        _ratio_row("runtime (s)", cloud.runtime_seconds, round(seconds, 1)),
        _row("candidates tried", cloud.candidate_count, len(board)),
        _row("best hyperparameters", _cloud_best_hyperparameters(cloud),
             board[0]["hyperparameters"] if board else None),
    ]
    return {
        "cloud_job": cloud.name, "local_job": config.job_name, "local_folder": str(folder.root.resolve()),
        "data": str(cloud.data), "rows_compared": exploration.get("rows"),
        "validation": _validation_note(cloud, exploration.get("rows") or 0),
        "budget": _budget_note(cloud, config),
        "rows": rows,
        "pipelines": _pipeline_rows(cloud, definitions),
    }


def _row(item: str, cloud, local) -> dict:
    verdict = "unknown" if cloud is None else "agree" if cloud == local else "differ"
    return {"item": item, "cloud": cloud, "local": local, "verdict": verdict}


def _objective_row(cloud: CloudJob, local: dict) -> dict:
    metric = local["AutoMLJobObjective"]["MetricName"]
    ours = local.get("BestCandidate", {}).get("FinalAutoMLJobObjectiveMetric", {}).get("Value")
    theirs = cloud.best_value
    row = {"item": f"best {metric}", "cloud": theirs, "local": ours, "ratio": None, "verdict": "unknown"}
    if theirs is None or ours is None:
        return row
    row["ratio"] = round(ours / theirs, 4) if theirs else None
    if abs(ours - theirs) <= CLOSE * max(abs(theirs), 1e-12):
        row["verdict"] = "agree"
    else:
        lower_is_better = objective_direction(metric) == "Minimize"
        row["verdict"] = "better" if (ours < theirs) == lower_is_better else "worse"
    return row


def _ratio_row(item: str, cloud, local) -> dict:
    row = _row(item, cloud, local)
    row["ratio"] = round(local / cloud, 4) if cloud else None
    if cloud:
        row["verdict"] = "better" if local < cloud else "worse"
    return row


def _column_type_rows(cloud: CloudJob, local_types: dict) -> list[dict]:
    """Per column type, the columns each side put there. The cloud's come from its first dpp module, where kept
    (later dpps of some eras one-hot encode numeric columns too: dpp0 holds the job's own typing)."""
    modules = sorted(cloud.dpp_modules, key=lambda name: int(re.sub(r"\D", "", name) or 0))
    groups = cloud.dpp_modules[modules[0]].get("columns", {}) if modules else {}
    cloud_types: dict = {}
    for group, columns in groups.items():
        cloud_types.setdefault(_group(group), set()).update(columns)
    rows = []
    for kind in ("numeric", "categorical", "text", "datetime"):
        theirs = sorted(cloud_types.get(kind, [])) if cloud_types else None
        rows.append(_row(f"{kind} columns", theirs, sorted(local_types.get(kind, []))))
    return rows


def _pipeline_rows(cloud: CloudJob, definitions: list[dict]) -> list[dict]:
    """One row per dpp that either side built: transformers per column type and algorithm, side by side."""
    theirs = {c.dpp: c for c in getattr(cloud.notebook, "candidates", [])}
    ours = {d["name"]: d for d in definitions}
    rows = []
    for dpp in sorted(set(theirs) | set(ours), key=lambda name: int(re.sub(r"\D", "", name) or 0)):
        cloud_side = _cloud_pipeline(theirs[dpp]) if dpp in theirs else None
        local_side = _local_pipeline(ours[dpp]) if dpp in ours else None
        verdict = "unknown" if cloud_side is None else "agree" if cloud_side == local_side else "differ"
        rows.append({"dpp": dpp, "cloud": cloud_side, "local": local_side, "verdict": verdict})
    return rows


def _cloud_pipeline(candidate) -> dict:
    steps = {_group(group): list(names) for group, names in candidate.transformers.items()}
    return {"algorithm": candidate.algorithm, "transformers": steps, "after_merge": list(candidate.after_merge)}


def _local_pipeline(definition: dict) -> dict:
    steps = {kind: _stage_names(stages) for kind, stages in definition["column_stages"].items()
             if definition["columns"].get(kind)}
    return {"algorithm": definition["algorithm"], "transformers": steps,
            "after_merge": _stage_names(definition.get("merged_stages", []))}


def _stage_names(stages) -> list[str]:
    names = []
    for stage in stages:
        names += _stage_names(stage["union"]) if "union" in stage else [stage["transformer"]]
    return names


def _group(name: str) -> str:
    """The notebooks' column groups ("numeric1", "categorical2") as column types."""
    return re.sub(r"\d+$", "", name)


def _cloud_best_hyperparameters(cloud: CloudJob):
    best = cloud.describe.get("BestCandidate", {})
    for candidate in cloud.candidates:
        if candidate.get("CandidateName") == best.get("CandidateName") and "HyperParameters" in candidate:
            return candidate["HyperParameters"]
    return None  # Describe and ListCandidates carry no hyperparameters; the training job does


def _leaderboard(folder: JobFolder) -> list[dict]:
    import csv

    path = folder.leaderboard_csv
    return list(csv.DictReader(path.open(encoding="utf-8"))) if path.exists() else []


def _validation_note(cloud: CloudJob, rows: int) -> str:
    fraction = cloud.validation_fraction or 0.2
    cloud_side = ("its validation file" if cloud.validation_data else
                  f"a random {fraction:.0%} of the rows it read, held out (rows unknown)")
    local_side = (f"5-fold cross-validation over all {rows:,} rows" if rows <= CV_MAX_ROWS and not cloud.validation_data
                  else "the same validation file" if cloud.validation_data
                  else f"a seeded random {fraction:.0%} holdout")
    return f"cloud: {cloud_side}; local: {local_side}. The two values come from different validation rows."


def _budget_note(cloud: CloudJob, config: JobConfig) -> str:
    criteria = cloud.completion_criteria
    theirs = criteria.get("MaxCandidates", DEFAULT_MAX_CANDIDATES), criteria.get("MaxAutoMLJobRuntimeInSeconds")
    ours = config.effective_max_candidates, config.max_job_runtime
    note = f"cloud: MaxCandidates {theirs[0]}, MaxAutoMLJobRuntimeInSeconds {theirs[1] or 'none'}"
    note += f"; local: MaxCandidates {ours[0]}, MaxAutoMLJobRuntimeInSeconds {ours[1] or 'none'}"
    return note + ("" if theirs == ours else " (the local budget was set for this comparison)")


# --- Markdown ----------------------------------------------------------------------------------------------------

def render_markdown(report: dict) -> str:
    """The parity report document (as `compare` returns it) in Markdown: the points' table, then the pipelines'."""
    lines = [f"# Parity: {report['cloud_job']} (Autopilot) and {report['local_job']} (autopilot-local)", "",
             f"Data: `{report['data']}`, {report['rows_compared']} rows.", "",
             f"Validation: {report['validation']}", "", f"Budget: {report['budget']}", "",
             "| item | Autopilot | autopilot-local | ratio | verdict |", "|---|---|---|---|---|"]
    for row in report["rows"]:
        ratio = row.get("ratio")
        lines.append(f"| {row['item']} | {_cell(row['cloud'])} | {_cell(row['local'])} | "
                     f"{'' if ratio is None else ratio} | {row['verdict']} |")
    lines += ["", "## Candidate pipelines", "", "| dpp | Autopilot | autopilot-local | verdict |", "|---|---|---|---|"]
    for row in report["pipelines"]:
        lines.append(f"| {row['dpp']} | {_pipeline_cell(row['cloud'])} | {_pipeline_cell(row['local'])} | "
                     f"{row['verdict']} |")
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if value is None:
        return "not in the artifacts"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        value = json.dumps(value) if isinstance(value, dict) else ", ".join(map(str, value)) or "none"
    return str(value).replace("|", "\\|")


def _pipeline_cell(side) -> str:
    if side is None:
        return "-"
    groups = "; ".join(f"{group}: {' > '.join(steps)}" for group, steps in side["transformers"].items())
    merged = f"; then {' > '.join(side['after_merge'])}" if side["after_merge"] else ""
    return f"{side['algorithm']} ({groups}{merged})".replace("|", "\\|")
