"""The benchmark harness: every system on every dataset, same split, same budget, one fresh process at a time.

Data flows one way: a dataset's split is written once as CSV files (`prepare`), each run gets a TASK.json and
writes predictions (the runner protocol of `bench/runners/_protocol.py`), and the harness scores every system's
predictions with the same code (`score`), measures what the runner cannot see about itself (wall time, peak memory
of its process tree, CPU taken by other processes) and merges the record into `bench/results/<date>-<host>.json`,
from which `report.py` renders the Markdown table.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from sklearn import metrics

from . import envs
from .datasets import Dataset

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RUNNERS = BENCH / "runners"
RESULTS = BENCH / "results"
METRICS = {"MSE": "mse", "F1": "f1", "Accuracy": "accuracy"}
DISTURBED_CORES = 0.2  # other processes' CPU, in cores on average over a run, above which the run is redone
BOOTSTRAP = 500


@dataclass(frozen=True)
class System:
    name: str
    runner: str  # file in bench/runners
    budgeted: bool = True  # False: a fixed model, run once per dataset whatever the budget
    min_budget: int = 0
    datasets: tuple[str, ...] = ()  # only these, when given
    ours: bool = False

    def python(self) -> Path:
        return Path(sys.executable) if self.ours else envs.python_for(self.name)

    def applies(self, dataset: str, budget: int | None) -> bool:
        if self.datasets and dataset not in self.datasets:
            return False
        return budget is None if not self.budgeted else budget is not None and budget >= self.min_budget


SYSTEMS = {
    s.name: s
    for s in (
        System("autopilot_local", "autopilot_local_runner.py", ours=True),
        System("autopilot_local_ensembling", "autopilot_local_runner.py", ours=True),
        System("flaml", "flaml_runner.py"),
        System("autogluon_medium", "autogluon_runner.py"),
        System("autogluon_best", "autogluon_runner.py", min_budget=300),
        System("xgboost_untuned", "untuned_runner.py", budgeted=False),
        System("lightgbm_untuned", "untuned_runner.py", budgeted=False),
        System("seattle_handmade", "seattle_handmade_runner.py", budgeted=False, datasets=("seattle",)),
    )
}


@dataclass(frozen=True)
class Split:
    """A dataset's training and test files on disk, and the truth the predictions are scored against."""

    dataset: Dataset
    train: Path
    test: Path
    truth: pd.Series
    n_train: int

    @property
    def metric(self) -> str:
        return METRICS[self.dataset.objective]


def prepare(dataset: Dataset, folder: Path) -> Split:
    """Write the fixed split once: the training rows with the target, the test rows without it."""
    folder.mkdir(parents=True, exist_ok=True)
    train, test = dataset.split()
    train_path, test_path = folder / "train.csv", folder / "test_x.csv"
    # every text cell quoted: a bare carriage return inside a tweet would otherwise end a row for pandas' reader
    train.to_csv(train_path, index=False, quoting=csv.QUOTE_NONNUMERIC)
    test.drop(columns=[dataset.target]).to_csv(test_path, index=False, quoting=csv.QUOTE_NONNUMERIC)
    return Split(dataset, train_path, test_path, test[dataset.target].reset_index(drop=True), len(train))


def run(system: System, split: Split, budget: int | None, scratch: Path) -> dict:
    """One run in a fresh process, redone once if other processes took a noticeable share of the CPU."""
    record = _run_once(system, split, budget, scratch / "try1")
    if record.get("other_cpu_cores", 0) > DISTURBED_CORES:
        again = _run_once(system, split, budget, scratch / "try2")
        again["reruns"] = 1
        record = min(record, again, key=lambda r: r.get("other_cpu_cores", float("inf")))
    return record


def _run_once(system: System, split: Split, budget: int | None, workdir: Path) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    dataset = split.dataset
    task = {
        "system": system.name, "train": str(split.train), "test": str(split.test), "target": dataset.target,
        "problem_type": dataset.problem_type, "metric": split.metric, "budget_s": budget, "seed": 0, "n_jobs": 2,
        "workdir": str(workdir / "work"), "predictions": str(workdir / "predictions.csv"),
        "info": str(workdir / "info.json"),
    }
    (workdir / "task.json").write_text(json.dumps(task, indent=1))
    record = {"system": system.name, "dataset": dataset.name, "budget_s": budget, "metric": dataset.objective,
              "n_train": split.n_train, "n_test": len(split.truth)}
    command = [str(system.python()), str(RUNNERS / system.runner), str(workdir / "task.json")]
    limit = 600 if budget is None else 4 * budget + 600  # AutoGluon has taken ten times a 60-s budget
    measured = _measure(command, workdir / "run.log", limit)
    record.update(measured)
    if measured["exit_code"] != 0:
        log = (workdir / "run.log").read_text(errors="replace").strip().splitlines()
        record["error"] = (log[-1] if log else f"exit code {measured['exit_code']}")[:300]
        return record
    info = json.loads(Path(task["info"]).read_text())
    record.update({k: info.get(k) for k in ("fit_s", "predict_s", "time_to_first_s", "n_models", "best_model",
                                             "versions", "notes")})
    predictions = pd.read_csv(task["predictions"])
    if len(predictions) != len(split.truth):
        record["error"] = f"{len(predictions)} predictions for {len(split.truth)} test rows"
        return record
    record.update(score(split, predictions))
    return record


def _measure(command: list[str], log: Path, limit: float) -> dict:
    """Run ``command`` and measure its wall time, the peak resident memory of its process tree (sampled), and
    the CPU that processes outside the tree used meanwhile (from /proc/stat), which says whether it was disturbed.
    """
    env = os.environ | {"OMP_WAIT_POLICY": "PASSIVE", "PYTHONHASHSEED": "0"}
    load_before = os.getloadavg()[0]
    busy_before, own_before = _busy_cpu_s(), _own_cpu_s()
    started = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        root = psutil.Process(process.pid)
        tree_cpu: dict[int, float] = {}
        peak = 0
        timed_out = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)  # wait4: the rusage of the reaped tree too
            if pid:
                break
            peak = max(peak, _sample_tree(root, tree_cpu))
            if time.perf_counter() - started > limit and not timed_out:
                for child in root.children(recursive=True):
                    child.kill()
                process.kill()
                timed_out = True
            time.sleep(0.25)
        process.returncode = exit_code = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    child_cpu = max(sum(tree_cpu.values()), usage.ru_utime + usage.ru_stime)
    other = _busy_cpu_s() - busy_before - child_cpu - (_own_cpu_s() - own_before)
    return {
        "wall_s": round(wall, 2), "peak_rss_mb": round(peak / 2**20, 1), "exit_code": -9 if timed_out else exit_code,
        "load1_before": round(load_before, 2), "load1_after": round(os.getloadavg()[0], 2),
        "cpu_s": round(child_cpu, 1), "other_cpu_cores": round(max(other, 0.0) / wall, 3),
    }


def _sample_tree(root: psutil.Process, cpu: dict[int, float]) -> int:
    """Resident bytes of ``root`` and its descendants now; records each process's CPU seconds so far."""
    total = 0
    try:
        processes = [root] + root.children(recursive=True)
    except psutil.Error:
        return 0
    for p in processes:
        try:
            with p.oneshot():
                total += p.memory_info().rss
                times = p.cpu_times()
                cpu[p.pid] = times.user + times.system
        except psutil.Error:
            continue
    return total


def _busy_cpu_s() -> float:
    """CPU seconds all processes on the machine have used (non-idle time of /proc/stat)."""
    fields = [float(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def score(split: Split, predictions: pd.DataFrame) -> dict:
    """The test metric with its standard error, and AUC for classification, the same way for every system."""
    truth = split.truth
    if split.dataset.problem_type == "Regression":
        errors = (truth.to_numpy(float) - predictions["prediction"].to_numpy(float)) ** 2
        return {"value": float(errors.mean()), "se": float(errors.std(ddof=1) / np.sqrt(len(errors)))}
    truth = truth.map(str).to_numpy()
    predicted = predictions["prediction"].map(str).to_numpy()
    labels = sorted(set(truth) | {c[len("proba_"):] for c in predictions.columns if c.startswith("proba_")})
    metric = _f1(labels[-1]) if split.metric == "f1" else metrics.accuracy_score
    value = float(metric(truth, predicted))
    rng = np.random.default_rng(0)
    draws = [metric(truth[i], predicted[i]) for i in rng.integers(0, len(truth), (BOOTSTRAP, len(truth)))]
    return {"value": value, "se": float(np.std(draws, ddof=1)), "auc": _auc(truth, predictions, labels)}


def _f1(positive: str):
    return lambda truth, predicted: metrics.f1_score(truth, predicted, pos_label=positive, zero_division=0)


def _auc(truth: np.ndarray, predictions: pd.DataFrame, labels: list[str]) -> float | None:
    """ROC AUC: of the positive (sorted-last) class for binary, one-vs-rest macro for multiclass."""
    proba = predictions.reindex(columns=[f"proba_{label}" for label in labels]).fillna(0.0).to_numpy(float)
    try:
        if len(labels) == 2:
            return float(metrics.roc_auc_score(truth == labels[1], proba[:, 1]))
        present = [i for i, label in enumerate(labels) if label in set(truth)]
        if len(present) < 2:
            return None
        rows = np.isin(truth, [labels[i] for i in present])
        kept = proba[rows][:, present]
        kept = kept / np.clip(kept.sum(axis=1, keepdims=True), 1e-12, None)
        return float(metrics.roc_auc_score(truth[rows], kept, multi_class="ovr", labels=[labels[i] for i in present]))
    except ValueError:
        return None


# --- the results file ------------------------------------------------------------------------------------------


def results_path(folder: Path = RESULTS) -> Path:
    return folder / f"{date.today().isoformat()}-{platform.node() or 'host'}.json"


def load_results(path: Path) -> dict:
    if path.exists():
        return json.loads(path.read_text())
    return {"machine": machine(), "records": []}


def save_record(path: Path, results: dict, record: dict) -> None:
    """Replace the record of the same system, dataset and budget, and write the file (atomically)."""
    key = (record["system"], record["dataset"], record["budget_s"])
    results["records"] = [r for r in results["records"] if (r["system"], r["dataset"], r["budget_s"]) != key]
    results["records"].append(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(results, indent=1, default=str) + "\n")
    partial.replace(path)


def has_record(results: dict, system: str, dataset: str, budget: int | None) -> bool:
    return any((r["system"], r["dataset"], r["budget_s"]) == (system, dataset, budget) and not r.get("error")
               for r in results["records"])


def machine() -> dict:
    memory = round(psutil.virtual_memory().total / 2**30, 1)
    return {"host": platform.node(), "cpus": os.cpu_count(), "memory_gib": memory,
            "python": platform.python_version(), "platform": platform.platform()}
