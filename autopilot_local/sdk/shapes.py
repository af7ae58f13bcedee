"""Request and response structures with snake_case fields, as ``sagemaker.core.shapes`` has them.

One generic `Shape` turns snake_case keyword fields into the service's PascalCase members and back; the named
classes exist so that ``from sagemaker.core.shapes import TabularJobConfig`` changes only its module.
"""

from __future__ import annotations

import re


class Shape:
    """A service structure: keyword fields in, PascalCase request members out (`to_request`), and back (`parse`)."""

    def __init__(self, **fields):
        for name, value in fields.items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def to_request(self) -> dict:
        """The structure as request JSON: PascalCase members, unset (None) fields left out."""
        return {pascal(name): to_request(value) for name, value in vars(self).items() if value is not None}

    @classmethod
    def parse(cls, members: dict) -> Shape:
        """A shape of this class from response ``members``, with snake_case fields and nested structures parsed."""
        return cls(**{snake(key): parse(value) for key, value in members.items()})


def to_request(value):
    """Any mix of shapes, dicts and lists as the request JSON the service takes."""
    if isinstance(value, Shape):
        return value.to_request()
    if isinstance(value, dict):
        return {key: to_request(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_request(item) for item in value]
    return value


def parse(value):
    """A response member as shapes: structures become `Shape`, maps (environment variables, tags) stay dicts."""
    if isinstance(value, dict) and value and all(_MEMBER.match(key) for key in value):
        return Shape.parse(value)
    if isinstance(value, dict):
        return {key: parse(item) for key, item in value.items()}
    if isinstance(value, list):
        return [parse(item) for item in value]
    return value


_MEMBER = re.compile(r"^[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*$")  # "AutoMLJobName", not "CPU" or "SAGEMAKER_X"


def pascal(name: str) -> str:
    """auto_ml_job_name -> AutoMLJobName, s3_uri -> S3Uri."""
    return "".join(word[:1].upper() + word[1:] for word in name.split("_")).replace("AutoMl", "AutoML")


def snake(member: str) -> str:
    """AutoMLJobName -> auto_ml_job_name, S3Uri -> s3_uri."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", member.replace("AutoML", "AutoMl"))
    return spaced.lower()


def _named(name: str) -> type:
    return type(name, (Shape,), {"__doc__": f"The service's {name} structure."})


AutoMLAlgorithmConfig = _named("AutoMLAlgorithmConfig")
AutoMLCandidate = _named("AutoMLCandidate")
AutoMLCandidateGenerationConfig = _named("AutoMLCandidateGenerationConfig")
AutoMLChannel = _named("AutoMLChannel")
AutoMLDataSource = _named("AutoMLDataSource")
AutoMLDataSplitConfig = _named("AutoMLDataSplitConfig")
AutoMLJobChannel = _named("AutoMLJobChannel")
AutoMLJobCompletionCriteria = _named("AutoMLJobCompletionCriteria")
AutoMLJobConfig = _named("AutoMLJobConfig")
AutoMLJobObjective = _named("AutoMLJobObjective")
AutoMLOutputDataConfig = _named("AutoMLOutputDataConfig")
AutoMLProblemTypeConfig = _named("AutoMLProblemTypeConfig")
AutoMLS3DataSource = _named("AutoMLS3DataSource")
AutoMLSecurityConfig = _named("AutoMLSecurityConfig")
CandidateGenerationConfig = _named("CandidateGenerationConfig")
ModelDeployConfig = _named("ModelDeployConfig")
TabularJobConfig = _named("TabularJobConfig")
Tag = _named("Tag")
