"""A worker's side of a job shared through its storage: join the job, check its matrices, run the trials it claims.

The job's own process writes its request and its matrices' signatures to the queue; a worker on any machine
rebuilds the same matrices from the same data (`job.run_worker` does that with the job's own stages), checks them
against the signatures, then claims trials until the job ends. It writes nothing but results to the storage.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse

from ..errors import InputError
from .queue import FINAL, POLL, TrialQueue
from .trials import Executor

PATIENCE = 600.0  # seconds a worker waits for a job's leader that has gone silent before it gives up


def join(storage, job_name: str, wait: float) -> TrialQueue:
    """The queue of the job named ``job_name``, waiting up to ``wait`` seconds for the job to appear."""
    ends = time.time() + wait
    # the queue's study appears before the facts the job writes into it, its state last
    while not (TrialQueue.exists(storage, job_name) and "state" in TrialQueue(storage, job_name).info()):
        if time.time() >= ends:
            raise InputError(f"no job named {job_name!r} in the storage after {wait:g} s "
                             "(start it with autopilot-local run ... --storage URL)")
        time.sleep(1.0)
    return TrialQueue(storage, job_name)


def job_candidates(queue: TrialQueue) -> dict | None:
    """The job's candidates and their matrices' signatures, which its process writes once its feature engineering
    is done; None if the job ended first."""
    while True:
        job = queue.info()
        if "candidates" in job:
            return job["candidates"]
        if job["state"] in FINAL:
            return None
        time.sleep(1.0)


def check_matrices(matrices: dict, expected: dict, job_name: str) -> None:
    """Raise `InputError` unless every candidate's rebuilt matrices match the job's signatures."""
    for label, theirs in expected.items():
        if label not in matrices:
            raise InputError(f"this machine could not build {label}'s features for job {job_name}")
        if not same_signature(signature(matrices[label]), theirs):
            raise InputError(
                f"{label}'s features differ from those job {job_name}'s own process built: check that this "
                "machine reads the same data file and runs the same versions of autopilot-local and its libraries"
            )


def work(executor: Executor, job_name: str, log) -> int:
    """Claim and run the job's trials until it ends; return how many this worker ran."""
    queue, ran = executor.queue, 0
    try:
        while True:
            job = queue.info()
            if job["state"] in FINAL:
                break
            if not executor.running and time.time() - job.get("leader_beat", time.time()) > PATIENCE:
                raise InputError(f"job {job_name}'s own process has been silent for {PATIENCE:.0f} s; "
                                 "resume it (autopilot-local resume) and start this worker again")
            executor.fill()
            for position, result, _ in executor.collect(timeout=POLL):
                ran += 1
                shown = f"{result.objective:.6g}" if result.objective is not None else result.failure_reason
                log(f"trial {position} ({result.candidate}): {result.status} {shown}")
    finally:
        executor.stop()  # the job ended (or was stopped): a trial still running here has no one to tell
    log(f"worker {executor.worker}: job {job_name} is {job['state']}; this worker ran {ran} trials")
    return ran


def signature(matrices) -> list:
    """A few numbers that say whether two machines computed the same (train, valid) matrices, up to rounding:
    per matrix its shape, missing cells, sum, sum of squares and a fixed random projection."""
    numbers: list = []
    for matrix in matrices:
        if matrix is None:
            numbers.append(None)
            continue
        rows, columns = matrix.shape
        random = np.random.default_rng(0)
        left, right = random.standard_normal(rows), random.standard_normal(columns)
        missing = total = squares = projection = 0.0
        for start in range(0, rows, 8192):  # in slices, so a dense copy never costs more than a few MB
            part = matrix[start:start + 8192]
            if sparse.issparse(part):
                part = sparse.csr_matrix(part, dtype=float, copy=True)
                missing += float(np.isnan(part.data).sum())
                part.data = np.nan_to_num(part.data)
                values = part.data
            else:
                part = np.asarray(part, dtype=float)
                missing += float(np.isnan(part).sum())
                part = values = np.nan_to_num(part)
            total, squares = total + float(values.sum()), squares + float((values**2).sum())
            projection += float(left[start:start + 8192] @ (part @ right))
        numbers.append([rows, columns, missing, total, squares, projection])
    return numbers


def same_signature(ours: list, theirs: list) -> bool:
    """Whether two `signature` lists agree to a relative 1e-6."""
    pairs = list(zip(ours, theirs))
    return len(ours) == len(theirs) and all(
        (a is None and b is None) or (a is not None and b is not None and np.allclose(a, b, rtol=1e-6, atol=1e-6))
        for a, b in pairs
    )
