"""Candidate pipelines: Autopilot's dpp recipes as declarative definitions.

A `CandidateDefinition` says which transformers each column type goes through, what is applied after the
features are merged, and which algorithm is tuned on the result. The same definition builds the scikit-learn
pipeline the job fits, renders the generated ``dppN.py`` module and describes itself in the candidate notebook's
words, so the three can never drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sklearn.compose import ColumnTransformer
from sklearn.pipeline import FeatureUnion, Pipeline

from . import transformers
from .vocabulary import REGRESSION

COLUMN_TYPES = ("numeric", "categorical", "text", "datetime")


@dataclass(frozen=True)
class Step:
    """One transformer of Autopilot's vocabulary with its parameters."""

    transformer: str
    params: dict = field(default_factory=dict)

    def build(self):
        """A new, unfitted instance of the transformer with ``params``."""
        return getattr(transformers, self.transformer)(**self.params)

    @property
    def step_name(self) -> str:
        """The step's name in a pipeline: the transformer's name in lower case."""
        return self.transformer.lower()


@dataclass(frozen=True)
class Union:
    """Transformers applied side by side to the same columns, their outputs concatenated."""

    steps: tuple[Step, ...]

    def build(self):
        """A new, unfitted `FeatureUnion` of the steps."""
        return FeatureUnion([(s.step_name, s.build()) for s in self.steps])

    @property
    def step_name(self) -> str:
        """The union's name in a pipeline, as `make_pipeline` would name a `FeatureUnion`."""
        return "featureunion"


Stage = Step | Union


@dataclass(frozen=True)
class CandidateDefinition:
    """One dpp: preprocessing per column type, steps after the merge, and the algorithm it feeds."""

    name: str  # "dpp0"
    algorithm: str
    columns: dict  # column type -> tuple of column names
    column_stages: dict  # column type -> tuple of stages
    merged_stages: tuple = ()
    problem_type: str = REGRESSION
    target: str = ""
    labels: tuple = ()  # class labels for classification, in code order
    feeds: tuple = ()  # ENSEMBLING: the model families this view feeds (then ``algorithm`` names the view)

    @property
    def label(self) -> str:
        """Autopilot's name for a candidate pipeline: "dpp0-xgboost"."""
        return f"{self.name}-{self.algorithm}"

    def active_types(self) -> list[str]:
        """The column types that have columns, in `COLUMN_TYPES` order."""
        return [t for t in COLUMN_TYPES if self.columns.get(t)]

    def build_feature_transform(self) -> Pipeline:
        """A new, unfitted feature pipeline: one branch per column type, then the stages after the merge."""
        branches = [
            (f"{kind}_processing", _chain(self.column_stages[kind]), list(self.columns[kind]))
            for kind in self.active_types()
        ]
        column_transformer = ColumnTransformer(branches, sparse_threshold=0.3, verbose_feature_names_out=False)
        merged = [(s.step_name, s.build()) for s in self.merged_stages]
        return Pipeline([("column_transformer", column_transformer)] + merged)

    def build_label_transform(self):
        """A new, unfitted target encoder: `NALabelEncoder` for regression, else a `RobustLabelEncoder` of
        ``labels`` that codes unseen labels as one more class."""
        if self.problem_type == REGRESSION:
            return transformers.NALabelEncoder()
        return transformers.RobustLabelEncoder(labels=list(self.labels), fill_label_value=None,
                                               include_unseen_class=True)

    def description(self) -> str:
        """The candidate notebook's sentence for this pipeline, in Autopilot's wording."""
        parts = [f"'{kind}' features using {_describe(self.column_stages[kind])}" for kind in self.active_types()]
        text = "This data transformation strategy first transforms " + _join(parts) + "."
        if self.merged_stages:
            text += f" It merges all the generated features and applies {_describe(self.merged_stages)}."
        if self.feeds:
            return text + f" The transformed data feeds the ensemble's {_join([f'*{f}*' for f in self.feeds])} models."
        return text + f" The transformed data will be used to tune a *{self.algorithm}* model."

    def to_dict(self) -> dict:
        """The definition as JSON-ready data, with its description."""
        return {
            "name": self.name,
            "algorithm": self.algorithm,
            "columns": {k: list(v) for k, v in self.columns.items()},
            "column_stages": {k: [_stage_dict(s) for s in v] for k, v in self.column_stages.items()},
            "merged_stages": [_stage_dict(s) for s in self.merged_stages],
            "problem_type": self.problem_type,
            "target": self.target,
            "labels": list(self.labels),
            "feeds": list(self.feeds),
            "description": self.description(),
        }


def _chain(stages) -> Pipeline:
    return Pipeline([(s.step_name, s.build()) for s in stages])


def _stage_dict(stage: Stage) -> dict:
    if isinstance(stage, Union):
        return {"union": [_stage_dict(s) for s in stage.steps]}
    return {"transformer": stage.transformer, "params": {k: _json_value(v) for k, v in stage.params.items()}}


def _json_value(value):
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return list(value) if isinstance(value, tuple) else value


_EXPLAIN = {
    ("RobustImputer", "constant"): "RobustImputer (converts missing values to nan)",
    ("RobustImputer", "median"): "RobustImputer (median)",
}


def _describe(stages) -> str:
    names = []
    for stage in stages:
        if isinstance(stage, Union):
            names.append(" and ".join(_describe_step(s) for s in stage.steps))
        else:
            names.append(_describe_step(stage))
    return ", then ".join(names)


def _describe_step(step: Step) -> str:
    return _EXPLAIN.get((step.transformer, step.params.get("strategy")), step.transformer)


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# --- the recipes ----------------------------------------------------------------------------------------------

_NAN = float("nan")
IMPUTE_NAN = Step("RobustImputer", {"strategy": "constant", "fill_values": _NAN})
IMPUTE_MEDIAN = Step("RobustImputer", {"strategy": "median"})
INDICATE = Step("RobustMissingIndicator")
SCALE = Step("RobustStandardScaler")


def _onehot(threshold=None, max_categories=100) -> Step:
    return Step("ThresholdOneHotEncoder", {"threshold": threshold, "max_categories": max_categories})


def _tfidf(vocabulary: int, n_text: int, ngram_range=(1, 1), min_df=1, max_df=0.9) -> Step:
    """Tf-idf over every text column, ``vocabulary`` terms in all, shared out among the ``n_text`` columns."""
    per_column = max(20, vocabulary // max(1, n_text))
    return Step("MultiColumnTfidfVectorizer",
                {"max_features": per_column, "ngram_range": ngram_range, "min_df": min_df, "max_df": max_df})


def _dates(mode: str) -> Step:
    return Step("DateTimeVectorizer", {"mode": mode})


def _pca(n_components: int) -> Step:
    return Step("RobustPCA", {"n_components": n_components, "random_state": 0})


def _recipes(n_text: int) -> tuple:
    """Each recipe: algorithm, then the stages for numeric, categorical, text and datetime columns, then the
    stages after the merge.

    XGBoost's time grows with the number of columns (it weighs every column's bins at every node: 9,000 tf-idf
    columns of the Seattle listings cost a hundred times what 300 do), so its recipes keep small vocabularies or
    summarise text with RobustPCA. It reads a sparse matrix's absent entries as missing, so its numeric branch
    adds missing indicators to keep "0" and "missing" apart. Linear models and MLPs get imputed, tamed and scaled
    numbers; tf-idf rows are already normalised, and scaling rare terms by their tiny deviation would make them
    huge, so text is left unscaled.
    """
    quantile, log = Step("QuantileExtremeValuesTransformer"), Step("LogExtremeValuesTransformer")
    nan_and_flags, median_and_flags = Union((IMPUTE_NAN, INDICATE)), Union((IMPUTE_MEDIAN, INDICATE))
    return (
        ("xgboost", (nan_and_flags,), (_onehot(),), (_tfidf(200, n_text),), (_dates("ordinal"),), ()),
        ("linear-learner", (median_and_flags, quantile, SCALE), (_onehot(),), (_tfidf(2000, n_text),),
         (_dates("cyclic"), SCALE), (_pca(256), SCALE)),
        ("xgboost", (IMPUTE_NAN,), (_onehot(threshold=5),), (_tfidf(400, n_text, (1, 2), min_df=2),),
         (_dates("ordinal"),), ()),
        ("mlp", (median_and_flags, quantile, SCALE), (_onehot(),), (_tfidf(1000, n_text),),
         (_dates("cyclic"), SCALE), ()),
        ("xgboost", (nan_and_flags, log), (_onehot(threshold=0.01),), (_tfidf(100, n_text),), (_dates("cyclic"),),
         ()),
        ("linear-learner", (IMPUTE_MEDIAN, SCALE), (_onehot(),), (_tfidf(2000, n_text),), (_dates("cyclic"), SCALE),
         ()),
        ("xgboost", (IMPUTE_MEDIAN,), (_onehot(),), (_tfidf(2000, n_text), _pca(32)), (_dates("ordinal"),), ()),
        ("linear-learner", (median_and_flags, log, SCALE), (_onehot(threshold=5),),
         (_tfidf(4000, n_text, (1, 2), min_df=2),), (_dates("cyclic"), SCALE), ()),
        ("mlp", (IMPUTE_MEDIAN, log, SCALE), (_onehot(),), (_tfidf(2000, n_text),), (_dates("cyclic"), SCALE),
         (_pca(128), SCALE)),
        ("xgboost", (nan_and_flags,), (_onehot(threshold=3, max_categories=250),), (_tfidf(600, n_text),),
         (_dates("ordinal"),), ()),
    )


def generate_candidates(column_types, target, problem_type, algorithms, labels=()) -> list[CandidateDefinition]:
    """Autopilot's candidate pipelines for this data: ten recipes, numbered dpp0.. over the chosen algorithms.

    ``column_types`` maps each column type to its feature columns. When only some algorithms are allowed, the
    recipes of the others are left out rather than re-assigned, so each dpp keeps the preprocessing its algorithm
    needs.
    """
    columns = {kind: tuple(column_types.get(kind, ())) for kind in COLUMN_TYPES}
    chosen = [r for r in _recipes(len(columns["text"])) if r[0] in algorithms]
    return [
        CandidateDefinition(
            name=f"dpp{i}",
            algorithm=algorithm,
            columns=columns,
            column_stages=dict(zip(COLUMN_TYPES, stages)),
            merged_stages=merged,
            problem_type=problem_type,
            target=target,
            labels=tuple(labels),
        )
        for i, (algorithm, *stages, merged) in enumerate(chosen)
    ]


def ensembling_views(column_types, target, problem_type, feeds: dict, labels=()) -> list[CandidateDefinition]:
    """The ENSEMBLING mode's two feature views, fitted once and shared by the families that read them.

    ``feeds`` maps each view ("trees", "dense") to the families it feeds; a view that feeds none is left out.
    Trees read the XGBoost recipe (missing values kept as such, with indicators; one-hot; a small tf-idf
    vocabulary); linear models and networks read the MLP recipe (imputed, tamed and scaled numbers).
    """
    columns = {kind: tuple(column_types.get(kind, ())) for kind in COLUMN_TYPES}
    recipes = _recipes(len(columns["text"]))
    chosen = [("trees", recipes[0]), ("dense", recipes[3])]
    return [
        CandidateDefinition(
            name=f"dpp{i}", algorithm=view, columns=columns, column_stages=dict(zip(COLUMN_TYPES, stages)),
            merged_stages=merged, problem_type=problem_type, target=target, labels=tuple(labels),
            feeds=tuple(feeds[view]),
        )
        for i, (view, (_, *stages, merged)) in enumerate((v, r) for v, r in chosen if feeds.get(v))
    ]
