"""Speed of `autopilot-local explain`: SHAP values of a job's best candidate for many rows.

    python -m bench.explain_speed JOB DATA [--rows 10000]

Explains the first ``--rows`` rows of DATA (repeated if it has fewer) with the job's best candidate, in this one
process, and prints the explainer, the seconds it took, rows per second, peak memory and how far the attributions
plus the base value are from what they explain.
"""

from __future__ import annotations

import argparse
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
