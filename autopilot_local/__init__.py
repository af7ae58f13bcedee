"""autopilot-local: SageMaker Autopilot's tabular AutoML job, on a laptop, offline, in minutes."""

import os

# Busy-waiting OpenMP threads slow XGBoost tens of times when another process holds a core; trials run one
# thread each in parallel processes, so idle threads should sleep. Must be set before the libraries load.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .config import JobConfig  # noqa: E402
from .errors import InputError  # noqa: E402

__all__ = [
    "JobConfig", "InputError", "run_job", "load_best_model", "explain",
    # SageMaker Python SDK v2's AutoML surface (autopilot_local.sdk); SDK v3's is autopilot_local.core
    "AutoML", "AutoMLV2", "AutoMLInput", "AutoMLTabularConfig", "AutoMLDataChannel", "LocalAutoMLDataChannel",
]
__version__ = "0.1.0"
_SDK = set(__all__[5:])


def __getattr__(name: str):
    if name in _SDK:  # imported on first use: the command line does not pay for the SDK surface
        from . import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'autopilot_local' has no attribute {name!r}")


def run_job(config: JobConfig, reporter=None) -> dict:
    """Run an AutoML job and return its DescribeAutoMLJobV2 document (see `autopilot_local.job.run_job`)."""
    from .job import run_job as _run_job

    return _run_job(config, reporter)


def load_best_model(job_dir):
    """The best candidate of a finished job, as a `CandidateModel` that predicts from raw rows."""
    from .predict import load_best_model as _load

    return _load(job_dir)


def explain(job_dir, rows, seed: int = 0):
    """SHAP values of a finished job's best candidate for ``rows`` (a DataFrame), on the original columns: an
    `Explanation` whose ``values`` plus ``base_value`` add up to ``explained`` row by row."""
    from .reports.explain import explain_job

    return explain_job(job_dir, rows, seed)
