"""Load test of `autopilot-local serve`: single-row CSV invocations over keep-alive connections.

    python -m bench.serve_load JOB [--data FILE] [--seconds 20] [--clients 2]

Starts `autopilot-local serve JOB` in its own process, then ``--clients`` client processes, each sending one row
per request over one keep-alive `http.client` connection for ``--seconds`` (after a short warm-up), and prints the
requests per second and the p50 and p99 latencies. The rows come from ``--data``, else the job's training file.
Standard library only on the client side.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

WARM_UP_REQUESTS = 20
ROWS_SENT = 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve_load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job", help="a finished job folder")
    parser.add_argument("--data", help="rows to send (CSV or Parquet with the training columns); default: the "
                                       "job's training file")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per client (default 20)")
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    args = parser.parse_args(argv)

    lines = _single_rows(Path(args.job), args.data)
    server, url = _start_server(Path(args.job))
    try:
        host, port = url.removeprefix("http://").split(":")
        with multiprocessing.get_context("fork").Pool(args.clients) as pool:
            results = pool.starmap(_client, [(host, int(port), lines[i::args.clients], args.seconds)
                                             for i in range(args.clients)])
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    print(json.dumps(_report(results, args, url), indent=2))
    return 0


def _single_rows(job: Path, data: str | None) -> list[bytes]:
    """The first `ROWS_SENT` rows of the data, each as one CSV line in the model's column order."""
    from autopilot_local.io import read_table
    from autopilot_local.predict import load_best_model

    if data is None:
        request = json.loads((job / "request.json").read_text())
        data = request["AutoMLJobInputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    columns = load_best_model(job).feature_columns
    table = read_table(data).head(ROWS_SENT)[columns]
    return [line.encode() for line in table.to_csv(header=False, index=False).splitlines()]


def _start_server(job: Path) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "autopilot_local.cli", "serve", str(job), "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    banner = server.stdout.readline()
    if not banner.startswith("http://"):
        server.kill()
        raise SystemExit(f"the server did not start: {banner!r}")
    return server, banner.split()[0]


def _client(host: str, port: int, lines: list[bytes], seconds: float, path: str = "/invocations") -> dict:
    """Send rows one per request to ``path`` on one connection; the latencies (ms) of those sent in the measured
    window."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    headers = {"Content-Type": "text/csv", "Accept": "text/csv"}
    latencies, errors, sent = [], 0, 0
    deadline = None
    while deadline is None or time.perf_counter() < deadline:
        if sent == WARM_UP_REQUESTS:
            deadline, started = time.perf_counter() + seconds, time.perf_counter()
        before = time.perf_counter()
        connection.request("POST", path, lines[sent % len(lines)], headers)
        response = connection.getresponse()
        response.read()
        if sent >= WARM_UP_REQUESTS:
            latencies.append((time.perf_counter() - before) * 1000)
            errors += response.status != 200
        sent += 1
    connection.close()
    return {"latencies": latencies, "errors": errors, "seconds": time.perf_counter() - started}


def _report(results: list[dict], args, url: str) -> dict:
    latencies = sorted(ms for result in results for ms in result["latencies"])
    cuts = statistics.quantiles(latencies, n=100)
    seconds = max(result["seconds"] for result in results)
    return {
        "job": str(args.job), "url": url, "server_processes": 1, "client_processes": args.clients,
        "connections": args.clients, "cpu_cores": os.cpu_count(), "seconds": round(seconds, 1),
        "requests": len(latencies), "errors": sum(result["errors"] for result in results),
        "requests_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(cuts[49], 2), "p99_ms": round(cuts[98], 2), "max_ms": round(latencies[-1], 2),
    }


if __name__ == "__main__":
    sys.exit(main())
