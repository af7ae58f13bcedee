"""A job run in a process of its own, as the cloud runs a job apart from the notebook that started it: the SDK
classes start jobs and follow them here."""

from __future__ import annotations

import subprocess
import sys
import time

from .. import registry
from ..config import JobConfig
from ..errors import InputError
from ..files import JobFolder, read_json, write_json
from ..vocabulary import TERMINAL_STATUSES


def start_job(request: dict) -> subprocess.Popen:
    """Run a CreateAutoMLJob(V2) request as a job in its own process; a bad request is refused before it starts."""
    JobConfig.from_request(request)
    if registry.exists(request["AutoMLJobName"]):  # job names are unique, as in an AWS account
        raise InputError(f"a job named {request['AutoMLJobName']!r} already exists")
    requested = registry.home() / "requests" / f"{request['AutoMLJobName']}.json"
    write_json(requested, request)
    command = [sys.executable, "-m", "autopilot_local.cli", "run", "--request", str(requested), "--quiet"]
    with requested.with_suffix(".log").open("w", encoding="utf-8") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def wait_for_job(job_name: str, process: subprocess.Popen | None, started: bool = False, logs: bool = False,
                 poll: float = 0.5, timeout: float | None = None) -> dict:
    """The job's DescribeAutoMLJobV2 document once it has ended (or, with ``started``, once its folder exists).

    Status changes are printed with ``logs``; a job its process refused (bad input: no folder) raises `InputError`
    with the process's own message; past ``timeout`` seconds, `TimeoutError`.
    """
    shown, ends = 0, None if timeout is None else time.time() + timeout
    while True:
        code = process.poll() if process else None
        described = _job_document(job_name)
        if logs and described is not None:
            history = read_json(JobFolder(registry.job_dir(job_name)).history_json)
            for entry in history[shown:]:
                print(f"{entry['Time']} {entry['Status']} - {entry['SecondaryStatus']}", file=sys.stderr)
            shown = len(history)
        if described is not None and (started or (described["AutoMLJobStatus"] in TERMINAL_STATUSES
                                                  and (code is not None or process is None))):
            return described
        if code is not None and described is None:
            log = (registry.home() / "requests" / f"{job_name}.log").read_text(encoding="utf-8").strip()
            raise InputError(log.splitlines()[-1] if log else f"job {job_name} exited with code {code}")
        if ends is not None and time.time() >= ends:
            raise TimeoutError(f"job {job_name} has not ended within {timeout:g} s")
        time.sleep(poll)


def _job_document(job_name: str) -> dict | None:
    try:
        return read_json(JobFolder(registry.job_dir(job_name)).job_json)
    except (InputError, FileNotFoundError, ValueError):
        return None  # not started yet, or a file mid-rename
