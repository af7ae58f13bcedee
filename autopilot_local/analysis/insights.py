"""The report's insights: findings with a severity ("high" needs attention, "low" is informational) and an action.

Each insight is a dict with the keys key, severity, title, detail and action, like Autopilot's report boxes.
"""

from __future__ import annotations

from ..vocabulary import REGRESSION
from .column_types import ALL_MISSING, CONSTANT, ID_LIKE, ID_LIKE_URL, ROW_INDEX
from .prediction_power import LEAKAGE_THRESHOLD

HIGH, LOW = "high", "low"
# |skew| of the regression target from which its tail dominates squared-error metrics.
HEAVY_TAIL_SKEW = 2.0
# Outlier target values (Autopilot's median +/- 5 RSTD rule) above this percent of rows are a high-severity finding.
HIGH_OUTLIER_PERCENT = 1.0
HIGH_MISSING_TARGET_PERCENT = 5.0
HIGH_CARDINALITY = 100
HIGH_DUPLICATE_PERCENT = 10.0
MOSTLY_MISSING_PERCENT = 50.0
# Majority/minority class count ratio from which classes are imbalanced, and from which that is severe.
IMBALANCE_RATIO, HIGH_IMBALANCE_RATIO = 5.0, 10.0
# A class with fewer rows than RARE_CLASS_ROWS, or a frequency under RARE_CLASS_FREQUENCY, is rare; under
# TOO_FEW_CLASS_ROWS it cannot appear in every fold of a 5-fold cross-validation.
RARE_CLASS_ROWS, RARE_CLASS_FREQUENCY, TOO_FEW_CLASS_ROWS = 10, 0.01, 5


def build_insights(report) -> list[dict]:
    """All insights that apply to the (otherwise complete) ``report``, most important first."""
    found = []
    for rule in _RULES:
        found.extend(rule(report))
    return sorted(found, key=lambda item: item["severity"] != HIGH)


def _insight(key: str, severity: str, title: str, detail: str, action: str) -> dict:
    return {"key": key, "severity": severity, "title": title, "detail": detail, "action": action}


def _names(columns) -> str:
    return ", ".join(f"'{c}'" for c in columns)


def _heavy_tail(report) -> list[dict]:
    summary = report.target_summary
    skew = summary.get("skew")
    if report.problem_type != REGRESSION or skew is None or abs(skew) < HEAVY_TAIL_SKEW:
        return []
    if skew > 0 and summary["min"] >= 0:
        action = f"Model log1p('{report.target}') and invert predictions with expm1; compare on the original scale."
    else:
        action = "Consider a signed log or Yeo-Johnson transform of the target before fitting squared-error models."
    detail = (
        f"Target '{report.target}' has skew {skew:.2f} and excess kurtosis {summary['kurtosis']:.2f} "
        f"(median {summary['median']:.4g}, max {summary['max']:.4g}): a few large values dominate MSE."
    )
    return [_insight("heavy_tailed_target", HIGH, "Heavy-tailed regression target", detail, action)]


def _target_outliers(report) -> list[dict]:
    share = report.target_summary.get("outlier_percent")
    if report.problem_type != REGRESSION or not share:
        return []
    detail = f"{share:.2f}% of target values lie outside median +/- 5 x RSTD (std of values clipped to [p5, p95])."
    action = "Check these rows for data errors; keep real extremes but prefer a log transform or a robust metric."
    severity = HIGH if share >= HIGH_OUTLIER_PERCENT else LOW
    return [_insight("outlier_target_values", severity, "Outlier target values", detail, action)]


def _missing_target(report) -> list[dict]:
    count = report.target_missing_rows
    if not count:
        return []
    what = "missing or not a finite number" if report.problem_type == REGRESSION else "missing"
    detail = f"{count} rows ({report.target_missing_percent:.2f}%) have a target '{report.target}' that is {what}."
    action = "These rows are dropped from training; fill or fix the target if they should count."
    severity = HIGH if report.target_missing_percent >= HIGH_MISSING_TARGET_PERCENT else LOW
    return [_insight("missing_target_values", severity, "Missing or invalid target values", detail, action)]


def _excluded(report) -> list[dict]:
    groups = {
        "row_index_excluded": ({ROW_INDEX}, "Row-index column excluded"),
        "id_like_excluded": ({ID_LIKE, ID_LIKE_URL}, "ID-like columns excluded"),
        "empty_or_constant_excluded": ({ALL_MISSING, CONSTANT}, "Empty or constant columns excluded"),
    }
    found = []
    for key, (reasons, title) in groups.items():
        columns = [c for c, reason in report.column_types.excluded.items() if reason in reasons]
        if columns:
            detail = "; ".join(f"'{c}': {report.column_types.excluded[c]}" for c in columns) + "."
            action = "They carry no generalisable signal and are left out of the features; name them to keep them."
            found.append(_insight(key, LOW, title, detail, action))
    return found


def _high_cardinality(report) -> list[dict]:
    columns = [
        c for c in report.column_types.categorical
        if report.cardinality[c]["unique_values"] >= HIGH_CARDINALITY
    ]
    if not columns:
        return []
    counts = ", ".join(f"'{c}' ({report.cardinality[c]['unique_values']})" for c in columns)
    detail = f"Categorical columns with at least {HIGH_CARDINALITY} distinct values: {counts}."
    action = "Rare values are grouped by the one-hot encoder; consider grouping them yourself or a target encoding."
    return [_insight("high_cardinality_categorical", LOW, "High-cardinality categorical columns", detail, action)]


def _parsed_dates(report) -> list[dict]:
    columns = report.parsed_from_text.get("datetime", [])
    if not columns:
        return []
    detail = f"Dates stored as text in {_names(columns)} are parsed as datetimes (Autopilot reads ISO dates as text)."
    action = "Date parts (year, month, weekday, ...) become features; check that the parsed dates are right."
    return [_insight("dates_parsed_from_text", LOW, "Dates stored as text are read as datetimes", detail, action)]


def _parsed_numbers(report) -> list[dict]:
    columns = report.parsed_from_text.get("numeric", [])
    if not columns:
        return []
    detail = f"Numbers stored as text (money such as '$1,000.00', percents such as '95%') in {_names(columns)}."
    action = "They are read as numbers; values that do not parse count as missing."
    return [_insight("numbers_parsed_from_text", LOW, "Numbers stored as text are read as numbers", detail, action)]


def _leakage(report) -> list[dict]:
    columns = [c for c, score in report.prediction_power.items() if score >= LEAKAGE_THRESHOLD]
    if not columns:
        return []
    scores = ", ".join(f"'{c}' ({report.prediction_power[c]:.3f})" for c in columns)
    detail = f"Alone, these features predict '{report.target}' almost perfectly: {scores}."
    action = "Check that they are known at prediction time and not derived from the target; drop them if not."
    return [_insight("target_leakage", HIGH, "Possible target leakage", detail, action)]


def _duplicates(report) -> list[dict]:
    count, share = report.duplicate_rows["count"], report.duplicate_rows["percent"]
    if not count:
        return []
    detail = f"{count} rows ({share:.2f}%) repeat an earlier row exactly."
    action = "Duplicates can leak between training and validation folds; drop them unless they are real repeats."
    severity = HIGH if share >= HIGH_DUPLICATE_PERCENT else LOW
    return [_insight("duplicate_rows", severity, "Duplicate rows", detail, action)]


def _imbalance(report) -> list[dict]:
    classes = report.target_summary.get("classes") or []
    if len(classes) < 2:
        return []
    ratio = classes[0]["count"] / classes[-1]["count"]
    if ratio < IMBALANCE_RATIO:
        return []
    detail = (
        f"The majority class {classes[0]['label']!r} has {ratio:.1f}x the rows of the minority class "
        f"{classes[-1]['label']!r} ({100 * classes[-1]['frequency']:.2f}% of rows)."
    )
    action = "Judge models by F1, balanced accuracy or AUC rather than accuracy; consider class weights."
    severity = HIGH if ratio >= HIGH_IMBALANCE_RATIO else LOW
    return [_insight("class_imbalance", severity, "Class imbalance", detail, action)]


def _rare_classes(report) -> list[dict]:
    rare = [
        c for c in report.target_summary.get("classes") or []
        if c["count"] < RARE_CLASS_ROWS or c["frequency"] < RARE_CLASS_FREQUENCY
    ]
    if not rare:
        return []
    listed = ", ".join(f"{c['label']!r} ({c['count']} rows)" for c in rare)
    detail = f"Rare classes of '{report.target}': {listed}."
    action = "Collect more rows for them or merge them into a broader class; metrics on them are unreliable."
    severity = HIGH if min(c["count"] for c in rare) < TOO_FEW_CLASS_ROWS else LOW
    return [_insight("rare_class", severity, "Rare classes", detail, action)]


def _mostly_missing(report) -> list[dict]:
    columns = [c for c in report.column_types.features if report.missing[c] >= MOSTLY_MISSING_PERCENT]
    if not columns:
        return []
    detail = f"At least {MOSTLY_MISSING_PERCENT:.0f}% missing: " + ", ".join(
        f"'{c}' ({report.missing[c]:.1f}%)" for c in columns
    )
    action = "Missing values are imputed; a missing-value indicator may carry signal. Drop them if it does not."
    return [_insight("mostly_missing_columns", LOW, "Mostly missing feature columns", detail, action)]


_RULES = (
    _heavy_tail, _target_outliers, _missing_target, _leakage, _imbalance, _rare_classes, _duplicates,
    _excluded, _high_cardinality, _parsed_dates, _parsed_numbers, _mostly_missing,
)
