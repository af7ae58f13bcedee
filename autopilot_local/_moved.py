"""Modules that moved, still importable by their old names: the notebooks of jobs written before the move import
them, and the models those jobs pickled name their classes by them. New code uses the new names. Modules that are
gone answer with what to use instead."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

MOVED = {
    "autopilot_local.algorithms": "autopilot_local.tuning.algorithms",
    "autopilot_local.linear_learner": "autopilot_local.tuning.linear_learner",
}
SDK_GONE = (
    "autopilot_local no longer carries its own copy of the SageMaker Python SDK (AutoML, AutoMLV2, AutoMLInput, "
    "the v3 resources and shapes): run the real SDK, unchanged, against `autopilot-local server` "
    "(`with autopilot_local.LocalService(): ...` starts one and points the SDK at it). The README's "
    "'Moving from autopilot_local's SDK classes' says what changes."
)
GONE = {f"autopilot_local.{name}": SDK_GONE for name in (
    "sdk", "sdk.automl", "sdk.resources", "sdk.shapes", "sdk.background", "core", "core.resources", "core.shapes")}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers an old name with a module whose every attribute is the one at the new name."""

    def find_spec(self, name, path=None, target=None):
        if name in GONE:
            raise ImportError(GONE[name], name=name)
        return importlib.util.spec_from_loader(name, self) if name in MOVED else None

    def create_module(self, spec):
        return None  # a plain module, filled in by exec_module

    def exec_module(self, module) -> None:
        moved_to = importlib.import_module(MOVED[module.__name__])
        module.__doc__ = f"Moved to {moved_to.__name__}; this name stays for jobs written before the move."
        module.__getattr__ = lambda name: getattr(moved_to, name)
        if hasattr(moved_to, "__path__"):  # a package: its old submodules' names are answered here too
            module.__path__ = []


def install() -> None:
    """Let the old names import (once per process)."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
