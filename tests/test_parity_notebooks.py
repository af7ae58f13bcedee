"""The parsers of Autopilot's candidate definition notebooks and dpp modules, on every real job in
../shared/autopilot-jobs (read in place) and on a synthetic notebook of the 2020 Airbnb job's format."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from autopilot_local.errors import InputError
from autopilot_local.parity.notebooks import (
    metric_name,
    parse_candidate_notebook,
    parse_dpp_facts,
    parse_dpp_module,
)

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "autopilot-jobs"
if not CORPUS.is_dir():
    pytest.skip("../shared/autopilot-jobs is not beside the project", allow_module_level=True)

ALGORITHMS = {"xgboost", "linear-learner", "mlp"}
CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9]+$")


def _job_facts() -> dict[Path, dict]:
    """Each candidate notebook the corpus names -> the job.json `jobs[]` entry that describes it."""
    facts = {}
    for job_file in sorted(CORPUS.glob("*/job.json")):
        document = json.loads(job_file.read_text(encoding="utf-8"))
        for job in document["jobs"]:
            if job.get("candidate_notebook"):
                facts[job_file.parent / job["candidate_notebook"]] = job
        for listed in document["files"]:
            if listed["role"] == "candidate notebook":
                facts.setdefault(job_file.parent / listed["path"], None)
    return facts


JOB_FACTS = _job_facts()
NOTEBOOKS = sorted(set(CORPUS.glob("**/*CandidateDefinitionNotebook*.ipynb")) | set(JOB_FACTS))
FACTS_FILES = sorted(CORPUS.glob("**/dpp_modules.facts.json"))


def _id(path: Path) -> str:
    return str(path.relative_to(CORPUS))


def test_the_corpus_is_all_here():
    assert len(NOTEBOOKS) >= 45 and len(FACTS_FILES) >= 3
    missing = [_id(path) for path in JOB_FACTS if not path.is_file()]
    assert not missing, f"job.json names candidate notebooks that are absent: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_every_real_candidate_notebook_parses(path: Path):
    notebook = parse_candidate_notebook(path)
    job = JOB_FACTS.get(path)
    assert job is not None, f"{_id(path)} is described by no job.json jobs[] entry"
    assert notebook.job_name == job["job"]
    assert notebook.problem_type == job["problem_type"]
    assert notebook.objective == metric_name(job["objective"])
    assert notebook.objective in {"MSE", "RMSE", "Accuracy", "F1", "AUC", "F1macro", "MAE", "R2"}
    assert notebook.target and notebook.n_columns
    assert (notebook.n_classes is None) == (notebook.problem_type == "Regression")
    if notebook.era.startswith("sdk2-ensemble"):
        _assert_ensembling_notebook(notebook, job)
    else:
        _assert_dpp_notebook(notebook, job)


def _assert_ensembling_notebook(notebook, job):
    """AutoGluon notebooks keep their trials in S3: no dpp candidates, no tuning cell, no max jobs in the text."""
    assert notebook.candidates == [] and job["candidates"] == []
    assert notebook.hyperparameter_ranges == {}
    assert notebook.max_candidates is None


def _assert_dpp_notebook(notebook, job):
    assert re.fullmatch(r"sdk[12]-dpp-(0\.1\.0|0\.2-1|2\.2\.1-1|2\.4-1|2\.5-1)", notebook.era)
    assert notebook.candidates
    if job["candidates"]:
        assert [candidate.name for candidate in notebook.candidates] == job["candidates"]
    for candidate in notebook.candidates:
        assert re.fullmatch(r"dpp\d+", candidate.dpp)
        assert candidate.algorithm in ALGORITHMS
        assert candidate.name == f"{candidate.dpp}-{candidate.algorithm}"
        assert candidate.transformers and all(candidate.transformers.values())
        assert all(CLASS_NAME.match(name) for names in candidate.transformers.values() for name in names)
        assert all(CLASS_NAME.match(name) for name in candidate.after_merge)
        assert candidate.description.startswith("This data transformation strategy")
    used = {candidate.algorithm for candidate in notebook.candidates}
    assert used <= set(notebook.hyperparameter_ranges)
    for ranges in notebook.hyperparameter_ranges.values():
        assert ranges
        for spec in ranges.values():
            _assert_range(spec)
    # hjyoon16's copy stops before the tuner cell; every other dpp notebook states max_jobs.
    if "hjyoon16" not in notebook.path:
        assert notebook.max_candidates in {8, 250}


def _assert_range(spec: dict):
    assert set(spec) == {"type", "min", "max", "scaling", "values"}
    if spec["type"] == "categorical":
        assert spec["values"]
    else:
        assert spec["type"] in {"continuous", "integer"}
        assert spec["min"] < spec["max"]
        assert spec["scaling"] in {"Linear", "Logarithmic", "Auto"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_the_per_algorithm_objectives_name_the_jobs_objective(path: Path):
    job = JOB_FACTS[path]
    spellings = re.findall(r"'[\w-]+': '([\w:]+)'", job.get("algorithm_objective_metrics") or "")
    assert all(metric_name(spelling) == metric_name(job["objective"]) for spelling in spellings)


def _notebook_of_facts(facts_path: Path) -> Path:
    folder = CORPUS / facts_path.relative_to(CORPUS).parts[0]
    candidates = [path for path in NOTEBOOKS if folder in path.parents and JOB_FACTS.get(path)]
    assert len(candidates) == 1, f"{_id(facts_path)}: expected one candidate notebook in its folder"
    return candidates[0]


@pytest.mark.parametrize("path", FACTS_FILES, ids=_id)
def test_dpp_facts_agree_with_the_same_jobs_notebook(path: Path):
    modules = parse_dpp_facts(path)
    notebook = {candidate.dpp: candidate for candidate in parse_candidate_notebook(_notebook_of_facts(path)).candidates}
    assert modules
    for dpp, module in modules.items():
        assert module["transformers"] == notebook[dpp].transformers, dpp
        assert module["after_merge"] == notebook[dpp].after_merge, dpp
        assert set(module["columns"]) == set(module["transformers"])
        assert all(module["columns"].values())


def test_metric_spellings_of_every_era():
    assert metric_name("ACCURACY") == "Accuracy"
    assert metric_name("validation:accuracy") == "Accuracy"
    assert metric_name("validation:f1_binary") == "F1"
    assert metric_name("validation:f1") == "F1"
    assert metric_name("validation:binary_f_beta") == "F1"
    assert metric_name("validation:objective_loss") == "MSE"
    assert metric_name("F1macro") == "F1macro"
    assert metric_name(None) is None


# --- refusals -----------------------------------------------------------------------------------------------------


def test_a_file_that_is_not_a_notebook_is_refused(tmp_path: Path):
    table = tmp_path / "listings.csv"
    table.write_text("price,rooms\n100,2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"listings\.csv: not a Jupyter notebook"):
        parse_candidate_notebook(table)


def test_an_unrelated_notebook_is_refused(tmp_path: Path):
    path = tmp_path / "analysis.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# My analysis")]), path)
    with pytest.raises(InputError, match=r"analysis\.ipynb: not an Autopilot candidate definition notebook"):
        parse_candidate_notebook(path)


def test_autopilots_other_notebooks_are_refused():
    exploration = next(CORPUS.glob("brego81__*/SageMakerAutopilotDataExplorationNotebook.ipynb"))
    with pytest.raises(InputError, match="DataExplorationNotebook.ipynb: not an Autopilot candidate definition"):
        parse_candidate_notebook(exploration)


def test_a_candidate_notebook_without_candidates_is_refused(tmp_path: Path):
    cells = airbnb_2020_cells()
    path = tmp_path / "gutted.ipynb"
    kept = [cell for cell in cells if "This data transformation strategy" not in cell.source]
    nbformat.write(nbformat.v4.new_notebook(cells=kept), path)
    with pytest.raises(InputError, match="names no dppN candidates"):
        parse_candidate_notebook(path)


def test_broken_dpp_inputs_are_refused(tmp_path: Path):
    with pytest.raises(InputError, match="not Python source"):
        parse_dpp_module("def build_feature_transform(:\n")
    with pytest.raises(InputError, match="no build_feature_transform"):
        parse_dpp_module("HEADER = None\n")
    facts = tmp_path / "dpp_modules.facts.json"
    facts.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match=r"dpp_modules\.facts\.json: not a dpp modules facts file"):
        parse_dpp_facts(facts)


# --- the 2020 Airbnb job's format (reference section 3), built here -----------------------------------------------

EXTENSION = "https://github.com/aws/sagemaker-scikit-learn-extension/blob/master/src/sagemaker_sklearn_extension"
LINKS = {
    "RobustImputer": "impute/base.py", "RobustMissingIndicator": "impute/base.py",
    "ThresholdOneHotEncoder": "preprocessing/encoders.py", "MultiColumnTfidfVectorizer": "feature_extraction/text.py",
    "QuantileExtremeValuesTransformer": "preprocessing/base.py", "RobustStandardScaler": "preprocessing/data.py",
    "RobustPCA": "decomposition/robust_pca.py",
}
XGB = ("[RobustImputer (converts missing values to nan)]", ["RobustStandardScaler"])
AIRBNB_PIPELINES = {
    "dpp0": ("xgboost", *XGB), "dpp1": ("xgboost", *XGB), "dpp2": ("xgboost", *XGB), "dpp3": ("xgboost", *XGB),
    "dpp4": ("linear-learner", "[combined RobustImputer and RobustMissingIndicator] followed by "
                               "[QuantileExtremeValuesTransformer]", ["RobustPCA", "RobustStandardScaler"]),
    "dpp5": ("linear-learner", "[RobustImputer (median)]", ["RobustStandardScaler"]),
    "dpp6": ("xgboost", *XGB), "dpp7": ("xgboost", *XGB), "dpp8": ("xgboost", *XGB),
    "dpp9": ("xgboost", "[RobustImputer (median)]", ["RobustPCA", "RobustStandardScaler"]),
}
AIRBNB_RANGES = """from sagemaker.parameter import CategoricalParameter, ContinuousParameter, IntegerParameter

ALGORITHM_TUNABLE_HYPERPARAMETER_RANGES = {
    'xgboost': {
        'num_round': IntegerParameter(2, 1024, scaling_type='Logarithmic'),
        'max_depth': IntegerParameter(2, 8, scaling_type='Logarithmic'),
        'eta': ContinuousParameter(1e-3, 1.0, scaling_type='Logarithmic'),
        'gamma': ContinuousParameter(1e-6, 64.0, scaling_type='Logarithmic'),
        'min_child_weight': ContinuousParameter(1e-6, 32.0, scaling_type='Logarithmic'),
        'subsample': ContinuousParameter(0.5, 1.0, scaling_type='Linear'),
        'colsample_bytree': ContinuousParameter(0.3, 1.0, scaling_type='Linear'),
        'lambda': ContinuousParameter(1e-6, 2.0, scaling_type='Logarithmic'),
        'alpha': ContinuousParameter(1e-6, 2.0, scaling_type='Logarithmic'),
    },
    'linear-learner': {
        'wd': ContinuousParameter(1e-7, 1.0, scaling_type='Logarithmic'),
        'l1': ContinuousParameter(1e-7, 1.0, scaling_type='Logarithmic'),
        'learning_rate': ContinuousParameter(1e-5, 1.0, scaling_type='Logarithmic'),
    },
}"""


def _linked(markdown: str) -> str:
    """Give each [Name ...] the URL the real notebooks link it to."""
    def link(match):
        name = re.findall(r"[A-Z]\w+", match.group(1))[-1]
        return f"[{match.group(1)}]({EXTENSION}/{LINKS[name]})"
    return re.sub(r"\[([^\]]+)\](?!\()", link, markdown)


def _candidate_markdown(dpp: str, algorithm: str, numeric: str, after: list[str]) -> str:
    merged = " followed by ".join(f"[{name}]" for name in after)
    return _linked(
        f"**[{dpp}-{algorithm}](airbnbautopilot-artifacts/generated_module/candidate_data_processors/{dpp}.py)**: "
        f"This data transformation strategy first transforms 'numeric' features using {numeric}, 'categorical' "
        f"features using [ThresholdOneHotEncoder], 'text' features using [MultiColumnTfidfVectorizer]. It merges all "
        f"the generated features and applies {merged}. The\ntransformed data will be used to tune a *{algorithm}* "
        "model. Here is the definition:")


def _select_candidate(dpp: str, algorithm: str) -> str:
    definition = {
        "data_transformer": {"name": dpp, "training_resource_config": {"instance_type": "ml.m5.4xlarge",
                                                                       "instance_count": 1, "volume_size_in_gb": 50},
                             "transform_resource_config": {"instance_type": "ml.m5.4xlarge", "instance_count": 1},
                             "transforms_label": False,
                             "transformed_data_format": "application/x-recordio-protobuf", "sparse_encoding": True},
        "algorithm": {"name": algorithm, "training_resource_config": {"instance_type": "ml.m5.4xlarge",
                                                                      "instance_count": 1}},
    }
    return f"automl_interactive_runner.select_candidate({definition!r})"


def airbnb_2020_cells() -> list:
    new_markdown, new_code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [
        new_markdown(
            "# Amazon SageMaker Autopilot Candidate Definition Notebook\n\nThis notebook was automatically generated "
            "by the AutoML job **airbnbautopilot**.\n\nThe dataset has **22** columns and the column named "
            "**price_log** is used as\nthe target column. This is being treated as a **Regression** problem.  This "
            "notebook will build a **[Regression](https://en.wikipedia.org/wiki/Regression_analysis)** model that\n"
            "**minimizes** the \"**MSE**\" quality metric of the trained models."),
        new_markdown("- Dependencies required\n  - `sagemaker-python-sdk>=1.72.1,<2.0.0`"),
        new_code("!mkdir -p airbnbautopilot-artifacts\nimport sys\nsys.path.append('airbnbautopilot-artifacts')"),
        new_code("BASE_AUTOML_JOB_NAME = 'airbnbautopilot'\nBASE_AUTOML_JOB_CONFIG = {\n"
                 "    'automl_job_name': BASE_AUTOML_JOB_NAME,\n"
                 "    'data_transformer_image_repo_version': '0.2-1-cpu-py3',\n"
                 "    'algo_image_repo_versions': {'xgboost': '1.0-1-cpu-py3', 'linear-learner': 'latest'},\n}"),
        new_markdown("### Generated Candidates\n\nThe SageMaker Autopilot Job has analyzed the dataset and has "
                     "generated **10** machine learning\npipeline(s) that use **2** algorithm(s)."),
    ]
    for dpp, (algorithm, numeric, after) in AIRBNB_PIPELINES.items():
        cells += [new_markdown(_candidate_markdown(dpp, algorithm, numeric, after)),
                  new_code(_select_candidate(dpp, algorithm))]
    cells += [
        new_code("ALGORITHM_OBJECTIVE_METRICS = {\n    'xgboost': 'validation:mse',\n"
                 "    'linear-learner': 'validation:objective_loss',\n}"),
        new_code(AIRBNB_RANGES),
        new_code("tuner = HyperparameterTuner.create(\n    base_tuning_job_name=base_tuning_job_name,\n"
                 "    strategy='Bayesian',\n    objective_type='Minimize',\n    max_parallel_jobs=7,\n"
                 "    max_jobs=250,\n    **multi_algo_tuning_parameters,\n)"),
    ]
    return cells


@pytest.fixture()
def airbnb_notebook(tmp_path: Path) -> Path:
    path = tmp_path / "SageMakerAutopilotCandidateDefinitionNotebook.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=airbnb_2020_cells()), path)
    return path


def test_the_2020_airbnb_format(airbnb_notebook: Path):
    notebook = parse_candidate_notebook(airbnb_notebook)
    assert (notebook.job_name, notebook.target, notebook.problem_type, notebook.objective) == \
        ("airbnbautopilot", "price_log", "Regression", "MSE")
    assert (notebook.n_columns, notebook.n_classes, notebook.max_candidates, notebook.era) == \
        (22, None, 250, "sdk1-dpp-0.2-1")
    assert [candidate.name for candidate in notebook.candidates] == [
        f"{dpp}-{algorithm}" for dpp, (algorithm, _, _) in AIRBNB_PIPELINES.items()]
    by_dpp = {candidate.dpp: candidate for candidate in notebook.candidates}
    shared = {"categorical": ["ThresholdOneHotEncoder"], "text": ["MultiColumnTfidfVectorizer"]}
    for dpp in ("dpp0", "dpp1", "dpp2", "dpp3", "dpp6", "dpp7", "dpp8", "dpp5"):
        assert by_dpp[dpp].transformers == {"numeric": ["RobustImputer"], **shared}
    assert by_dpp["dpp4"].transformers == {
        "numeric": ["RobustImputer", "RobustMissingIndicator", "QuantileExtremeValuesTransformer"], **shared}
    assert by_dpp["dpp4"].after_merge == by_dpp["dpp9"].after_merge == ["RobustPCA", "RobustStandardScaler"]
    assert by_dpp["dpp0"].after_merge == ["RobustStandardScaler"]
    assert "RobustImputer (median)" in by_dpp["dpp5"].description
    ranges = notebook.hyperparameter_ranges
    assert set(ranges) == {"xgboost", "linear-learner"}
    assert ranges["xgboost"]["num_round"] == {"type": "integer", "min": 2, "max": 1024, "scaling": "Logarithmic",
                                              "values": None}
    assert ranges["xgboost"]["subsample"]["scaling"] == "Linear"
    assert ranges["linear-learner"]["learning_rate"] == {"type": "continuous", "min": 1e-5, "max": 1.0,
                                                         "scaling": "Logarithmic", "values": None}


# A generated dpp module in Autopilot's real layout (Header, named sub-pipelines, a ColumnTransformer over the column
# groups, the merged steps after it), here for the Airbnb job's dpp4.
AIRBNB_DPP4 = """from numpy import nan
from sagemaker_sklearn_extension.decomposition import RobustPCA
from sagemaker_sklearn_extension.externals import Header
from sagemaker_sklearn_extension.feature_extraction.text import MultiColumnTfidfVectorizer
from sagemaker_sklearn_extension.impute import RobustImputer, RobustMissingIndicator
from sagemaker_sklearn_extension.preprocessing import NALabelEncoder, QuantileExtremeValuesTransformer
from sagemaker_sklearn_extension.preprocessing import RobustStandardScaler, ThresholdOneHotEncoder
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import FeatureUnion, Pipeline

# Given a list of column names and target column name, Header can return the index
# for given column name
HEADER = Header(
    column_names=['price_log', 'accommodates', 'cleaning_fee', 'room_type', 'summary'],
    target_column_name='price_log'
)


def build_feature_transform():
    \"\"\" Returns the model definition representing feature processing.\"\"\"

    # These features can be parsed as numeric.
    numeric = HEADER.as_feature_indices(['accommodates', 'cleaning_fee'])

    # These features contain a relatively small number of unique items.
    categorical = HEADER.as_feature_indices(['room_type', 'accommodates'])

    # These features can be parsed as natural language.
    text = HEADER.as_feature_indices(['summary'])

    numeric_processors = Pipeline(
        steps=[
            (
                'featureunion',
                FeatureUnion(
                    [
                        ('robust_imputer', RobustImputer(strategy='constant', fill_values=nan)),
                        ('robust_missing_indicator', RobustMissingIndicator())
                    ]
                )
            ), ('quantileextremevaluestransformer', QuantileExtremeValuesTransformer())
        ]
    )

    categorical_processors = Pipeline(
        steps=[('thresholdonehotencoder', ThresholdOneHotEncoder(threshold=14))]
    )

    text_processors = Pipeline(
        steps=[
            (
                'multicolumntfidfvectorizer',
                MultiColumnTfidfVectorizer(max_df=0.9568, min_df=0.0052, max_features=10000)
            )
        ]
    )

    column_transformer = ColumnTransformer(
        transformers=[
            ('numeric_processing', numeric_processors, numeric),
            ('categorical_processing', categorical_processors, categorical),
            ('text_processing', text_processors, text)
        ]
    )

    return Pipeline(
        steps=[
            ('column_transformer', column_transformer), ('robustpca', RobustPCA(n_components=26)),
            ('robuststandardscaler', RobustStandardScaler())
        ]
    )


def build_label_transform():
    \"\"\"Returns the model definition representing feature processing.\"\"\"

    return NALabelEncoder()
"""


def test_a_generated_dpp_module_parses_like_its_notebook_line(airbnb_notebook: Path):
    module = parse_dpp_module(AIRBNB_DPP4)
    candidate = next(c for c in parse_candidate_notebook(airbnb_notebook).candidates if c.dpp == "dpp4")
    assert module["transformers"] == candidate.transformers
    assert module["after_merge"] == candidate.after_merge
    assert module["columns"] == {"numeric": ["accommodates", "cleaning_fee"],
                                 "categorical": ["room_type", "accommodates"], "text": ["summary"]}


def test_a_dpp_module_without_merged_steps():
    source = AIRBNB_DPP4.replace(
        "('column_transformer', column_transformer), ('robustpca', RobustPCA(n_components=26)),\n"
        "            ('robuststandardscaler', RobustStandardScaler())",
        "('column_transformer', column_transformer)")
    module = parse_dpp_module(source)
    assert module["after_merge"] == []
    assert module["transformers"]["text"] == ["MultiColumnTfidfVectorizer"]
