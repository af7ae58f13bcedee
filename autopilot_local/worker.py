"""A worker: joins a running job from any machine through the job's storage and runs the trials it claims.

It reads the job's request from the storage, rebuilds the job's data and dpp matrices as the job's own process
did (the same code and seed give the same matrices, which it checks), then claims trials from the job's queue until
the job ends. It writes nothing but results to the storage; the job's own process keeps the job folder.
"""

from __future__ import annotations

import os
import sys
import time

from . import tuning
from .config import JobConfig
from .errors import InputError
from .job import fit_transforms, prepare, split_rows, tuning_settings
from .trial_queue import FINAL, POLL, TrialQueue, open_storage, this_worker

PATIENCE = 600.0  # seconds a worker waits for a job's leader that has gone silent before it gives up


def run_worker(job_name: str, storage_url: str, slots: int = 1, data: str | None = None,
               validation_data: str | None = None, wait: float = 600.0, log=None) -> int:
    """Run trials of ``job_name`` until the job ends; return how many this worker ran.

    ``data`` (and ``validation_data``) name the job's input files where they lie at another path on this machine.
    The worker waits up to ``wait`` seconds for the job to appear in the storage.
    """
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    queue = _join(open_storage(storage_url), job_name, wait)
    job = queue.info()
    config = JobConfig.from_request(job["request"], **_rebuilt_settings(job["settings"]), data=data,
                                    validation_data=validation_data, workers=slots)
    for path in filter(None, (config.data, config.validation_data)):
        if "://" not in path and not os.path.exists(path):
            raise InputError(f"job {job_name}'s data file {path} is not on this machine: pass its path with --data")
    log(f"worker {this_worker()}: joined job {job_name}; rebuilding its data and dpp matrices")
    prepared = prepare(config)
    plan, train_rows, valid_rows = split_rows(prepared, config)
    matrices, _, _ = fit_transforms(prepared, train_rows, valid_rows, workers=slots)
    expected = _job_candidates(queue)
    if expected is None:
        return 0  # the job ended before its tuning began
    _check_matrices(matrices, expected, job_name)
    matrices = {label: matrices[label] for label in expected}
    executor = tuning.Executor(queue, matrices, plan, tuning_settings(config, prepared), slots)
    log(f"worker {this_worker()}: running trials of {job_name} ({slots} at once)")
    ran = 0
    try:
        while True:
            job = queue.info()
            if job["state"] in FINAL:
                break
            if not executor.running and time.time() - job.get("leader_beat", time.time()) > PATIENCE:
                raise InputError(f"job {job_name}'s own process has been silent for {PATIENCE:.0f} s; "
                                 "resume it (autopilot-local resume) and start this worker again")
            executor.fill()
            for position, (result, _) in executor.collect(timeout=POLL):
                ran += 1
                shown = f"{result.objective:.6g}" if result.objective is not None else result.failure_reason
                log(f"trial {position} ({result.candidate}): {result.status} {shown}")
    finally:
        executor.stop()  # the job ended (or was stopped): a trial still running here has no one to tell
    log(f"worker {this_worker()}: job {job_name} is {job['state']}; this worker ran {ran} trials")
    return ran


def _rebuilt_settings(settings: dict) -> dict:
    """The job's own settings that decide its data and matrices; where this worker runs is its own choice."""
    return {key: settings[key] for key in ("seed", "allow_small", "trials_in_flight") if key in settings}


def _join(storage, job_name: str, wait: float) -> TrialQueue:
    ends = time.time() + wait
    while not TrialQueue.exists(storage, job_name):
        if time.time() >= ends:
            raise InputError(f"no job named {job_name!r} in the storage after {wait:g} s "
                             "(start it with autopilot-local run ... --storage URL)")
        time.sleep(1.0)
    return TrialQueue(storage, job_name)


def _job_candidates(queue: TrialQueue) -> dict | None:
    """The job's candidates and their matrices' signatures, which its process writes once its feature engineering
    is done; None if the job ended first."""
    while True:
        job = queue.info()
        if "candidates" in job:
            return job["candidates"]
        if job["state"] in FINAL:
            return None
        time.sleep(1.0)


def _check_matrices(matrices: dict, expected: dict, job_name: str) -> None:
    for label, theirs in expected.items():
        if label not in matrices:
            raise InputError(f"this machine could not build {label}'s features for job {job_name}")
        if not tuning.same_signature(tuning.signature(matrices[label]), theirs):
            raise InputError(
                f"{label}'s features differ from those job {job_name}'s own process built: check that this "
                "machine reads the same data file and runs the same versions of autopilot-local and its libraries"
            )
