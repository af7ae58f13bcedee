"""autopilot-local: SageMaker Autopilot's tabular AutoML job, on a laptop, offline, in minutes.

``__all__`` below is the package's public surface: what users, the generated notebooks and the ``dppN.py``
modules import (the transformers from `autopilot_local.transformers`). Each name loads on first use, so that
``import autopilot_local`` and the command line stay fast.
"""

import os

# Busy-waiting OpenMP threads slow XGBoost tens of times when another process holds a core; trials run one
# thread each in parallel processes, so idle threads should sleep. Must be set before the libraries load.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import _moved  # noqa: E402

_moved.install()

__version__ = "0.1.0"

# public name -> (module, attribute) it is loaded from
_PUBLIC = {
    # a job and its results
    "JobConfig": ("config", "JobConfig"),
    "InputError": ("errors", "InputError"),
    "run_job": ("job", "run_job"),
    "resume_job": ("job", "resume_job"),
    "run_worker": ("job", "run_worker"),
    "load_best_model": ("predict", "load_best_model"),
    "explain": ("reports.explain", "explain_job"),
    "CandidateModel": ("model", "CandidateModel"),
    "read_table": ("io", "read_table"),
    "dump_model": ("files", "dump_model"),
    "objective_direction": ("vocabulary", "objective_direction"),
    # the job's stages, as the candidate notebooks call them
    "prepare": ("stages", "prepare"),
    "split_rows": ("stages", "split_rows"),
    "fit_transforms": ("stages", "fit_transforms"),
    "tuning_settings": ("stages", "tuning_settings"),
    "ensembling_data": ("stages", "ensembling_data"),
    "ensembling_settings": ("stages", "ensembling_settings"),
    "ensemble_of": ("stages", "ensemble_of"),
    # packages that declare their own public names: the two engines and the dpp modules' transformers
    "tuning": ("tuning", None),
    "ensembling": ("ensembling", None),
    "transformers": ("transformers", None),
    # the exploration notebook's tables and figures
    "report_views": ("notebooks.report_views", None),
    # the local SageMaker service, for the real SageMaker SDK and boto3
    "LocalService": ("service.local", "LocalService"),
}
# the SageMaker SDK's names this package once copied; the real SDK, against `LocalService`, replaces them
_SDK_NAMES = ("AutoML", "AutoMLV2", "AutoMLInput", "AutoMLTabularConfig", "AutoMLDataChannel", "LocalAutoMLDataChannel")
__all__ = list(_PUBLIC)


def __getattr__(name: str):
    if name in _SDK_NAMES:
        raise ImportError(_moved.SDK_GONE, name=name)
    if name not in _PUBLIC:
        raise AttributeError(f"module 'autopilot_local' has no attribute {name!r}")
    import importlib

    module, attribute = _PUBLIC[name]
    found = importlib.import_module(f"{__name__}.{module}")
    value = found if attribute is None else getattr(found, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
