"""Autopilot's ENSEMBLING mode: a portfolio of model families, k-fold bagged, one stacking layer and greedy
weighted ensembles on top (what AutoGluon does for Autopilot in the cloud).

- `families`: the eight algorithms and their configurations;
- `bagging`: a family's fold models and out-of-fold predictions;
- `selection`: Caruana's greedy ensemble weights;
- `search`: the plan and its run on a budget;
- `model`: the final model's parts (feature views, weighted ensemble).
"""

from .families import FAMILIES
from .model import Views, WeightedEnsemble
from .search import Data, Fitted, ModelResult, ModelSpec, Outcome, Settings, default_plan, run, unavailable

__all__ = ["FAMILIES", "Views", "WeightedEnsemble", "Data", "Fitted", "ModelResult", "ModelSpec", "Outcome",
           "Settings", "default_plan", "run", "unavailable"]
