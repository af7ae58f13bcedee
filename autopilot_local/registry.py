"""The local stand-in for an AWS account's list of jobs: where each job's folder is, by job name.

The SDK-style classes find a job by name (``AutoML.attach``, ``AutoMLJob.get``) as the cloud does; every job
records its folder here when it starts. It lives in the local home (``AUTOPILOT_LOCAL_HOME``, else
``~/.autopilot-local``), beside the S3 cache and staging folders.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError
from .files import JobFolder, write_atomic


def home() -> Path:
    """Where autopilot-local keeps what is not part of a job folder: the job registry, S3 caches and staging."""
    return Path(os.environ.get("AUTOPILOT_LOCAL_HOME") or Path.home() / ".autopilot-local")


def register(job_name: str, job_dir: Path) -> None:
    """Record that the job named ``job_name`` keeps its folder in ``job_dir``."""
    write_atomic(home() / "jobs" / job_name, str(Path(job_dir).resolve()))


def job_dir(job_name: str) -> Path:
    """The folder of the job named ``job_name``; `InputError` (AWS's ResourceNotFound) if there is none."""
    entry = home() / "jobs" / job_name
    folder = Path(entry.read_text(encoding="utf-8")) if entry.exists() else None
    if folder is None or not JobFolder(folder).job_json.exists():
        raise InputError(f"no AutoML job named {job_name!r} (looked in {home() / 'jobs'})")
    return folder


def exists(job_name: str) -> bool:
    """Whether a job named ``job_name`` has a folder."""
    try:
        job_dir(job_name)
    except InputError:
        return False
    return True


def names() -> list[str]:
    """The names of every job recorded, sorted."""
    folder = home() / "jobs"
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []
