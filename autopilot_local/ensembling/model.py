"""The ENSEMBLING mode's final model, in the two parts a `CandidateModel` chains: the feature views, fitted once,
and the weighted ensemble of bagged models (with the level-1 models its level-2 members stack on)."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from ..vocabulary import REGRESSION


class Views:
    """The fitted feature views, as one transform: raw rows in, a matrix per view out."""

    def __init__(self, transforms: dict):
        self.transforms = transforms  # view name -> fitted feature transform

    def transform(self, rows) -> dict:
        """Each view's matrix of ``rows``, by view name."""
        return {view: transform.transform(rows) for view, transform in self.transforms.items()}


class WeightedEnsemble:
    """Bagged models weighted into one prediction: regression values or class probabilities."""

    def __init__(self, weights: dict, models: dict, problem_type: str):
        self.weights = weights  # model name -> weight; the weights sum to one
        self.models = models  # model name -> (bagged model, view, names of the models it stacks on)
        self.problem_type = problem_type

    def predict_raw(self, matrices: dict) -> np.ndarray:
        """The weighted sum of the members' `predict_raw` on the view matrices ``matrices`` (as `Views` gives
        them), each stacked member reading its inputs' predictions too."""
        predictions: dict = {}

        def predict(name: str) -> np.ndarray:
            if name not in predictions:
                model, view, inputs = self.models[name]
                X = matrices[view]
                if inputs:
                    X = stack_features(X, [predict(i) for i in inputs], self.problem_type)
                predictions[name] = model.predict_raw(X)
            return predictions[name]

        return sum(weight * predict(name) for name, weight in self.weights.items())


def stack_features(view_matrix, predictions: list[np.ndarray], problem_type: str):
    """A level-2 model's input: its view's columns and the level-1 models' predictions beside them (for a
    binary problem the positive class's probability, for a multiclass one every class's)."""
    columns = []
    for prediction in predictions:
        if problem_type == REGRESSION:
            columns.append(prediction.reshape(-1, 1))
        else:
            columns.append(prediction[:, 1:] if prediction.shape[1] == 2 else prediction)
    stacked = np.hstack(columns)
    if sparse.issparse(view_matrix):
        return sparse.hstack([view_matrix, sparse.csr_matrix(stacked)], format="csr")
    return np.hstack([np.asarray(view_matrix, dtype=float), stacked])
