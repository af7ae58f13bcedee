"""The JSONPath forms SageMaker's batch transform filters take (``$``, ``.name``, ``.*``, ``[*]``, quoted names,
indexes and ``start:end`` slices), parsed and applied in one place; SageMaker's own filters support no more."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Step:
    """One segment of a path: ``keys`` (names of an object's members) or ``indexes`` (ints and slices of an
    array), neither for a wildcard. One key or one index selects the value itself, several a smaller object or
    array of them, as SageMaker's filters do (``$['id','SageMakerOutput']`` keeps an object, ``$[0,-1]`` an array)."""

    keys: tuple[str, ...] = ()
    indexes: tuple[int | slice, ...] = ()

    def apply(self, value: Any) -> Any:
        """What the step selects of ``value``; `LookupError` saying what ``value`` lacks."""
        if self.keys:
            if not isinstance(value, dict):
                raise LookupError(f"it is not a JSON object, so has no key {self.keys[0]!r}")
            missing = [key for key in self.keys if key not in value]
            if missing:
                raise LookupError(f"it has no key {missing[0]!r}")
            return value[self.keys[0]] if len(self.keys) == 1 else {key: value[key] for key in self.keys}
        if isinstance(value, dict) and not self.indexes:
            return list(value.values())
        if not isinstance(value, list):
            raise LookupError("it is not an array")
        width, picked = len(value), []
        for index in self.indexes or (slice(None),):
            bounds = [index] if isinstance(index, int) else [b for b in (index.start, index.stop) if b is not None]
            limit = width if isinstance(index, int) else width + 1
            if any(not -width <= bound < limit for bound in bounds):
                raise LookupError(f"it has {width} columns; [{_shown(index)}] is out of range")
            picked += [value[index]] if isinstance(index, int) else value[index]
        return picked[0] if len(self.indexes) == 1 and isinstance(self.indexes[0], int) else picked


JsonPath = tuple[Step, ...]
_SEGMENT = re.compile(r"""\.(\*|[^.\[\]'"\s]+)|\[((?:'[^']*'|"[^"]*"|[^\]'"])*)\]""")
_ITEM = re.compile(r"""\s*('[^']*'|"[^"]*"|-?\d*\s*:\s*-?\d*|-?\d+|\*)\s*(?:,|$)""")


def parse_path(text: str) -> JsonPath:
    """The steps of a JSONPath as SageMaker's batch transform filters take it: ``$`` then ``.name``, ``.*`` or
    brackets holding ``*``, quoted names, or indexes and ``start:end`` slices, comma-separated. `ValueError` says
    what is wrong with any other (``..``, filters and steps are not supported by SageMaker's filters either)."""
    if not text.startswith("$"):
        raise ValueError("a path starts with '$'")
    steps, at = [], 1
    while at < len(text):
        segment = _SEGMENT.match(text, at)
        if segment is None:
            raise ValueError(f"cannot read it from character {at + 1} ({text[at:]!r})")
        steps.append(_step(segment.group(1)) if segment.group(1) is not None else _bracket(segment.group(2)))
        at = segment.end()
    return tuple(steps)


def _step(name: str) -> Step:
    return Step() if name == "*" else Step(keys=(name,))


def _bracket(content: str) -> Step:
    items, at = [], 0
    while at < len(content) or not items:
        item = _ITEM.match(content, at)
        if item is None:
            raise ValueError(f"cannot read [{content}]: give '*', quoted names, or indexes and start:end slices")
        items.append(item.group(1))
        at = item.end()
    if content.rstrip().endswith(","):
        raise ValueError(f"[{content}] ends with a comma")
    quoted = [item[0] in "'\"" for item in items]
    if "*" in items:
        if len(items) > 1:
            raise ValueError(f"[{content}] mixes '*' with other selectors")
        return Step()
    if all(quoted):
        return Step(keys=tuple(item[1:-1] for item in items))
    if any(quoted):
        raise ValueError(f"[{content}] mixes names and indexes")
    return Step(indexes=tuple(slice(*(int(b) if b.strip() else None for b in item.split(":"))) if ":" in item
                              else int(item) for item in items))


def select(path: JsonPath, value: Any) -> Any:
    """What ``path`` selects of ``value``; `LookupError` when ``value`` lacks what it names."""
    for step in path:
        value = step.apply(value)
    return value


def _shown(index: int | slice) -> str:
    if isinstance(index, int):
        return str(index)
    return f"{'' if index.start is None else index.start}:{'' if index.stop is None else index.stop}"
