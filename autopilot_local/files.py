"""A job's files: where each one lies (`JobFolder`, the one owner of the layout) and how it is written.

Layout of ``<output>/<job>/``, as Autopilot lays out its S3 output::

    job.json                      DescribeAutoMLJobV2 response
    candidates.json               ListCandidatesForAutoMLJob response
    leaderboard.csv               every candidate, best first, with its hyperparameters
    request.json                  the CreateAutoMLJobV2 request the job ran
    status-history.json           secondary status transitions with their times
    local-run.json                what a resumed run needs beyond the request, and the seconds spent
    sagemaker-automl-candidates/<job>-pr-1-<hash>/
        exploration_report.json   the data analysis (ExplorationReport)
        candidate_definitions.json the dpp pipelines (CandidateDefinition)
        generated_module/, notebooks/   the dpp modules and the two notebooks
    data-processor-models/<job>-dppN-1-<hash>/output/model.joblib    fitted feature transforms
    tuning/<job>-dppN-<algo>/<candidate>/output/model.joblib         the best candidate, raw rows in, predictions out
    tuning/study.db               the Optuna study and its queue (SQLite)
    documentation/model_insights/<candidate>/, documentation/explainability/<candidate>/   the two reports
    ensembling/models/<model>.joblib                                 ENSEMBLING: each finished base model
    sagemaker-automl-candidates/model/<candidate>/model.joblib       ENSEMBLING: the best candidate

Every file is written to a temporary name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

from .errors import InputError


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, renamed into place.

    Parameters
    ----------
    path : Path
        The file to write; its folder is created if missing.
    data : str or bytes
        Text (written as UTF-8) or bytes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def json_text(document) -> str:
    """``document`` as the job's JSON files hold it: indented, UTF-8 characters as they are."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_json(path: Path, document) -> None:
    """Write ``document`` as indented UTF-8 JSON, atomically."""
    write_atomic(path, json_text(document))


def read_json(path: Path):
    """The JSON document in ``path``."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def dump_model(path: Path, model) -> None:
    """Pickle ``model`` with joblib into ``path``, atomically.

    Parameters
    ----------
    path : Path
        The ``.joblib`` file to write.
    model : object
        Any picklable object: a `CandidateModel`, a fitted transform, a bagged model.
    """
    import joblib  # imported when used: it takes a quarter of a second, which commands that read JSON need not pay

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    write_atomic(path, buffer.getvalue())


def load_model(path: Path):
    """The object `dump_model` wrote into ``path``."""
    import joblib

    return joblib.load(path)


def short_hash(*parts) -> str:
    """Eight hex digits that stand for ``parts``, as Autopilot's resource names carry them."""
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:8]


class JobFolder:
    """Paths inside one job's folder, named as Autopilot names them in S3.

    Parameters
    ----------
    root : Path
        The job folder, ``<output>/<job name>``.
    job_name : str, optional
        The job's AutoMLJobName; by default the folder's name, which is what a job names its folder.
    uri : str, optional
        Where the folder is mirrored when the job ends, for a job whose output is on S3 (``s3://bucket/prefix/job``):
        the documents name their files there, as Autopilot's do.
    """

    def __init__(self, root: Path, job_name: str | None = None, uri: str | None = None):
        self.root = Path(root)
        self.job_name = job_name or self.root.name
        self.hash = short_hash(self.job_name)
        self.uri = uri.rstrip("/") if uri else None

    def location(self, path: Path) -> str:
        """How the job's documents name ``path``, a file or folder in the job folder: its S3 URI where the job's
        output is on S3, else its absolute local path."""
        if self.uri is None:
            return str(Path(path).resolve())
        return f"{self.uri}/{Path(path).resolve().relative_to(self.root.resolve()).as_posix()}"

    @classmethod
    def existing(cls, root: Path) -> JobFolder:
        """The folder of a job that has started; `InputError` if ``root`` holds none."""
        folder = cls(root)
        if not folder.job_json.exists():
            raise InputError(f"{root} is not a job folder (no job.json)")
        return folder

    job_json = property(lambda self: self.root / "job.json")
    candidates_json = property(lambda self: self.root / "candidates.json")
    leaderboard_csv = property(lambda self: self.root / "leaderboard.csv")
    request_json = property(lambda self: self.root / "request.json")
    history_json = property(lambda self: self.root / "status-history.json")
    study_db = property(lambda self: self.root / "tuning" / "study.db")
    # what a local run needs beyond the AWS request (seed, workers), and the seconds it has spent so far
    local_run_json = property(lambda self: self.root / "local-run.json")
    stop_request = property(lambda self: self.root / "tuning" / "stop-requested")
    parity = property(lambda self: self.root / "parity")  # the parity report, where the job ran for one

    @property
    def processing_job(self) -> str:
        """The analysis's processing job name, ``<job>-pr-1-<hash>``."""
        return f"{self.job_name}-pr-1-{self.hash}"

    @property
    def candidates_dir(self) -> Path:
        """The folder of the analysis's outputs: the report, the definitions, the modules and the notebooks."""
        return self.root / "sagemaker-automl-candidates" / self.processing_job

    @property
    def exploration_report(self) -> Path:
        """The analysis's report of the data, as JSON."""
        return self.candidates_dir / "exploration_report.json"

    @property
    def candidate_definitions(self) -> Path:
        """The candidate pipelines' definitions, as JSON."""
        return self.candidates_dir / "candidate_definitions.json"

    # the generated dppN.py modules' package, and the notebooks beside it (which link the modules relatively)
    DPP_MODULES = ("generated_module", "candidate_data_processors")

    @property
    def dpp_modules(self) -> Path:
        """The package of the generated ``dppN.py`` modules."""
        return self.candidates_dir.joinpath(*self.DPP_MODULES)

    @property
    def notebooks(self) -> Path:
        """The folder of the candidate and data exploration notebooks."""
        return self.candidates_dir / "notebooks"

    def data_processor_job(self, dpp: str) -> str:
        """The name of the training job that fits ``dpp``'s feature transform, ``<job>-<dpp>-1-<hash>``."""
        return f"{self.job_name}-{dpp}-1-{short_hash(self.job_name, dpp)}"

    def data_processor_model(self, dpp: str) -> Path:
        """``dpp``'s fitted feature and label transforms, in one file."""
        return self.root / "data-processor-models" / self.data_processor_job(dpp) / "output" / "model.joblib"

    # ENSEMBLING: each finished base model (crash-safe: a resumed job keeps them), and the final model where
    # Autopilot keeps its ensemble (sagemaker-automl-candidates/model/<name>/)
    base_models = property(lambda self: self.root / "ensembling" / "models")

    def base_model(self, name: str) -> Path:
        """ENSEMBLING: the finished base model ``name``."""
        return self.base_models / f"{name}.joblib"

    def model_insights(self, candidate_name: str) -> Path:
        """The best candidate's model performance report (Autopilot's CandidateArtifactLocations.ModelInsights)."""
        return self.root / "documentation" / "model_insights" / candidate_name

    def explainability(self, candidate_name: str) -> Path:
        """The best candidate's explainability report (CandidateArtifactLocations.Explainability)."""
        return self.root / "documentation" / "explainability" / candidate_name

    def ensemble_model(self, candidate_name: str) -> Path:
        """ENSEMBLING: the final model of candidate ``candidate_name``."""
        return self.root / "sagemaker-automl-candidates" / "model" / candidate_name / "model.joblib"

    def candidate_model(self, candidate_name: str, dpp: str, algorithm_short_name: str) -> Path:
        """A tuned candidate's model, under its tuning job ``<job>-<dpp>-<algorithm's short name>``."""
        tuning_job = f"{self.job_name}-{dpp}-{algorithm_short_name}"
        return self.root / "tuning" / tuning_job / candidate_name / "output" / "model.joblib"

    def candidate_of(self, model_path: Path) -> str | None:
        """The candidate whose model file ``model_path`` is (or is to be), by where the layout keeps them; None
        for any other path."""
        try:
            parts = Path(model_path).resolve().relative_to(self.root.resolve()).parts
        except ValueError:
            return None
        if len(parts) == 5 and parts[0] == "tuning" and parts[3:] == ("output", "model.joblib"):
            return parts[2]
        if len(parts) == 4 and parts[:2] == ("sagemaker-automl-candidates", "model") and parts[3] == "model.joblib":
            return parts[2]
        return None

    def saved_model(self, candidate_name: str) -> Path | None:
        """The model file of a candidate the job saved, tuned or ensembled; None if there is none."""
        found = [*self.root.glob(f"tuning/*/{candidate_name}/output/model.joblib"),
                 *self.ensemble_model(candidate_name).parent.glob("model.joblib")]
        return found[0] if found else None
