"""The model performance report (Autopilot's model insights) of a job's best candidate.

It is computed from the candidate's validation predictions (out of fold where the job cross-validates, else on the
holdout or the validation file): every metric Autopilot reports for the problem type with its standard deviation
over bootstrap resamples of the rows, and the charts a reviewer reads: actual against predicted, standardized
residuals and their histogram for regression; confusion matrix, ROC, precision-recall, cumulative gain and lift
for classification. The JSON holds the numbers, the HTML the same with the figures inline, so it opens offline.
"""

from __future__ import annotations

import html
import math
import warnings

import numpy as np
from sklearn import metrics as skm

from ..metrics import all_scores
from ..notebooks.report_views import Figure
from ..vocabulary import BINARY, REGRESSION, objective_direction

BOOTSTRAP = 100  # resamples for each metric's standard deviation: about 7% relative error, and 0.65 s for binary
CURVE_POINTS = 200  # points kept of a ROC or precision-recall curve
GAIN_BINS = 10  # deciles of the rows ranked by the positive class's probability
MAX_POINTS = 5000  # rows drawn in a scatter plot
PAGE_STYLE = """<style>
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: left; }
figure { display: inline-block; margin: 0 1em 1em 0; }
</style>"""  # both reports' pages


def build(candidate: str, problem_type: str, objective: str, y: np.ndarray, prediction: np.ndarray, labels=(),
          sample_weight: np.ndarray | None = None, evaluated_on: str = "", seed: int = 0,
          train_metrics: dict | None = None) -> dict:
    """The report as JSON-able data. ``prediction`` is raw model output (values, or one probability column per
    class in label-code order); ``labels`` are the class labels in that order. ``train_metrics``, the candidate's
    metrics on the rows its models were fitted on, stand beside the evaluated ones: the gap shows overfitting."""
    metrics = all_scores(problem_type, y, prediction, sample_weight)
    spread = _bootstrap(problem_type, y, prediction, sample_weight, seed)
    report = {
        "job_details": {"candidate": candidate, "problem_type": problem_type, "objective": objective,
                        "direction": objective_direction(objective), "rows_evaluated": int(len(y)),
                        "evaluated_on": evaluated_on, "weighted": sample_weight is not None},
        "metrics": [{"name": name, "value": _number(value), "standard_deviation": _number(spread[name])}
                    | ({"train_value": _number(train_metrics[name])} if name in (train_metrics or {}) else {})
                    for name, value in metrics.items()],
    }
    if problem_type == REGRESSION:
        residuals = y - prediction
        report["residuals"] = {"mean": float(residuals.mean()), "standard_deviation": float(residuals.std()),
                               "quantiles": dict(zip(("5%", "25%", "50%", "75%", "95%"),
                                                     np.quantile(residuals, [0.05, 0.25, 0.5, 0.75, 0.95]).tolist()))}
        return report
    chosen = np.argmax(prediction, axis=1)
    report["labels"] = [str(label) for label in labels]
    report["confusion_matrix"] = skm.confusion_matrix(y, chosen, labels=np.arange(prediction.shape[1])).tolist()
    if problem_type == BINARY:
        report["threshold"] = 0.5  # the positive class is predicted where its probability exceeds the other's
        report |= _binary_curves(y, prediction[:, 1])
    return report


def _bootstrap(problem_type, y, prediction, weight, seed) -> dict:
    rng = np.random.default_rng(seed)
    draws: dict = {}
    for _ in range(BOOTSTRAP):
        rows = rng.integers(0, len(y), len(y))
        with warnings.catch_warnings():  # a resample of a rare class may hold one class: scikit-learn says so
            warnings.simplefilter("ignore", UserWarning)
            scores = all_scores(problem_type, y[rows], prediction[rows], None if weight is None else weight[rows])
        for name, value in scores.items():
            draws.setdefault(name, []).append(value)
    return {name: float(np.nanstd(values)) if np.isfinite(values).any() else math.nan
            for name, values in draws.items()}


def _binary_curves(y, positive) -> dict:
    if len(np.unique(y)) < 2:
        return {}
    fpr, tpr, _ = skm.roc_curve(y, positive)
    precision, recall, _ = skm.precision_recall_curve(y, positive)
    order = np.argsort(-positive, kind="stable")
    hits = np.cumsum(y[order] == 1)
    edges = np.linspace(0, len(y), GAIN_BINS + 1).astype(int)[1:]
    gain = [float(hits[e - 1] / hits[-1]) for e in edges]
    share = [float(e / len(y)) for e in edges]
    return {
        "roc": {"auc": float(skm.roc_auc_score(y, positive)), "fpr": _thin(fpr), "tpr": _thin(tpr)},
        "precision_recall": {"auprc": float(skm.average_precision_score(y, positive)),
                             "precision": _thin(precision), "recall": _thin(recall)},
        "gain": {"share_of_rows": share, "share_of_positives": gain},
        "lift": {"share_of_rows": share, "lift": [g / s for g, s in zip(gain, share)]},
    }


def _thin(values: np.ndarray) -> list:
    keep = np.unique(np.linspace(0, len(values) - 1, min(len(values), CURVE_POINTS)).astype(int))
    return values[keep].tolist()


def _number(value: float):
    return float(value) if math.isfinite(value) else None


# --- the HTML ---------------------------------------------------------------------------------------------------


def render_html(report: dict, y: np.ndarray, prediction: np.ndarray) -> str:
    """The report as one HTML page, its figures inline (PNG in data URIs): it opens offline, anywhere."""
    details = report["job_details"]
    rows = "".join(f"<tr><th>{html.escape(k.replace('_', ' '))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in details.items())
    trained = any("train_value" in m for m in report["metrics"])
    metric_rows = "".join(
        f"<tr><td>{html.escape(m['name'])}</td><td>{_shown(m['value'])}</td><td>{_shown(m['standard_deviation'])}</td>"
        + (f"<td>{_shown(m.get('train_value'))}</td>" if trained else "") + "</tr>"
        for m in report["metrics"])
    images = inline_images(_figures(report, y, prediction))
    train_note = (", and on the rows the models were fitted on (train: each row by the models that saw it)"
                  if trained else "")
    train_heading = "<th>train</th>" if trained else ""
    threshold = (f"<p>Positive class <b>{html.escape(report['labels'][1])}</b> where its probability is above "
                 f"{report['threshold']:g}.</p>" if "threshold" in report else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Model performance: {html.escape(details['candidate'])}</title>
{PAGE_STYLE}</head><body>
<h1>Model performance report</h1>
<h2>Job details</h2><table>{rows}</table>
<h2>Metrics</h2>
<p>Each metric on the {details['rows_evaluated']:,} rows evaluated ({html.escape(details['evaluated_on'])}), with its
standard deviation over {BOOTSTRAP} bootstrap resamples of those rows{train_note}.</p>
<table><tr><th>metric</th><th>value</th><th>standard deviation</th>{train_heading}</tr>{metric_rows}</table>{threshold}
<h2>Charts</h2>{images}
</body></html>
"""


def _shown(value) -> str:
    return "" if value is None else f"{value:.6g}"


def _figures(report: dict, y, prediction) -> list:
    if report["job_details"]["problem_type"] == REGRESSION:
        return _regression_figures(y, prediction)
    figures = [_confusion(report)]
    if "roc" in report:
        figures += _binary_figures(report)
    return figures


def inline_images(figures: list) -> str:
    """Each figure as an HTML image whose PNG is in the page itself."""
    return "".join(f'<figure><img alt="{html.escape(f.title)}" src="data:image/png;base64,{f.png}"></figure>'
                   for f in figures)


def axis_text(name, width: int = 30) -> str:
    """A label for a chart: one line, at most ``width`` characters, and no $ that matplotlib would read as math."""
    text = " ".join(str(name).split())
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("$", r"\$")


def new_axes(width: float = 5, height: float = 4):
    """A figure of its own (matplotlib's object API: nothing global changes) and its one subplot."""
    from matplotlib.figure import Figure as MatplotlibFigure

    figure = MatplotlibFigure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def _regression_figures(y, prediction) -> list:
    rows = np.random.default_rng(0).permutation(len(y))[:MAX_POINTS]
    residuals = y - prediction
    standardized = residuals / (residuals.std() or 1.0)
    # a few extreme rows would squash the rest into a corner: the axes span the middle 99% of the values
    low, high = np.quantile(np.concatenate([y, prediction]), [0.005, 0.995])
    beyond = int(np.sum((y < low) | (y > high) | (prediction < low) | (prediction > high)))
    figure, axes = new_axes()
    axes.scatter(y[rows], prediction[rows], s=6, alpha=0.4)
    axes.plot([low, high], [low, high], color="#d62728", linewidth=1, label="predicted = actual")
    axes.set(xlabel="actual", ylabel="predicted", xlim=(low, high), ylim=(low, high),
             title="Actual vs predicted" + (f" ({beyond} rows beyond the axes)" if beyond else ""))
    axes.legend(loc="upper left")
    scatter = Figure("Actual vs predicted", figure)
    reach = max(4.0, float(np.quantile(np.abs(standardized), 0.995)))
    beyond = int(np.sum(np.abs(standardized) > reach))
    figure, axes = new_axes()
    axes.scatter(prediction[rows], standardized[rows], s=6, alpha=0.4)
    axes.axhline(0, color="#d62728", linewidth=1)
    for level in (-2, 2):
        axes.axhline(level, color="#999", linewidth=0.8, linestyle="--")
    axes.set(xlabel="predicted", ylabel="residual / its standard deviation", ylim=(-reach, reach),
             title="Standardized residuals" + (f" ({beyond} rows beyond the axis)" if beyond else ""))
    standardized_figure = Figure("Standardized residuals", figure)
    figure, axes = new_axes()
    low, high = np.quantile(residuals, [0.005, 0.995])
    beyond = int(np.sum((residuals < low) | (residuals > high)))
    axes.hist(residuals, bins=50, range=(low, high), color="#1f77b4")
    axes.set(xlabel="residual (actual - predicted)", ylabel="rows",
             title="Residual histogram" + (f" ({beyond} rows beyond the axis)" if beyond else ""))
    return [scatter, standardized_figure, Figure("Residual histogram", figure)]


def _confusion(report: dict):
    matrix = np.asarray(report["confusion_matrix"])
    labels = [axis_text(label, 20) for label in report["labels"]]
    figure, axes = new_axes(max(4, 0.6 * len(labels) + 2), max(3.5, 0.6 * len(labels) + 1.5))
    axes.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        axes.text(column, row, str(count), ha="center", va="center",
                  color="white" if count > matrix.max() / 2 else "black")
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set(xlabel="predicted", ylabel="actual", title="Confusion matrix")
    return Figure("Confusion matrix", figure)


def _binary_figures(report: dict) -> list:
    roc, pr = report["roc"], report["precision_recall"]
    figure, axes = new_axes()
    axes.plot(roc["fpr"], roc["tpr"], label=f"AUC {roc['auc']:.4f}")
    axes.plot([0, 1], [0, 1], color="#999", linestyle="--", linewidth=0.8, label="chance")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    axes.legend(loc="lower right")
    roc_figure = Figure("ROC curve", figure)
    figure, axes = new_axes()
    axes.plot(pr["recall"], pr["precision"], label=f"AUPRC {pr['auprc']:.4f}")
    axes.set(xlabel="recall", ylabel="precision", title="Precision-recall curve", ylim=(0, 1.02))
    axes.legend(loc="lower left")
    pr_figure = Figure("Precision-recall curve", figure)
    share = [0.0] + report["gain"]["share_of_rows"]
    figure, axes = new_axes()
    axes.plot(share, [0.0] + report["gain"]["share_of_positives"], marker="o", label="model")
    axes.plot([0, 1], [0, 1], color="#999", linestyle="--", linewidth=0.8, label="random")
    axes.set(xlabel="share of rows, most probable positive first", ylabel="share of positives found",
             title="Cumulative gain")
    axes.legend(loc="lower right")
    gain_figure = Figure("Cumulative gain", figure)
    figure, axes = new_axes()
    axes.plot(report["lift"]["share_of_rows"], report["lift"]["lift"], marker="o")
    axes.axhline(1, color="#999", linestyle="--", linewidth=0.8)
    axes.set(xlabel="share of rows, most probable positive first", ylabel="lift", title="Lift")
    return [roc_figure, pr_figure, gain_figure, Figure("Lift", figure)]
