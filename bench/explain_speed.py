"""Speed of `autopilot-local explain`: SHAP values of a job's best candidate for many rows.

    python -m bench.explain_speed JOB DATA [--rows 10000]

Explains the first ``--rows`` rows of DATA (repeated if it has fewer) with the job's best candidate, in this one
process, and prints the explainer, the seconds it took, rows per second, peak memory and how far the attributions
plus the base value are from what they explain. For XGBoost and LightGBM models it then times the library's own
TreeSHAP on the first ``--library-rows`` of the same rows, fold model by fold model, and prints the ratio of
seconds per row.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import pandas as pd

from autopilot_local import explain, load_best_model
from autopilot_local.io import read_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.explain_speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job")
    parser.add_argument("data")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--library-rows", type=int, default=1000, help="0: do not time the library's TreeSHAP")
    args = parser.parse_args(argv)
    data = read_table(args.data)
    rows = pd.concat([data] * (args.rows // len(data) + 1), ignore_index=True).head(args.rows)
    model = load_best_model(args.job)
    started = time.perf_counter()
    explanation = explain(args.job, rows)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{model.name}: {explanation.method}, {len(rows):,} rows in {seconds:.2f} s "
          f"({len(rows) / seconds:,.0f} rows/s), peak RSS {peak:,.0f} MB")
    if explanation.method.startswith("sampled"):
        raw = model.predict_raw(rows)
        raw = raw if raw.ndim == 1 else raw[:, 1]
        print(f"largest |base + attributions - prediction|: {np.abs(explanation.explained - raw).max():.3g}")
    top = pd.Series(np.abs(explanation.values).mean(axis=0), index=explanation.columns).nlargest(5)
    print("top columns by mean |SHAP|:", ", ".join(f"{c} {v:.4g}" for c, v in top.items()))
    library = _library_seconds(model, rows.head(args.library_rows)) if args.library_rows else None
    if library is not None:
        ours = seconds / len(rows)
        print(f"the library's own TreeSHAP: {args.library_rows:,} rows in {library:.2f} s "
              f"({library / args.library_rows / ours:.1f}x our seconds per row)")
    return 0


def _library_seconds(model, rows: pd.DataFrame) -> float | None:
    """Seconds XGBoost's or LightGBM's own TreeSHAP takes for ``rows`` over every fold model (None for others)."""
    import xgboost

    fold_models = [getattr(m, "estimator", m) for m in getattr(model.estimator, "models", [])]
    if not fold_models or not all(type(m).__module__.split(".")[0] in ("xgboost", "lightgbm") for m in fold_models):
        return None
    X = model.transform(rows)
    cores = os.cpu_count() or 1  # the fold models were fitted on one thread each: give the library every core
    started = time.perf_counter()
    for fold_model in fold_models:
        if isinstance(fold_model, xgboost.XGBModel):
            best = getattr(fold_model, "best_iteration", None)
            ranges = {"iteration_range": (0, best + 1)} if best is not None else {}
            fold_model.get_booster().set_param({"nthread": cores})
            fold_model.get_booster().predict(xgboost.DMatrix(X, nthread=cores), pred_contribs=True, **ranges)
        else:
            fold_model.predict(X, pred_contrib=True, num_threads=cores)
    return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
