"""Run a rendered notebook's code cells in this process and keep their outputs in the notebook.

The data exploration notebook is stored with its tables and figures already in it, so it reads well where no
kernel runs (GitHub, nbviewer). The outputs come from the very cells a reader re-executes: each cell's source runs
here with a ``display`` that records what Jupyter's would show, through the objects' ``_repr_mimebundle_``.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import nbformat


def prerun(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Fill in the outputs of every code cell; a cell that raises gets its error as text and the rest go on."""
    namespace: dict = {"__name__": "__main__"}
    count = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        cell.outputs = _run(cell.source, namespace, f"<cell {count}>")
    return notebook


def _run(source: str, namespace: dict, name: str) -> list:
    outputs: list = []
    namespace["display"] = lambda *objects: outputs.extend(_display_data(o) for o in objects)
    printed = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(printed):
            warnings.simplefilter("ignore")
            exec(compile(source, name, "exec"), namespace)
    except Exception as error:  # the stored notebook says what failed; executing it shows the traceback
        outputs.append(nbformat.v4.new_output("stream", name="stderr",
                                              text=f"This cell could not run when the job wrote the notebook: "
                                                   f"{type(error).__name__}: {error}\n"))
    if printed.getvalue():
        outputs.insert(0, nbformat.v4.new_output("stream", name="stdout", text=printed.getvalue()))
    return outputs


def _display_data(obj) -> nbformat.NotebookNode:
    bundle = obj._repr_mimebundle_() if hasattr(obj, "_repr_mimebundle_") else {"text/plain": repr(obj)}
    return nbformat.v4.new_output("display_data", data=bundle, metadata={})
