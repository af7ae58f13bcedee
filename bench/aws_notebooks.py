"""AWS's own Autopilot notebooks, run headless against `autopilot-local server`:

    <python with sagemaker<3, nbclient, ipykernel> -m bench.aws_notebooks NOTEBOOK [--output executed.ipynb]

NOTEBOOK is one of AWS's ``amazon-sagemaker-examples`` Autopilot notebooks as the repository last had it. A server
is started with a home of its own and the notebook's kernel reaches it through ``AWS_ENDPOINT_URL`` alone. Only
what `EDITS` lists is changed, each line printed: where the data comes from the internet (it is seeded at the S3
key the notebook reads instead), the budget, and the SDK's two calls to STS at a fixed address (the bucket and
the role given as strings). Prints each code cell's outcome; exits 1 if one raised.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autopilot_local import LocalService

SHARED = Path(__file__).resolve().parents[2] / "shared"
ROLE = "arn:aws:iam::000000000000:role/service-role/AmazonSageMaker-ExecutionRole"
BUCKET = "autopilot-local-notebooks"
# (notebook, what is replaced, by what): the only changes made to AWS's cells
EDITS = {
    "autopilot_customer_churn_high_level_with_evaluation.ipynb": [
        ("session = sagemaker.Session()", f'session = sagemaker.Session(default_bucket="{BUCKET}")'),
        ("role = get_execution_role()", f'role = "{ROLE}"'),
        ("    max_candidates=20,", "    max_candidates=10,"),
    ],
    "sagemaker_autopilot_direct_marketing.ipynb": [
        ("session = sagemaker.Session()", f'session = sagemaker.Session(default_bucket="{BUCKET}")'),
        ("role = get_execution_role()", f'role = "{ROLE}"'),
        ("!apt-get install unzip\n", ""),  # the data is seeded where the next lines would download and unzip it
        ("!wget -N https://sagemaker-sample-data-us-west-2.s3-us-west-2.amazonaws.com/autopilot/direct_marketing/"
         "bank-additional.zip\n", ""),
        ("!unzip -o bank-additional.zip\n", ""),
    ],
}
# (notebook, where it reads its data, the file it gets): data the notebook downloads, seeded where it reads it,
# an S3 URI or a path in its working folder
SEEDS = {
    "autopilot_customer_churn_high_level_with_evaluation.ipynb": [
        ("s3://sagemaker-example-files-prod-us-east-1/datasets/tabular/synthetic/churn.txt",
         SHARED / "autopilot-jobs/MarceloAnalytics__Cloud_Computing_AWS_SageMaker_AutoML/dataset.txt"),
    ],
    "sagemaker_autopilot_direct_marketing.ipynb": [
        ("bank-additional/bank-additional-full.csv",
         SHARED / "autopilot-jobs/C24IO__Integrations/autopilot/train_data.csv"),
    ],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.aws_notebooks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook")
    parser.add_argument("--output", help="write the executed notebook here")
    parser.add_argument("--server-python", default=sys.executable,
                        help="a python with autopilot-local and its server extra (default: this one)")
    args = parser.parse_args(argv)
    name = Path(args.notebook).name
    notebook = nbformat.read(args.notebook, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for old, new in EDITS.get(name, []):
                if old in cell.source:
                    print(f"changed: {old.strip()!r} -> {new.strip()!r}")
                    cell.source = cell.source.replace(old, new)

    home = Path(tempfile.mkdtemp(prefix="aws-notebook-"))
    os.environ.update({"SAGEMAKER_SUPPRESS_V2_WARNING": "1", "PIP_CONSTRAINT": str(_constraint(home))})
    with LocalService(home / "home", python=args.server_python) as service:
        s3 = service.client("s3")
        work = home / "work"
        for where, path in SEEDS.get(name, []):
            if where.startswith("s3://"):
                bucket, _, key = where.removeprefix("s3://").partition("/")
                s3.create_bucket(Bucket=bucket)
                s3.upload_file(str(path), bucket, key)
            else:
                (work / where).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, work / where)
            print(f"seeded: {where} <- {path}")
        started = time.time()
        failed = _execute(notebook, work)
        print(f"{name}: {time.time() - started:.0f} s, {'a cell raised' if failed else 'every cell ran'}")
        if args.output:
            nbformat.write(notebook, args.output)


def _constraint(home: Path) -> Path:
    """The notebook's ``pip install -U sagemaker`` keeps SDK v2: its AutoML class is what the notebook uses."""
    path = home / "constraints.txt"
    path.write_text("sagemaker<3\n")
    return path


def _execute(notebook, folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": folder}})
    failed = False
    try:
        client.execute()
    except CellExecutionError as error:
        failed = True
        print(str(error).splitlines()[-1] if str(error) else "a cell raised")
    for index, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        ran = cell.get("execution_count") is not None
        outcome = f"error {errors[0]['ename']}: {errors[0]['evalue'][:200]}" if errors else ("ok" if ran else "not run")
        print(f"cell {index}: {outcome}  | {cell.source.strip().splitlines()[0][:80] if cell.source.strip() else ''}")
    return failed


if __name__ == "__main__":
    sys.exit(main())

