"""Candidate definitions: Autopilot's dpp recipes build working pipelines and describe themselves in its words."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from autopilot_local.analysis import infer_column_types
from autopilot_local.candidates import COLUMN_TYPES, generate_candidates
from autopilot_local.io import read_table


@pytest.fixture(scope="module")
def seattle(airbnb):
    frame = read_table(airbnb / "seattle_2016-01_listings.csv.zip")
    types = infer_column_types(frame, "price")
    return frame, {kind: getattr(types, kind) for kind in COLUMN_TYPES}


def test_ten_pipelines_over_three_algorithms(seattle):
    frame, types = seattle
    definitions = generate_candidates(types, "price", "Regression", ("xgboost", "linear-learner", "mlp"))
    assert [d.name for d in definitions] == [f"dpp{i}" for i in range(10)]
    assert {d.algorithm for d in definitions} == {"xgboost", "linear-learner", "mlp"}
    assert len({d.label for d in definitions}) == 10


def test_algorithm_choice_keeps_only_its_recipes(seattle):
    _, types = seattle
    only = generate_candidates(types, "price", "Regression", ("linear-learner",))
    assert only and {d.algorithm for d in only} == {"linear-learner"}
    assert [d.name for d in only] == [f"dpp{i}" for i in range(len(only))]


def test_every_recipe_transforms_the_raw_seattle_listings(seattle):
    frame, types = seattle
    columns = [c for kind in COLUMN_TYPES for c in types[kind]]
    train, new = frame.iloc[:3000][columns], frame.iloc[3000:][columns]
    for definition in generate_candidates(types, "price", "Regression", ("xgboost", "linear-learner", "mlp")):
        transform = definition.build_feature_transform()
        fitted = transform.fit_transform(train)
        applied = transform.transform(new)
        assert fitted.shape[0] == 3000 and applied.shape == (len(new), fitted.shape[1]), definition.label
        dense = applied.toarray() if sp.issparse(applied) else applied
        if definition.algorithm != "xgboost":  # linear models and MLPs need every value filled in
            assert np.all(np.isfinite(dense)), definition.label
        again = pickle.loads(pickle.dumps(transform)).transform(new.iloc[:5])
        before = applied[:5].toarray() if sp.issparse(applied) else applied[:5]
        after = again.toarray() if sp.issparse(again) else again
        np.testing.assert_allclose(after, before, equal_nan=True)


def test_descriptions_use_autopilots_wording(seattle):
    _, types = seattle
    first = generate_candidates(types, "price", "Regression", ("xgboost",))[0]
    text = first.description()
    assert text.startswith("This data transformation strategy first transforms 'numeric' features using RobustImputer")
    for kind in ("'categorical' features using ThresholdOneHotEncoder",
                 "'text' features using MultiColumnTfidfVectorizer",
                 "'datetime' features using DateTimeVectorizer"):
        assert kind in text
    assert text.endswith("The transformed data will be used to tune a *xgboost* model.")
    pca = next(d for d in generate_candidates(types, "price", "Regression", ("linear-learner",)) if d.merged_stages)
    assert "It merges all the generated features and applies RobustPCA" in pca.description()


def test_label_transform_follows_the_problem_type(seattle):
    _, types = seattle
    regression = generate_candidates(types, "price", "Regression", ("xgboost",))[0]
    assert type(regression.build_label_transform()).__name__ == "NALabelEncoder"
    binary = generate_candidates(types, "instant_bookable", "BinaryClassification", ("xgboost",), labels=("f", "t"))[0]
    encoder = binary.build_label_transform().fit(["t", "f"])
    assert encoder.transform(["f", "t"]).tolist() == [0, 1]
