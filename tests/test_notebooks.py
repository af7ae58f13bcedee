"""The two notebooks and the dppN.py modules: Autopilot's paths, headless execution, reproduction, escaping."""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import math
import re
import shutil
import tokenize
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import joblib
import nbformat
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import classification_frame, regression_frame
from markdown_it import MarkdownIt
from nbclient import NotebookClient

from autopilot_local import JobConfig, run_job
from autopilot_local.cli import main
from autopilot_local.files import JobFolder
from autopilot_local.notebooks import rendering
from autopilot_local.notebooks.report_views import TABLE_MIME
from autopilot_local.stages import prepare, split_rows

ROOT = Path(__file__).resolve().parents[1]
EXPLORATION = "SageMakerAutopilotDataExplorationNotebook.ipynb"
CANDIDATE = "SageMakerAutopilotCandidateDefinitionNotebook.ipynb"
EXPLORATION_SECTIONS = ["Dataset Summary", "Target Analysis", "Data Sample", "Feature Summary", "Duplicate Rows",
                        "Cross Column Statistics", "Anomalous Rows", "Missing Values", "Cardinality",
                        "Descriptive Stats", "Definitions"]
CANDIDATE_SECTIONS = ["Setup", "Candidate Pipelines", "Selected Candidates", "Executing the Candidate Pipelines",
                      "Run Data Transformation Steps", "Multi Algorithm Hyperparameter Tuning",
                      "Model Selection and Deployment", "Tuning Job Result Overview",
                      "Linking Best Training Job with Feature Pipelines", "Deploying Best Pipeline"]
# Prints the notebook's leaderboard for the test to compare with the job's, independently of the notebook's own check.
PROBE = 'print("PROBE " + json.dumps([[r.candidate_name, r.objective_value] for r in leaderboard.itertuples()]))'
HOSTILE = ['"); import os; os.system("touch pwned") #', "{{ 7*7 }}", "<script>x</script>", "ligne\nsuivante",
           "prix_énergie", "*bold* _it_ [link](http://x) $x$ | `tick` \\ #"]
HOSTILE_TARGET = "<b>cible</b> {{ 7*7 }} $y$"


# --- jobs shared by the tests ---------------------------------------------------------------------------------------


def _run(tmp_path: Path, frame: pd.DataFrame, target: str, name: str, **settings) -> JobConfig:
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    config = JobConfig(data=str(path), target=target, job_name=name, output_dir=str(tmp_path / "jobs"), seed=0,
                       **settings)
    run_job(config)
    return config


@pytest.fixture(scope="module")
def regression_job(tmp_path_factory) -> JobConfig:
    # 12 trials over 8 pipelines: the defaults, then the sampler's own suggestions, on the default workers.
    return _run(tmp_path_factory.mktemp("regression"), regression_frame(), "price", "homes", max_candidates=12,
                algorithms=("xgboost", "linear-learner"))


@pytest.fixture(scope="module")
def classification_job(tmp_path_factory) -> JobConfig:
    return _run(tmp_path_factory.mktemp("binary"), classification_frame(), "label", "churn", max_candidates=8)


def _notebook(config: JobConfig, name: str) -> Path:
    return JobFolder(config.job_dir, config.job_name).candidates_dir / "notebooks" / name


def _execute(path: Path, extra_cells=()) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.extend(nbformat.v4.new_code_cell(source) for source in extra_cells)
    resources = {"metadata": {"path": str(path.parent)}}
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources=resources).execute()
    return notebook


def _files(root: Path) -> set:
    return {p for p in root.rglob("*")}


def _tables(notebook) -> dict:
    return {o.data[TABLE_MIME]["title"]: o.data[TABLE_MIME]["data"]
            for c in notebook.cells if c.cell_type == "code" for o in c.outputs if TABLE_MIME in o.get("data", {})}


def _printed(notebook) -> str:
    return "".join(o.text for c in notebook.cells if c.cell_type == "code" for o in c.outputs
                   if o.output_type == "stream" and o.name == "stdout")


def _headings(notebook) -> list[str]:
    return [line.lstrip("#").strip() for c in notebook.cells if c.cell_type == "markdown"
            for line in c.source.splitlines() if line.startswith("## ") or line.startswith("### ")]


# --- layout --------------------------------------------------------------------------------------------------------


def test_notebooks_and_modules_are_written_at_autopilots_paths(regression_job):
    folder = JobFolder(regression_job.job_dir, regression_job.job_name)
    describe = json.loads(folder.job_json.read_text())
    assert describe["AutoMLJobArtifacts"] == {
        "CandidateDefinitionNotebookLocation": str(_notebook(regression_job, CANDIDATE).resolve()),
        "DataExplorationNotebookLocation": str(_notebook(regression_job, EXPLORATION).resolve()),
    }
    definitions = json.loads(folder.candidate_definitions.read_text())
    modules = folder.candidates_dir / "generated_module" / "candidate_data_processors"
    assert sorted(p.name for p in modules.glob("*.py")) == sorted(f"{d['name']}.py" for d in definitions)

    exploration = nbformat.read(_notebook(regression_job, EXPLORATION), as_version=4)
    candidate = nbformat.read(_notebook(regression_job, CANDIDATE), as_version=4)
    for notebook in (exploration, candidate):
        nbformat.validate(notebook)
    assert [h for h in _headings(exploration) if h in EXPLORATION_SECTIONS] == EXPLORATION_SECTIONS
    assert [h for h in _headings(candidate) if h in CANDIDATE_SECTIONS] == CANDIDATE_SECTIONS
    # the exploration notebook reads well unexecuted: its figures and tables are stored in it
    mimes = {m for c in exploration.cells if c.cell_type == "code" for o in c.outputs for m in o.get("data", {})}
    assert {"image/png", "text/html", TABLE_MIME} <= mimes
    assert not any(c.outputs for c in candidate.cells if c.cell_type == "code")
    lines = [c.source for c in candidate.cells if c.cell_type == "markdown" and c.source.startswith("**dpp")]
    assert [line.split("**")[1] for line in lines] == [f"{d['name']}-{d['algorithm']}" for d in definitions]
    assert all(f": {d['description']} (" in line for d, line in zip(definitions, lines))


# --- execution -----------------------------------------------------------------------------------------------------


def test_exploration_notebook_executes_and_shows_the_jobs_report(regression_job):
    path = _notebook(regression_job, EXPLORATION)
    stored = nbformat.read(path, as_version=4)
    executed = _execute(path)
    report = json.loads((path.parents[1] / "exploration_report.json").read_text())
    tables = _tables(executed)
    assert tables["Dataset Properties"]["Rows"] == report["rows"] == 600
    assert tables["Dataset Properties"]["Columns"] == report["columns"]
    assert tables["Dataset Properties"]["Detected problem type"] == "Regression"
    assert tables["Detected Column Types"] == report["column_types"]
    assert tables["Missing Values"] == {c: p for c, p in report["missing"].items() if p > 0} == {"size": 5.0}
    assert tables["Prediction Power"] == report["prediction_power"]
    assert tables["Descriptive Stats"] == report["descriptive_stats"]
    assert tables == _tables(stored)  # running the notebook recomputes what the job stored in it


def test_candidate_notebook_reproduces_the_jobs_leaderboard(regression_job):
    before = _files(regression_job.job_dir)
    executed = _execute(_notebook(regression_job, CANDIDATE), [PROBE])
    assert _files(regression_job.job_dir) == before  # the notebook writes nothing
    _assert_reproduced(regression_job, executed)
    _assert_reports_linked(regression_job.job_dir, executed)


def test_classification_notebooks_execute_and_reproduce(classification_job):
    exploration = _execute(_notebook(classification_job, EXPLORATION))
    tables = _tables(exploration)
    assert tables["Target Summary"]["n_classes"] == 2
    assert sum(c["count"] for c in tables["Label Frequencies"]) == 600
    _assert_reproduced(classification_job, _execute(_notebook(classification_job, CANDIDATE), [PROBE]))


def test_notebooks_still_run_after_the_job_folder_moves(classification_job, tmp_path):
    moved = tmp_path / "elsewhere" / classification_job.job_name
    shutil.copytree(classification_job.job_dir, moved)
    parked = classification_job.job_dir.with_name("parked")
    classification_job.job_dir.rename(parked)  # the notebooks' absolute paths now lead nowhere
    try:
        notebooks = next(moved.glob("sagemaker-automl-candidates/*/notebooks"))
        _execute(notebooks / EXPLORATION)
        executed = _execute(notebooks / CANDIDATE, [PROBE])
        assert "Same candidates in the same order as the job: yes" in _printed(executed)
        _assert_reports_linked(moved, executed)
    finally:
        parked.rename(classification_job.job_dir)


def _links(notebook) -> list[str]:
    """The relative link targets in the notebook's Markdown cells and Markdown outputs."""
    texts = [c.source for c in notebook.cells if c.cell_type == "markdown"]
    texts += [o.data["text/markdown"] for c in notebook.cells if c.cell_type == "code" for o in c.outputs
              if "text/markdown" in o.get("data", {})]
    return [link for text in texts for link in re.findall(r"\]\(([^)#][^)]*)\)", text)]


def _assert_reports_linked(job_dir: Path, candidate_notebook) -> None:
    """Both notebooks link the reports' folders, and the candidate notebook the best candidate's pages."""
    notebooks = next(job_dir.glob("sagemaker-automl-candidates/*/notebooks"))
    best = json.loads((job_dir / "job.json").read_text())["BestCandidate"]["CandidateName"]
    for notebook in (nbformat.read(notebooks / EXPLORATION, as_version=4), candidate_notebook):
        folders = [(notebooks / link).resolve() for link in _links(notebook) if link.endswith("/")]
        assert folders == [job_dir.resolve() / "documentation" / kind for kind in ("model_insights", "explainability")]
        assert all((folder / best / "report.html").exists() for folder in folders)
    pages = [(notebooks / link).resolve() for link in _links(candidate_notebook) if link.endswith("report.html")]
    assert pages == [job_dir.resolve() / "documentation" / kind / best / "report.html"
                     for kind in ("explainability", "model_insights")]
    assert all(page.exists() for page in pages)


def _assert_reproduced(config: JobConfig, executed) -> None:
    printed = _printed(executed)
    board = json.loads(printed.split("PROBE ", 1)[1])
    job = json.loads((config.job_dir / "candidates.json").read_text())["Candidates"]
    assert [name for name, _ in board] == [c["CandidateName"] for c in job]
    job_best, notebook_best = job[0]["FinalAutoMLJobObjectiveMetric"]["Value"], board[0][1]
    assert math.isclose(notebook_best, job_best, rel_tol=1e-9)
    assert "Same candidates in the same order as the job: yes" in printed
    assert ": the same" in printed


def test_generated_modules_build_the_pipelines_the_job_fitted(regression_job):
    folder = JobFolder(regression_job.job_dir, regression_job.job_name)
    data = prepare(regression_job)
    _, train_rows, _ = split_rows(data, regression_job)
    rows = data.features.iloc[train_rows]
    modules = folder.candidates_dir / "generated_module" / "candidate_data_processors"
    for definition in data.definitions:
        module = _import(modules / f"{definition.name}.py")
        fitted = joblib.load(folder.data_processor_model(definition.name))["feature_transform"]
        built = module.build_feature_transform()
        assert _normalise(built) == _normalise(fitted) == _normalise(definition.build_feature_transform())
        assert _normalise(module.build_label_transform()) == _normalise(definition.build_label_transform())
        np.testing.assert_allclose(_dense(built.fit_transform(rows)), _dense(fitted.transform(rows)),
                                   equal_nan=True, err_msg=definition.label)


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _normalise(value):
    """Estimators as (class, parameters), recursively, and NaN as a string: comparable with ==."""
    if hasattr(value, "get_params") and not isinstance(value, type):
        return type(value).__name__, _normalise(value.get_params(deep=False))
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


def _dense(matrix) -> np.ndarray:
    return matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix, dtype=float)


def test_candidate_definitions_only_then_the_notebook_tunes(tmp_path, monkeypatch, binary_csv):
    monkeypatch.chdir(tmp_path)  # a relative data path: the notebook must still find the file
    assert main(["run", binary_csv.name, "--target", "label", "--max-candidates", "6", "--output", "jobs",
                 "--job-name", "defs", "--candidate-definitions-only", "--quiet"]) == 0
    job_dir = tmp_path / "jobs" / "defs"
    describe = json.loads((job_dir / "job.json").read_text())
    assert describe["AutoMLJobStatus"] == "Completed"
    assert describe["AutoMLJobSecondaryStatus"] == "CandidateDefinitionsGenerated"
    assert Path(describe["AutoMLJobArtifacts"]["DataExplorationNotebookLocation"]).is_file()
    assert not (job_dir / "candidates.json").exists()
    executed = _execute(Path(describe["AutoMLJobArtifacts"]["CandidateDefinitionNotebookLocation"]), [PROBE])
    printed = _printed(executed)
    board = json.loads(printed.split("PROBE ", 1)[1])
    assert len(board) == 6 and all(name.startswith("defs-dpp") for name, _ in board)
    assert "candidate definitions only" in printed


def test_seattle_listings_notebook_executes(tmp_path, airbnb):
    config = JobConfig(data=str(airbnb / "seattle_2016-01_listings.csv.zip"), target="price", job_name="seattle",
                       output_dir=str(tmp_path / "jobs"), candidate_definitions_only=True)
    run_job(config)
    tables = _tables(_execute(_notebook(config, EXPLORATION)))
    assert tables["Dataset Properties"]["Rows"] == 3818
    assert tables["Target Summary"]["outlier_percent"] > 0
    assert len(tables["Outlier Target Values"]) == 10


# --- hostile names -------------------------------------------------------------------------------------------------


def test_hostile_names_are_shown_verbatim_and_never_run(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({name: rng.normal(size=n) for name in HOSTILE})
    frame["{{ 7*7 }}"] = rng.choice(["a", "<i>b</i>", "{{ c }}"], n)
    frame.loc[rng.random(n) < 0.6, HOSTILE[-1]] = np.nan  # listed by the "mostly missing" insight, in Markdown
    frame[HOSTILE_TARGET] = 2 * frame[HOSTILE[0]] + (frame["{{ 7*7 }}"] == "a") + rng.normal(scale=0.1, size=n)
    monkeypatch.chdir(tmp_path)
    config = _run(tmp_path, frame, HOSTILE_TARGET, "hostile", max_candidates=6)
    folder = JobFolder(config.job_dir, config.job_name)
    before = _files(tmp_path)
    notebooks = [_execute(_notebook(config, EXPLORATION)), _execute(_notebook(config, CANDIDATE), [PROBE])]
    assert _files(tmp_path) == before and not list(tmp_path.rglob("pwned"))

    markdown = "\n".join(c.source for nb in notebooks for c in nb.cells if c.cell_type == "markdown")
    shown = _text(MarkdownIt("commonmark").render(markdown))
    for name in (HOSTILE_TARGET, HOSTILE[-1]):
        assert rendering.md(name) in markdown and name in shown
    assert "script" not in _tags(MarkdownIt("commonmark").render(markdown))

    html = "\n".join(o.data["text/html"] for nb in notebooks for c in nb.cells if c.cell_type == "code"
                     for o in c.outputs if "text/html" in o.get("data", {}))
    assert "{{ 7*7 }}" in html and "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    assert "&lt;i&gt;b&lt;/i&gt;" in html  # category values in tables are escaped too

    code = [c.source for nb in notebooks for c in nb.cells if c.cell_type == "code"]
    code += [p.read_text() for p in (folder.candidates_dir / "generated_module").rglob("dpp*.py")]
    for source in code:
        outside = _outside_strings(source)
        fragments = ("os.system", "<script>", "{{", "suivante", "énergie", HOSTILE_TARGET)
        assert not any(fragment in outside for fragment in fragments)
    constants = {node.value for node in ast.walk(ast.parse(code[-1])) if isinstance(node, ast.Constant)}
    assert set(HOSTILE) <= constants and HOSTILE_TARGET in constants


def _outside_strings(source: str) -> str:
    literal = {tokenize.STRING, tokenize.COMMENT, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    return " ".join(t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in literal)


def _text(html: str) -> str:
    parts = []
    parser = HTMLParser(convert_charrefs=True)
    parser.handle_data = parts.append
    parser.feed(html)
    return "".join(parts)


def _tags(html: str) -> set:
    tags = set()
    parser = HTMLParser()
    parser.handle_starttag = lambda tag, attrs: tags.add(tag)
    parser.feed(html)
    return tags


# --- the filters and the packaging ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE + ["", "'\"", "\u2028\x00\r\n\t", "x" * 300 + " y" * 100, 1e-7, float("inf"),
                                            -3, None, True, ("a", 1), ["b", ("c",)], {"k": [1.5, "v"]}])
def test_py_filter_writes_a_literal_of_the_same_value(value):
    for indent in (None, 0, 8):
        literal = rendering.py(value, indent=indent)
        assert "\n" not in literal or indent is not None
        if value == float("inf"):
            assert eval(literal, {"__builtins__": {"float": float}}) == value
        else:
            assert ast.literal_eval(literal) == value


def test_md_filter_shows_any_text_verbatim():
    for value in HOSTILE + [HOSTILE_TARGET, "line\r\nbreak", "&amp; &#60;"]:
        escaped = rendering.md(value)
        assert "\n" not in escaped and "<" not in escaped
        assert _text(MarkdownIt("commonmark").render(f"Column **{escaped}** here")) == f"Column {value} here\n"


def test_a_string_without_a_filter_is_refused():
    template = rendering.environment().from_string("x = {{ name }}")
    with pytest.raises(TypeError, match="without the py or md filter"):
        template.render(name="os.system('x')")
    assert template.render(name=rendering.py("a")) == "x = 'a'"
    with pytest.raises(jinja2.UndefinedError):
        template.render()


def test_pyproject_lists_every_package_and_the_templates():
    tomllib = pytest.importorskip("tomllib")
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "autopilot_local").rglob("__init__.py")}
    assert found | {"autopilot_local.templates"} == set(setuptools["packages"])
    assert setuptools["package-dir"]["autopilot_local.templates"] == "templates"
    templates = {p.name for p in (ROOT / "templates").glob("*.jinja")}
    assert {"data_exploration.ipynb.jinja", "candidate_definition.ipynb.jinja", "dpp.py.jinja"} <= templates
