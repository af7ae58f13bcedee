"""The explainability report of a job's best candidate: SHAP values on the original columns, JSON and offline HTML.

A global importance bar chart (mean absolute attribution per column), a beeswarm of every explained row's
attributions for the top columns, and dependence plots (a column's value against its attribution) for the top
three. The rows explained are a seeded sample of the training rows, as many as the time allowed buys.
"""

from __future__ import annotations

import html
import time

import numpy as np
import pandas as pd

from ..notebooks.report_views import Figure
from ..parsing import coerce_numeric
from .explain import BACKGROUND, PERMUTATIONS, Explanation, exact_explainer, sampled_explanation
from .performance import PAGE_STYLE, axis_text, inline_images, new_axes

TOP_BARS = 15
TOP_SWARM = 10
TOP_DEPENDENCE = 3
MAX_ROWS = 1000
MIN_ROWS = 50  # rows an exact explanation always covers
FEWEST_ROWS = 10  # a sampled one covers at least these, or none
PROBE_ROWS = 200
MAX_CATEGORIES = 12  # a column with more distinct non-numbers gets no dependence plot


def explain_sample(model, features: pd.DataFrame, seed: int = 0, seconds: float = 30.0) -> tuple:
    """An explanation of a sample of ``features`` (the training rows) and the rows it explains, as many (up to
    1,000) as take about ``seconds``; (None, reason) where even a few rows would take far longer (a sampled
    explanation asks the model twice per column: thousands of columns cost minutes)."""
    rows = features.sample(n=min(MAX_ROWS, len(features)), random_state=seed).reset_index(drop=True)
    explainer = exact_explainer(model, features, rows)
    if explainer is not None:
        started = time.perf_counter()
        exact = explainer(rows.head(MIN_ROWS))
        per_row = (time.perf_counter() - started) / MIN_ROWS  # deep trees: a millisecond a row
        affordable = min(len(rows), max(MIN_ROWS, int(seconds / per_row)))
        if affordable == MIN_ROWS:
            return exact, rows.head(MIN_ROWS)
        rows = rows.head(affordable)
        return explainer(rows), rows
    probe = rows.head(PROBE_ROWS)
    started = time.perf_counter()
    model.predict_raw(probe)
    per_call = time.perf_counter() - started  # a call's fixed cost dominates small batches
    calls = PERMUTATIONS * (len(model.feature_columns) + 1)
    batch = min(BACKGROUND, len(features))
    affordable = min(len(rows), int(seconds / calls / per_call * len(probe) / batch))
    if affordable < FEWEST_ROWS:
        return None, (f"not explained: a sampled explanation of even {FEWEST_ROWS} rows would take about "
                      f"{calls * per_call * FEWEST_ROWS * batch / len(probe):.0f} s, over the {seconds:.0f} s "
                      f"allowed ({len(model.feature_columns)} columns)")
    rows = rows.head(affordable)
    return sampled_explanation(model, rows, features, seed), rows


def build(candidate: str, explanation: Explanation) -> dict:
    """The report's JSON document: how ``explanation`` was made, and each column's mean absolute and mean
    attribution, most important first."""
    importance = np.abs(explanation.values).mean(axis=0)
    ranked = np.argsort(-importance, kind="stable")
    return {
        "candidate": candidate,
        "method": explanation.method,
        "scale": explanation.scale,
        "rows_explained": int(len(explanation.values)),
        "base_value": float(np.mean(explanation.base_value)),
        "global_importance": [
            {"feature": str(explanation.columns[i]), "mean_absolute_shap": float(importance[i]),
             "mean_shap": float(explanation.values[:, i].mean())} for i in ranked
        ],
    }


def skipped(candidate: str, reason: str) -> tuple[dict, str]:
    """The report (JSON and HTML) of a candidate the time allowed no explanation of."""
    return {"candidate": candidate, "skipped": reason}, (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Explainability: '
        f"{html.escape(candidate)}</title></head><body><h1>Explainability report</h1>"
        f"<p>Candidate <b>{html.escape(candidate)}</b>: {html.escape(reason)}.</p></body></html>\n")


def render_html(report: dict, explanation: Explanation, rows: pd.DataFrame) -> str:
    """The report as one offline HTML page: the importance table, then the bar chart, beeswarm and dependence
    plots of ``explanation`` on ``rows``."""
    figures = [_bars(report)] + [_beeswarm(report, explanation, rows)] + _dependence(report, explanation, rows)
    images = inline_images(figures)
    table = "".join(f"<tr><td>{html.escape(item['feature'])}</td><td>{item['mean_absolute_shap']:.6g}</td>"
                    f"<td>{item['mean_shap']:.6g}</td></tr>" for item in report["global_importance"][:TOP_BARS])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Explainability: {html.escape(report['candidate'])}</title>
{PAGE_STYLE}</head><body>
<h1>Explainability report</h1>
<p>Candidate <b>{html.escape(report['candidate'])}</b>: {html.escape(report['method'])} on the original columns of
{report['rows_explained']:,} training rows. Each row's attributions plus the base value
({report['base_value']:.6g}) add up to the model's {html.escape(report['scale'])} for that row.</p>
<h2>Global importance</h2>
<table><tr><th>column</th><th>mean |SHAP|</th><th>mean SHAP</th></tr>{table}</table>
{images}
</body></html>
"""


def _bars(report: dict) -> Figure:
    top = report["global_importance"][:TOP_BARS][::-1]
    figure, axes = new_axes(6, max(3, 0.35 * len(top) + 1))
    axes.barh([axis_text(t["feature"]) for t in top], [t["mean_absolute_shap"] for t in top], color="#1f77b4")
    axes.set(xlabel=f"mean |SHAP value| ({axis_text(report['scale'], 60)})", title="Global importance")
    return Figure("Global importance", figure)


def _colour_values(values: pd.Series) -> np.ndarray:
    """A column's values as 0..1 ranks for colour; NaN (grey) where they are not numbers."""
    return pd.Series(coerce_numeric(values)).rank(pct=True).to_numpy()


def _beeswarm(report: dict, explanation: Explanation, rows: pd.DataFrame) -> Figure:
    names = [t["feature"] for t in report["global_importance"][:TOP_SWARM]]
    index = {str(c): i for i, c in enumerate(explanation.columns)}
    figure, axes = new_axes(7, max(3, 0.45 * len(names) + 1.2))
    rng = np.random.default_rng(0)
    points = None
    for position, name in enumerate(reversed(names)):
        column = explanation.columns[index[name]]
        values = explanation.values[:, index[name]]
        colours = _colour_values(rows[column])
        jitter = rng.uniform(-0.25, 0.25, len(values))
        numeric = np.isfinite(colours)
        axes.scatter(values[~numeric], position + jitter[~numeric], s=5, color="#999999", alpha=0.6)
        if numeric.any():
            points = axes.scatter(values[numeric], position + jitter[numeric], s=5, c=colours[numeric],
                                  cmap="coolwarm", vmin=0, vmax=1, alpha=0.7)
    axes.axvline(0, color="#555", linewidth=0.8)
    axes.set_yticks(range(len(names)), [axis_text(n) for n in reversed(names)])
    axes.set(xlabel="SHAP value", title="Attributions of every row (colour: the value's rank, grey: not a number)")
    if points is not None:
        figure.colorbar(points, ax=axes, label="value rank (low to high)")
    return Figure("Beeswarm", figure)


def _dependence(report: dict, explanation: Explanation, rows: pd.DataFrame) -> list:
    """Dependence plots of the top columns that have one: numbers, or a few categories (not free text or names,
    where every row is a category of its own)."""
    figures = []
    index = {str(c): i for i, c in enumerate(explanation.columns)}
    for item in report["global_importance"]:
        if len(figures) == TOP_DEPENDENCE:
            break
        column = explanation.columns[index[item["feature"]]]
        shap = explanation.values[:, index[item["feature"]]]
        numbers = coerce_numeric(rows[column])
        if np.isfinite(numbers).mean() <= 0.5 and rows[column].nunique() > MAX_CATEGORIES:
            continue
        figure, axes = new_axes()
        if np.isfinite(numbers).mean() > 0.5:
            axes.scatter(numbers, shap, s=6, alpha=0.5)
            axes.set(xlabel=axis_text(column, 50))
        else:  # a few categories, in sorted order, each a strip of its rows' attributions
            text = rows[column].astype(object).where(rows[column].notna(), "(missing)").astype(str)
            common = sorted(text.unique())
            for position, value in enumerate(common):
                chosen = (text == value).to_numpy()
                axes.scatter(np.full(chosen.sum(), position) + np.random.default_rng(position).uniform(
                    -0.2, 0.2, chosen.sum()), shap[chosen], s=6, alpha=0.5)
            axes.set_xticks(range(len(common)), [axis_text(v, 18) for v in common], rotation=45, ha="right")
        axes.axhline(0, color="#555", linewidth=0.8)
        axes.set(ylabel="SHAP value", title=f"Dependence: {axis_text(column, 40)}")
        figures.append(Figure(f"Dependence: {column}", figure))
    return figures
