"""Modules that moved, still importable by their old names: the notebooks of jobs written before the move import
them, and the models those jobs pickled name their classes by them. New code uses the new names."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

MOVED = {
    "autopilot_local.algorithms": "autopilot_local.tuning.algorithms",
    "autopilot_local.linear_learner": "autopilot_local.tuning.linear_learner",
    "autopilot_local.core": "autopilot_local.sdk",
    "autopilot_local.core.resources": "autopilot_local.sdk.resources",
    "autopilot_local.core.shapes": "autopilot_local.sdk.shapes",
}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers an old name with a module whose every attribute is the one at the new name."""

    def find_spec(self, name, path=None, target=None):
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
