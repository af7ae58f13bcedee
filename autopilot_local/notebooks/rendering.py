"""Jinja rendering with two escaping filters, and the cell markers that turn a rendered template into a notebook.

Every string a template interpolates must pass through ``py`` (a Python literal, for code) or ``md`` (HTML and
Markdown escaped, for Markdown); ``_finalize`` refuses any other string, so a user's column name can never become
code or markup by a forgotten filter. Context values that are trusted Markdown written by this package (the
candidate descriptions) are wrapped in `trusted` where they are built.
"""

from __future__ import annotations

import math
import numbers
import re
from importlib.resources import files

import jinja2
import nbformat
import numpy as np

TEMPLATES = "autopilot_local.templates"
CELL_MARKERS = {"# %% [markdown]": "markdown", "# %% [code]": "code"}
_LINE_WIDTH = 100
JOB_ROOT = "../../.."  # the job folder, seen from <job>/sagemaker-automl-candidates/<processing job>/notebooks/

# Characters Markdown (CommonMark, GitHub, MathJax) would read as syntax; written as numeric character references,
# which every renderer shows as the character itself. Newlines become references too, so a value never starts a
# Markdown block or a cell of its own.
_MARKDOWN_SPECIAL = "\\`*_[]#|~$<>&\n\r"


class Escaped(str):
    """Text already escaped for where a template puts it."""


def trusted(text: str) -> Escaped:
    """Markdown written by this package (never from user data), passed through as it is."""
    return Escaped(text)


def py(value, indent: int | None = None) -> Escaped:
    """``value`` as a Python literal (``repr`` of plain types, ``nan`` for NaN); with ``indent``, a long list or
    dict is laid out one item a line, its items indented by ``indent`` + 4 spaces."""
    one_line = _literal(value)
    if indent is None or len(one_line) + indent <= _LINE_WIDTH or not isinstance(value, (str, list, tuple, dict)):
        return Escaped(one_line)
    pad = " " * (indent + 4)
    if isinstance(value, str):  # adjacent literals, split after spaces: Python joins them back into the string
        pieces = re.findall(r".{1,%d}(?:\s+|$)|.{1,%d}" % (_LINE_WIDTH - 20, _LINE_WIDTH - 20), value, re.DOTALL)
        return Escaped("(\n" + "\n".join(pad + _literal(p) for p in pieces) + "\n" + " " * indent + ")")
    if isinstance(value, dict):
        items = [f"{pad}{_literal(k)}: {_literal(v)}," for k, v in value.items()]
        return Escaped("{\n" + "\n".join(items) + "\n" + " " * indent + "}")
    opening, closing = ("(", ")") if isinstance(value, tuple) else ("[", "]")
    items = [f"{pad}{_literal(v)}," for v in value]
    return Escaped(opening + "\n" + "\n".join(items) + "\n" + " " * indent + closing)


def md(value) -> Escaped:
    """``value`` as text inside Markdown: shown verbatim, never read as Markdown, HTML or math."""
    return Escaped("".join(f"&#{ord(c)};" if c in _MARKDOWN_SPECIAL else c for c in str(value)))


def _literal(value) -> str:
    if value is None or isinstance(value, (bool, np.bool_)):
        return repr(None if value is None else bool(value))
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, numbers.Integral):
        return repr(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return "nan"
        return repr(number) if math.isfinite(number) else f"float({repr(str(number))})"
    if isinstance(value, tuple):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no Python literal for a {type(value).__name__}")


def _finalize(value):
    if isinstance(value, Escaped) or (isinstance(value, numbers.Integral) and not isinstance(value, bool)):
        return value
    raise TypeError(f"a template interpolates {type(value).__name__} {str(value)[:40]!r} without the py or md filter")


def _percent(value) -> Escaped:
    return Escaped(f"{value:.2f}%")


def environment() -> jinja2.Environment:
    """The templates' environment: no autoescaping (the filters do it), undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(py=py, md=md, percent=_percent)
    env.globals["job_root"] = trusted(JOB_ROOT)
    return env


def _load_template(name: str) -> str:
    return files(TEMPLATES).joinpath(name).read_text(encoding="utf-8")


def render_text(template: str, **context) -> str:
    """The text of ``template`` rendered with ``context``."""
    return environment().get_template(template).render(**context)


def render_notebook(template: str, **context) -> nbformat.NotebookNode:
    """A notebook from a template whose cells each start with a ``# %% [markdown]`` or ``# %% [code]`` line.

    Escaped values never hold a raw newline, so only the template itself can start a cell.
    """
    cells, kind, lines = [], None, []
    for line in render_text(template, **context).split("\n"):
        if line in CELL_MARKERS:
            if kind:
                cells.append(_cell(kind, lines, len(cells)))
            kind, lines = CELL_MARKERS[line], []
        elif kind:
            lines.append(line)
    if kind:
        cells.append(_cell(kind, lines, len(cells)))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    return notebook


def _cell(kind: str, lines: list[str], position: int):
    source = "\n".join(lines).strip("\n")
    make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
    return make(source, id=f"{kind}-{position}")  # stable ids: the same job renders the same file
