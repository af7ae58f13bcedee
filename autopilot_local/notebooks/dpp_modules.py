"""The generated ``dppN.py`` modules: each candidate's pipeline written out as code, from its `CandidateDefinition`.

The stages and their parameters are the definition's own; the options of the `ColumnTransformer` and the label
transform are read from the objects the definition builds. So the module builds the very pipeline the job fitted.
"""

from __future__ import annotations

from sklearn.compose import ColumnTransformer

from ..candidates import CandidateDefinition, Step, Union
from .rendering import Escaped, py, render_text

TEMPLATE = "dpp.py.jinja"


def render_module(definition: CandidateDefinition, job_name: str) -> str:
    """The source of ``<definition.name>.py``."""
    kinds = definition.active_types()
    branches = [
        {
            "variable": _identifier(f"{kind}_processing"),
            "constant": _identifier(kind.upper()),
            "columns": list(definition.columns[kind]),
            "stages": [_stage(s) for s in definition.column_stages[kind]],
        }
        for kind in kinds
    ]
    label_transform = definition.build_label_transform()
    return render_text(
        TEMPLATE,
        job_name=job_name,
        label=definition.label,
        description=definition.description(),
        target=definition.target,
        imports=[_identifier(n) for n in sorted(_transformer_names(definition) | {type(label_transform).__name__})],
        branches=branches,
        merged=[_stage(s) for s in definition.merged_stages],
        column_transformer_options=_changed_options(definition.build_feature_transform().named_steps["column_transformer"]),
        label_transform=_call(type(label_transform).__name__, label_transform.get_params(deep=False)),
    )


def _stage(stage) -> dict:
    if isinstance(stage, Union):
        return {"name": stage.step_name, "union": [_stage(s) for s in stage.steps]}
    return {"name": stage.step_name, "union": None, "call": _call(stage.transformer, stage.params)}


def _call(class_name: str, params: dict) -> Escaped:
    arguments = ", ".join(f"{_identifier(key)}={py(value)}" for key, value in params.items())
    return Escaped(f"{_identifier(class_name)}({arguments})")


def _changed_options(column_transformer: ColumnTransformer) -> list[Escaped]:
    """``name=value`` for each option of the job's ColumnTransformer that differs from scikit-learn's default."""
    defaults = ColumnTransformer([]).get_params(deep=False)
    options = column_transformer.get_params(deep=False)
    return [Escaped(f"{_identifier(k)}={py(v)}") for k, v in options.items()
            if k != "transformers" and v != defaults[k]]


def _transformer_names(definition: CandidateDefinition) -> set[str]:
    stages = [s for kind in definition.active_types() for s in definition.column_stages[kind]]
    stages += list(definition.merged_stages)
    steps = [step for s in stages for step in (s.steps if isinstance(s, Union) else (s,))]
    return {step.transformer for step in steps if isinstance(step, Step)}


def _identifier(name: str) -> Escaped:
    """Names of our own classes, parameters and variables; checked, since they go into code unquoted."""
    if not name.isidentifier():
        raise ValueError(f"{name!r} is not a Python identifier")
    return Escaped(name)
