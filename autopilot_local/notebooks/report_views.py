"""The data exploration notebook's tables and figures, computed from the job's `ExplorationReport` and its data.

Each section function returns objects that Jupyter's ``display`` shows (HTML tables, PNG figures, notes). Tables
also carry their rows as JSON under `TABLE_MIME`, a type no viewer renders, so tools and tests can read exactly
what a table shows. Figures use matplotlib's object API (no pyplot): nothing global changes in the reader's kernel.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis import ExplorationReport
from ..analysis._common import jsonable, sample_positions
from ..analysis.prediction_power import LEAKAGE_THRESHOLD
from ..analysis.problem_type import valid_target_mask
from ..analysis.report import MODEL_ROWS
from ..analysis.statistics import OUTLIER_RSTDS, numeric_frame
from ..parsing import coerce_numeric
from ..vocabulary import REGRESSION

TABLE_MIME = "application/vnd.autopilot-local.table+json"
MAX_TABLE_ROWS = 30  # longer tables show their first and last rows
SAMPLE_ROWS = 10
TOP_FEATURES = 20  # bars in a chart, feature columns in a table of whole rows
HEATMAP_COLUMNS = 10
CELL_CHARACTERS = 120
BLUE, ORANGE, RED = "#1f77b4", "#ff7f0e", "#d62728"
TYPE_NAMES = {"numeric": "Numeric", "categorical": "Categorical", "text": "Text", "datetime": "Datetime",
              "excluded": "Excluded"}


def load_report(path) -> ExplorationReport:
    """The `ExplorationReport` a job saved as JSON in ``path``."""
    return ExplorationReport.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


class Table:
    """An HTML table; ``data`` is what it shows as JSON, all rows (the HTML may elide the middle of long ones)."""

    def __init__(self, title: str, frame: pd.DataFrame, data, index: bool = True):
        self.title, self.frame, self.data, self.index = title, frame, jsonable(data), index

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        shown = _elide(self.frame)
        table = shown.to_html(escape=True, index=self.index, na_rep="", border=0)
        return {
            "text/html": f'<b>{html.escape(self.title)}</b>\n<div style="overflow-x:auto;">\n{table}\n</div>',
            "text/plain": f"{self.title}\n{shown.to_string(index=self.index)}",
            TABLE_MIME: {"title": self.title, "data": self.data},
        }


class Figure:
    """A matplotlib figure as a PNG."""

    def __init__(self, title: str, figure):
        self.title = title
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
        self.png = base64.b64encode(buffer.getvalue()).decode("ascii")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"image/png": self.png, "text/plain": f"<figure: {self.title}>"}


class Note:
    """A sentence where a section has nothing to show."""

    def __init__(self, text: str):
        self.text = text

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/html": f"<p>{html.escape(self.text)}</p>", "text/plain": self.text}


# --- sections ---------------------------------------------------------------------------------------------------


def dataset_summary(report: ExplorationReport) -> list:
    """Dataset Properties and Detected Column Types."""
    properties = {
        "Rows": report.rows,
        "Columns": report.columns,
        "Duplicate rows": report.duplicate_rows["percent"],
        "Target column": report.target,
        "Missing or invalid target values": report.target_missing_percent,
        "Detected problem type": report.problem_type,
    }
    percents = ("Duplicate rows", "Missing or invalid target values")
    shown = dict(properties, **{k: _percent(properties[k]) for k in percents})
    types = report.column_types.to_dict()
    counts = {kind: len(columns) for kind, columns in types.items()}
    total = max(1, sum(counts.values()))
    type_table = pd.DataFrame(
        [[counts[k] for k in TYPE_NAMES], [_percent(100 * counts[k] / total) for k in TYPE_NAMES]],
        index=["Column Count", "Percentage"], columns=list(TYPE_NAMES.values()),
    )
    return [
        Table("Dataset Properties", pd.DataFrame([shown]), properties, index=False),
        Table("Detected Column Types", type_table, types),
    ]


def target_analysis(report: ExplorationReport, frame: pd.DataFrame) -> list:
    """Target Summary, then a histogram and the outlier rows (regression) or the label frequencies
    (classification)."""
    if report.problem_type == REGRESSION:
        return _regression_target(report, frame)
    return _classification_target(report)


def _regression_target(report: ExplorationReport, frame: pd.DataFrame) -> list:
    summary = report.target_summary
    shown = {
        "Mean": _number(summary.get("mean")), "Median": _number(summary.get("median")),
        "Minimum": _number(summary.get("min")), "Maximum": _number(summary.get("max")),
        "Skew": _number(summary.get("skew")), "Kurtosis": _number(summary.get("kurtosis")),
        "Number of Uniques": summary.get("unique_values"),
        "Outliers Percentage": _percent(summary.get("outlier_percent")),
        "Missing or Invalid Percentage": _percent(report.target_missing_percent),
        "Missing or Invalid Count": report.target_missing_rows,
    }
    target = frame[report.target]
    values = coerce_numeric(target)
    valid = valid_target_mask(target, REGRESSION)
    outside = np.zeros(len(values), dtype=bool)
    outside[valid] = _outliers(values[valid])
    out = [Table("Target Summary", pd.DataFrame([shown]), summary, index=False),
           Figure("Histogram of the target values", _histogram(values[valid], outside[valid], report.target))]
    if outside.any():
        picked = np.flatnonzero(outside)
        picked = np.sort(np.random.default_rng(report.seed).permutation(picked)[:SAMPLE_ROWS])
        rows = frame.iloc[picked][[report.target] + _most_predictive(report, report.column_types.features)]
        out.append(Table("Outlier Target Values", _cells(rows), rows.to_dict(orient="records")))
    return out


def _outliers(values: np.ndarray) -> np.ndarray:
    """Autopilot's rule, as the report counts them: outside median +/- 5 RSTD (std of the [p5, p95]-clipped values)."""
    if not len(values):
        return np.zeros(0, dtype=bool)
    low, high = np.percentile(values, [5, 95])
    return np.abs(values - np.median(values)) > OUTLIER_RSTDS * np.std(np.clip(values, low, high))


def _histogram(values: np.ndarray, outside: np.ndarray, target: str):
    figure, axes = _axes(8, 3.2)
    inside = values[~outside]
    counts, edges, _ = axes.hist(inside, bins=40, color=BLUE)
    width = edges[1] - edges[0] if len(edges) > 1 else 1.0
    for side, position in ((values < edges[0], edges[0] - 1.5 * width), (values > edges[-1], edges[-1] + 1.5 * width)):
        chosen = values[outside & side]
        if len(chosen):
            axes.bar(position, len(chosen), width=width, color=ORANGE)
            axes.annotate(f"{len(chosen)} outliers\nmean {chosen.mean():.4g}", (position, len(chosen)),
                          ha="center", va="bottom", fontsize=8)
    axes.set_xlabel(_label(target))
    axes.set_ylabel("rows")
    note = " (orange: outliers, outside median ± 5 RSTD)" if outside.any() else ", no outliers"
    axes.set_title(f"Distribution of the target{note}", fontsize=10)
    return figure


def _classification_target(report: ExplorationReport) -> list:
    classes = report.target_summary["classes"]
    summary = {"Number of Classes": report.target_summary["n_classes"],
               "Missing or Invalid Percentage": _percent(report.target_missing_percent)}
    labels = pd.DataFrame({
        "Target Label": [str(c["label"]) for c in classes],
        "Frequency Percentage": [_percent(100 * c["frequency"]) for c in classes],
        "Label Count": [c["count"] for c in classes],
    })
    shown = classes[:TOP_FEATURES]
    figure, axes = _axes(8, 0.9 + 0.3 * len(shown))
    bars = axes.barh([_label(c["label"]) for c in shown], [100 * c["frequency"] for c in shown], color=BLUE)
    axes.bar_label(bars, labels=[f"{c['count']} rows" for c in shown], padding=3, fontsize=8)
    axes.margins(x=0.15)
    axes.invert_yaxis()
    axes.set_xlabel("% of rows")
    axes.set_title(f"Class frequencies of {_label(report.target)}", fontsize=10)
    return [Table("Target Summary", pd.DataFrame([summary]), report.target_summary, index=False),
            Table("Label Frequencies", labels, classes, index=False),
            Figure("Class frequencies", figure)]


def data_sample(report: ExplorationReport) -> list:
    """The report's sample rows under two header rows (each column's prediction power and type): the target and
    the most predictive features, as many as a page shows, as Autopilot's report shows at most 20 columns."""
    power = report.prediction_power
    every = list(report.column_types.features) + list(report.column_types.excluded)
    features = _most_predictive(report, every, limit=TOP_FEATURES - 1)
    columns = [report.target] + features
    header = pd.DataFrame(
        [["-"] + [_number(power.get(c)) or "-" for c in columns[1:]],
         ["target"] + [_column_type(report, c) for c in columns[1:]]],
        index=["Prediction Power", "Column Types"], columns=columns,
    )
    rows = pd.DataFrame([{c: record.get(c) for c in columns} for record in report.sample],
                        index=[record["_row"] for record in report.sample], columns=columns)
    table = Table("Data Sample", pd.concat([header, _cells(rows)]), report.sample)
    hidden = len(every) - len(features)
    if not hidden:
        return [table]
    return [table, Note(f"{hidden} less predictive columns are not shown here; the table's JSON holds them all.")]


def feature_summary(report: ExplorationReport) -> list:
    """Prediction power per feature, with the features that may leak the target flagged."""
    power = report.prediction_power
    if not power:
        return [Note("Prediction power was not computed: the dataset has too few rows with a valid target.")]
    ranked = sorted(power.items(), key=lambda item: -item[1])
    table = pd.DataFrame({
        "Feature": [c for c, _ in ranked],
        "Column Type": [_column_type(report, c) for c, _ in ranked],
        "Prediction Power": [f"{p:.4f}" for _, p in ranked],
        "Possible Target Leakage": ["yes" if p >= LEAKAGE_THRESHOLD else "" for _, p in ranked],
    })
    shown = ranked[:TOP_FEATURES]
    figure, axes = _axes(8, 0.6 + 0.3 * len(shown))
    axes.barh([_label(c) for c, _ in shown], [p for _, p in shown],
              color=[RED if p >= LEAKAGE_THRESHOLD else BLUE for _, p in shown])
    axes.axvline(LEAKAGE_THRESHOLD, color=RED, linestyle="--", linewidth=1)
    axes.set_xlim(0, 1)
    axes.invert_yaxis()
    axes.set_xlabel("prediction power (red: possible target leakage)")
    axes.set_title(f"Prediction power of the top {len(shown)} features", fontsize=10)
    return [Figure("Prediction power", figure), Table("Prediction Power", table, dict(ranked), index=False)]


def duplicate_rows(report: ExplorationReport, frame: pd.DataFrame) -> list:
    """The most repeated rows of ``frame`` (at most `SAMPLE_ROWS`), each with how often it occurs."""
    if not report.duplicate_rows["count"]:
        return [Note(f"No duplicate rows were found among the {report.rows} rows of the dataset.")]
    hashes = pd.util.hash_pandas_object(frame.astype(str), index=False)
    counts = hashes.map(hashes.value_counts())
    first = np.flatnonzero((counts > 1).to_numpy() & ~hashes.duplicated().to_numpy())
    order = first[np.argsort(-counts.to_numpy()[first], kind="stable")][:SAMPLE_ROWS]
    rows = frame.iloc[order]
    repeats = counts.to_numpy()[order]
    table = _cells(rows)
    table.insert(0, "Duplicate count", repeats)
    data = [{"Duplicate count": int(n), **record} for n, record in zip(repeats, rows.to_dict("records"))]
    return [Table("Duplicate Rows", table, data)]


def cross_column_statistics(report: ExplorationReport, frame: pd.DataFrame) -> list:
    """Pearson correlation among the most predictive numeric features, on the rows the report used."""
    numeric = _most_predictive(report, report.column_types.numeric, limit=None)
    sample = frame.iloc[sample_positions(len(frame), MODEL_ROWS, report.seed)]
    values = numeric_frame(sample, numeric).iloc[:, :HEATMAP_COLUMNS]
    if values.shape[1] < 2:
        return [Note("Fewer than two numeric features vary: there are no correlations to show.")]
    matrix = values.corr(method="pearson", min_periods=3)
    pairs = report.correlations["top_pairs"]
    table = pd.DataFrame({"Column": [p["a"] for p in pairs], "Other Column": [p["b"] for p in pairs],
                          "Pearson Correlation": [f"{p['r']:.4f}" for p in pairs]})
    return [Figure("Correlation matrix", _heatmap(matrix)), Table("Most Correlated Pairs", table, pairs, index=False)]


def _heatmap(matrix: pd.DataFrame):
    size = 2.5 + 0.55 * len(matrix)
    figure, axes = _axes(size + 1.5, size)
    image = axes.imshow(matrix.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    labels = [_label(c, 24) for c in matrix.columns]
    axes.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    axes.set_yticks(range(len(labels)), labels, fontsize=8)
    for (i, j), r in np.ndenumerate(matrix.to_numpy()):
        if np.isfinite(r):
            colour = "white" if abs(r) > 0.6 else "black"
            axes.text(j, i, f"{r:.2f}", ha="center", va="center", fontsize=7, color=colour)
    figure.colorbar(image, ax=axes, shrink=0.8)
    axes.set_title("Pearson correlation", fontsize=10)
    return figure


def anomalous_rows(report: ExplorationReport) -> list:
    """The report's anomalous rows with their anomaly scores, over the most predictive numeric features."""
    if not report.anomalous_rows:
        return [Note("No anomalous rows were found: the dataset has too few numeric features or rows.")]
    columns = _most_predictive(report, report.column_types.numeric)  # the features the forest saw
    rows = pd.DataFrame([{c: a["values"].get(c) for c in columns} for a in report.anomalous_rows],
                        index=[a["row"] for a in report.anomalous_rows], columns=columns)
    table = _cells(rows)
    table.insert(0, "Anomaly Score", [f"{a['score']:.6f}" for a in report.anomalous_rows])
    return [Table("Anomalous Rows", table, report.anomalous_rows)]


def missing_values(report: ExplorationReport) -> list:
    """Each column's percentage of missing values, most missing first; columns with none are left out."""
    missing = {c: p for c, p in sorted(report.missing.items(), key=lambda item: -item[1]) if p > 0}
    if not missing:
        return [Note(f"None of the {report.columns} columns has missing values.")]
    table = pd.DataFrame({"% of Missing Values": [_percent(p) for p in missing.values()]}, index=list(missing))
    return [Table("Missing Values", table, missing)]


def cardinality(report: ExplorationReport) -> Table:
    """Each column's number of unique entries (and of unique words, for text), fewest first."""
    ranked = sorted(report.cardinality.items(), key=lambda item: (item[1]["unique_values"], str(item[0])))
    table = pd.DataFrame({
        "Column Type": [_column_type(report, c) for c, _ in ranked],
        "Number of Unique Entries": [v["unique_values"] for _, v in ranked],
        "Number of Unique Words (if Text)": [v.get("unique_words", "n/a") for _, v in ranked],
    }, index=[c for c, _ in ranked])
    return Table("Cardinality", table, dict(ranked))


def descriptive_stats(report: ExplorationReport) -> list:
    """Each numeric column's share of numbers, mean, median, min, max, std, outlier share and skew."""
    stats = report.descriptive_stats
    if not stats:
        return [Note("No column was detected as numeric.")]
    ranked = sorted(stats.items(), key=lambda item: (-(item[1]["numeric_percent"] or 0), str(item[0])))
    table = pd.DataFrame({
        "% of Numerical Values": [_percent(s["numeric_percent"]) for _, s in ranked],
        **{name: [_number(s[key]) for _, s in ranked] for name, key in (
            ("Mean", "mean"), ("Median", "median"), ("Min", "min"), ("Max", "max"), ("Std", "std"))},
        "% of Outlier Values": [_percent(s["outlier_percent"]) for _, s in ranked],
        "Skew": [_number(s["skew"]) for _, s in ranked],
    }, index=[c for c, _ in ranked])
    return [Table("Descriptive Stats", table, dict(ranked))]


# --- helpers ------------------------------------------------------------------------------------------------------


def _axes(width: float, height: float):
    from matplotlib.figure import Figure as MatplotlibFigure

    figure = MatplotlibFigure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def _label(name, width: int = 40) -> str:
    """A column name or value as matplotlib text: one line, at most ``width`` characters, ``$`` not read as math."""
    text = " ".join(str(name).split())
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("$", r"\$")


def _most_predictive(report: ExplorationReport, columns, limit: int | None = TOP_FEATURES) -> list:
    """``columns`` by prediction power, best first (those without a score last), at most ``limit`` of them."""
    return sorted(columns, key=lambda c: -report.prediction_power.get(c, -1.0))[:limit]


def _column_type(report: ExplorationReport, column) -> str:
    try:
        return report.column_types.of(column)
    except KeyError:
        return "target"


def _cells(rows: pd.DataFrame) -> pd.DataFrame:
    """Values as short display strings (long text cut), missing as empty cells."""
    return rows.map(_cell).astype(object)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return ""
    text = str(value)
    return text if len(text) <= CELL_CHARACTERS else text[: CELL_CHARACTERS - 1] + "…"


def _elide(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= MAX_TABLE_ROWS:
        return frame
    half = MAX_TABLE_ROWS // 2
    gap = pd.DataFrame([["…"] * frame.shape[1]], columns=frame.columns, index=["…"])
    return pd.concat([frame.iloc[:half].astype(object), gap, frame.iloc[-half:].astype(object)])


def _percent(value) -> str:
    return "" if value is None else f"{value:.2f}%"


def _number(value) -> str:
    return "" if value is None else f"{value:.6g}"
