"""Greedy ensemble selection (Caruana et al., 2004): weights for the models from their out-of-fold predictions.

Starting from nothing, each round adds the model (repeats allowed) whose addition gives the best objective on the
out-of-fold predictions; a model's weight is the share of rounds that picked it. The weights are non-negative and
sum to one, and the first round picks the best single model, so the ensemble is never worse than it on these rows.
"""

from __future__ import annotations

import numpy as np

from ..metrics import score
from ..vocabulary import objective_direction

ROUNDS = 40


def greedy_weights(predictions: list[np.ndarray], y: np.ndarray, objective: str,
                   sample_weight: np.ndarray | None = None, rounds: int = ROUNDS) -> np.ndarray:
    """One weight per prediction; a tie goes to the model listed first."""
    sign = 1.0 if objective_direction(objective) == "Minimize" else -1.0
    counts = np.zeros(len(predictions))
    total = None
    for done in range(rounds):
        best, best_value = 0, np.inf
        for index, prediction in enumerate(predictions):
            blend = prediction if total is None else (total + prediction) / (done + 1)
            value = sign * score(objective, y, blend, sample_weight)
            if value < best_value:
                best, best_value = index, value
        counts[best] += 1
        total = predictions[best] if total is None else total + predictions[best]
    return counts / counts.sum()


def blend(predictions: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """The ``weights``-weighted sum of ``predictions``, skipping models of weight zero."""
    return sum(w * p for w, p in zip(weights, predictions) if w > 0)
