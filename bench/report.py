"""The Markdown table of a results file: per dataset and budget, each system's test metric beside the best peer's."""

from __future__ import annotations

from collections import defaultdict

from .harness import SYSTEMS

LOWER_IS_BETTER = {"MSE"}


def render(results: dict) -> str:
    machine = results["machine"]
    lines = [
        f"# Benchmark on {machine['host']}: {machine['cpus']} cores, {machine['memory_gib']} GiB, "
        f"Python {machine['python']}",
        "",
        "Test metric ± one standard error (analytic for MSE, bootstrap for F1 and accuracy) on the held-out rows; "
        "**ratio** = the system's metric / the best peer's at the same budget (the untuned models and the hand-made "
        "pipeline count as peers at every budget): below 1 is better for MSE, above 1 for F1 and accuracy. "
        "**fit** = seconds the system's fit took (what the budget limits), **wall** = the whole run process "
        "(start-up, reading and predicting included); **first** = seconds to the first finished candidate; "
        "**RSS** = peak resident memory of the run's process tree; **other CPU** = cores other processes used "
        "meanwhile (a run above 0.2 is redone once).",
    ]
    by_dataset = defaultdict(list)
    for record in results["records"]:
        by_dataset[record["dataset"]].append(record)
    for dataset, records in by_dataset.items():
        lines += ["", *_table(dataset, records)]
    return "\n".join(lines) + "\n"


def _table(dataset: str, records: list[dict]) -> list[str]:
    metric = records[0]["metric"]
    classification = metric not in LOWER_IS_BETTER
    direction = "lower" if metric in LOWER_IS_BETTER else "higher"
    head = f"## {dataset}: {metric} on {records[0]['n_test']:,} test rows ({direction} is better)"
    columns = ["budget s", "system", metric, "ratio", *(["AUC"] if classification else []), "fit s", "wall s",
               "first s", "RSS MiB", "other CPU"]
    rows = [head, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    fixed = [r for r in records if r["budget_s"] is None]
    budgets = sorted({r["budget_s"] for r in records if r["budget_s"] is not None})
    for budget, group in [(None, fixed)] + [(b, [r for r in records if r["budget_s"] == b]) for b in budgets]:
        peers = [r for r in group + (fixed if budget is not None else []) if _is_peer(r) and r.get("value") is not None]
        best = (min if metric in LOWER_IS_BETTER else max)((r["value"] for r in peers), default=None)
        for r in sorted(group, key=lambda r: (_is_peer(r), r["system"])):  # ours first
            rows.append("| " + " | ".join(_cells(r, budget, best, classification)) + " |")
    return rows


def _is_peer(record: dict) -> bool:
    system = SYSTEMS.get(record["system"])
    return system is not None and not system.ours


def _cells(r: dict, budget, best, classification: bool) -> list[str]:
    name = f"**{r['system']}**" if not _is_peer(r) else r["system"]
    if r.get("error"):
        return [_budget(budget), name, f"failed: {r['error'][:80]}", "", *([""] if classification else []), "",
                _num(r.get("wall_s"), "{:.0f}"), "", "", ""]
    value = f"{r['value']:.4f} ± {r['se']:.4f}"
    ratio = f"{r['value'] / best:.3f}" if best else ""
    auc = [_num(r.get("auc"), "{:.4f}")] if classification else []
    other = _num(r.get("other_cpu_cores"), "{:.2f}") + (" (redone)" if r.get("reruns") else "")
    return [_budget(budget), name, value, ratio, *auc, _num(r.get("fit_s"), "{:.1f}"), _num(r.get("wall_s"), "{:.0f}"),
            _num(r.get("time_to_first_s"), "{:.1f}"), _num(r.get("peak_rss_mb"), "{:.0f}"), other]


def _budget(budget: int | None) -> str:
    return "none" if budget is None else str(budget)


def _num(value, form: str) -> str:
    return "" if value is None else form.format(value)
