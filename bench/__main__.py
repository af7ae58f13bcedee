"""python -m bench: run the systems side by side and write bench/results/<date>-<host>.json and .md.

Runs already in the results file are kept (the benchmark can be run in parts); --force runs them again.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from . import harness, report
from .datasets import datasets


def main(argv: list[str] | None = None) -> int:
    known = datasets()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--budgets", type=int, nargs="+", default=[60, 300], help="wall-clock budgets in seconds")
    parser.add_argument("--datasets", nargs="+", default=["paris", "seattle"], choices=sorted(known))
    parser.add_argument("--systems", nargs="+", default=list(harness.SYSTEMS), choices=list(harness.SYSTEMS))
    parser.add_argument("--results", type=Path, default=None, help="results file (default: today's for this host)")
    parser.add_argument("--force", action="store_true", help="run again what the results file already holds")
    parser.add_argument("--scratch", type=Path, default=None, help="folder for splits and model files")
    args = parser.parse_args(argv)

    path = args.results or harness.results_path()
    results = harness.load_results(path)
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="bench-"))
    for name in args.datasets:
        split = harness.prepare(known[name], scratch / name)
        for budget in [None, *args.budgets]:
            for system in (harness.SYSTEMS[s] for s in args.systems):
                if not system.applies(name, budget):
                    continue
                if not args.force and harness.has_record(results, system.name, name, budget):
                    continue
                workdir = scratch / name / f"{system.name}-{budget or 'fixed'}"
                record = harness.run(system, split, budget, workdir)
                harness.save_record(path, results, record)
                path.with_suffix(".md").write_text(report.render(results))
                shown = f"{record['value']:.4f}" if record.get("value") is not None else record.get("error")
                print(f"{name} {budget or '-'}s {system.name}: {record['metric']} {shown}, "
                      f"wall {record['wall_s']:.0f}s, other CPU {record['other_cpu_cores']:.2f}", flush=True)
    print(f"results: {path} and {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
