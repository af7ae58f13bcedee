"""The SageMaker Python SDK v2's AutoML classes, run locally: code written for ``sagemaker.automl`` changes only
its import.

``AutoML`` (CreateAutoMLJob, V1 shapes) and ``AutoMLV2`` (CreateAutoMLJobV2) take the SDK's constructor arguments
and methods. ``fit`` builds the request the SDK would send and runs it as a job in its own process, as the cloud
runs a job apart from the notebook that started it; the read calls answer from the job folder (`api`), and
``deploy`` starts a local endpoint that speaks the SageMaker inference container contract (`serve`). Arguments
only the cloud acts on (role, KMS keys, VPC, tags, instance types, sessions) are accepted and kept in the request,
and a warning says once that they have no local effect.
"""

from __future__ import annotations

import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from .. import api, registry, serve
from ..config import JobConfig
from ..errors import InputError
from ..files import JobFolder
from ..vocabulary import ROLE_ARN
from .background import start_job, wait_for_job


@dataclass
class AutoMLInput:
    """SDK v2's ``AutoMLInput``: one or more channels of the V1 request."""

    inputs: str | list
    target_attribute_name: str
    compression: str | None = None
    channel_type: str | None = None
    content_type: str | None = None
    s3_data_type: str | None = None
    sample_weight_attribute_name: str | None = None

    def to_request_dict(self) -> list[dict]:
        """The V1 request's InputDataConfig: one channel per input URI."""
        channels = []
        for uri in [self.inputs] if isinstance(self.inputs, (str, Path)) else self.inputs:
            source = {"S3DataType": self.s3_data_type or "S3Prefix", "S3Uri": str(uri)}
            channel = {"DataSource": {"S3DataSource": source}, "TargetAttributeName": self.target_attribute_name}
            for key, value in (("CompressionType", self.compression), ("ChannelType", self.channel_type),
                               ("ContentType", self.content_type),
                               ("SampleWeightAttributeName", self.sample_weight_attribute_name)):
                if value is not None:
                    channel[key] = value
            channels.append(channel)
        return channels


@dataclass
class AutoMLTabularConfig:
    """SDK v2's ``AutoMLTabularConfig``: the TabularJobConfig of a V2 request."""

    target_attribute_name: str
    algorithms_config: list | None = None
    feature_specification_s3_uri: str | None = None
    generate_candidate_definitions_only: bool | None = None
    mode: str | None = None
    problem_type: str | None = None
    sample_weight_attribute_name: str | None = None
    max_candidates: int | None = None
    max_runtime_per_training_job_in_seconds: int | None = None
    max_total_job_runtime_in_seconds: int | None = None

    def to_request_dict(self) -> dict:
        """The V2 request's AutoMLProblemTypeConfig, with only the members that are set."""
        criteria = _present({"MaxCandidates": self.max_candidates,
                             "MaxRuntimePerTrainingJobInSeconds": self.max_runtime_per_training_job_in_seconds,
                             "MaxAutoMLJobRuntimeInSeconds": self.max_total_job_runtime_in_seconds})
        tabular = _present({
            "TargetAttributeName": self.target_attribute_name, "Mode": self.mode, "ProblemType": self.problem_type,
            "GenerateCandidateDefinitionsOnly": self.generate_candidate_definitions_only,
            "FeatureSpecificationS3Uri": self.feature_specification_s3_uri,
            "SampleWeightAttributeName": self.sample_weight_attribute_name, "CompletionCriteria": criteria or None,
            "CandidateGenerationConfig": {"AlgorithmsConfig": [{"AutoMLAlgorithms": list(self.algorithms_config)}]}
            if self.algorithms_config else None,
        })
        return {"TabularJobConfig": tabular}


@dataclass
class AutoMLDataChannel:
    """SDK v2's ``AutoMLDataChannel``: a V2 channel on S3."""

    s3_data_type: str
    s3_uri: str
    channel_type: str | None = None
    compression_type: str | None = None
    content_type: str | None = None

    def to_request_dict(self) -> dict:
        """The channel as one entry of AutoMLJobInputDataConfig, with only the members that are set."""
        return _present({"DataSource": {"S3DataSource": {"S3DataType": self.s3_data_type, "S3Uri": self.s3_uri}},
                         "ChannelType": self.channel_type, "CompressionType": self.compression_type,
                         "ContentType": self.content_type})


@dataclass
class LocalAutoMLDataChannel:
    """SDK v2's ``LocalAutoMLDataChannel``: a V2 channel from a local file (the SDK uploads it; here it stays)."""

    data_type: str
    path: str
    channel_type: str | None = None
    compression_type: str | None = None
    content_type: str | None = None

    def to_request_dict(self) -> dict:
        """The channel as one entry of AutoMLJobInputDataConfig, its S3Uri the local path."""
        return AutoMLDataChannel(self.data_type, str(self.path), self.channel_type, self.compression_type,
                                 self.content_type).to_request_dict()


class _AutoMLBase:
    """What AutoML and AutoMLV2 share: running a job, waiting for it, and the read and deploy calls."""

    _describe = staticmethod(api.describe_auto_ml_job)

    def __init__(self, output_path, base_job_name, cloud_only: dict):
        self.output_path = output_path or "jobs"
        self.base_job_name = base_job_name
        self.current_job_name: str | None = None
        self.latest_auto_ml_job = None
        self._cloud_only = {k: v for k, v in cloud_only.items() if v not in (None, False, [], {})}
        self._process: subprocess.Popen | None = None
        _say_no_local_effect(self._cloud_only)

    # --- running a job ----------------------------------------------------------------------------------------

    def _start(self, request: dict, wait: bool, logs: bool, job_name: str | None) -> None:
        self.current_job_name = job_name or _job_name(self.base_job_name or "automl")
        self.latest_auto_ml_job = self.current_job_name
        request["AutoMLJobName"] = self.current_job_name
        request["OutputDataConfig"] = _present({"S3OutputPath": self._output_dir(),
                                                "KmsKeyId": self._cloud_only.get("output_kms_key")})
        request["ModelDeployConfig"] = _present({
            "AutoGenerateEndpointName": self._cloud_only.get("auto_generate_endpoint_name"),
            "EndpointName": self._cloud_only.get("endpoint_name")}) or None
        request = _present(request)
        request.setdefault("RoleArn", ROLE_ARN)
        self._process = start_job(request)
        if wait:
            self.wait(logs)

    def _output_dir(self) -> str:
        path = str(self.output_path)
        return path if path.startswith("s3://") else str(Path(path).resolve())

    def wait(self, logs: bool = True) -> None:
        """Block until the latest job ends; a job refused for bad input raises `InputError` with the reason."""
        wait_for_job(self.current_job_name, self._process, logs=logs)

    def _job_dir(self, job_name: str | None) -> Path:
        name = job_name or self.current_job_name
        if name is None:
            raise InputError("no job yet: call fit() or attach() first")
        return registry.job_dir(name)

    # --- read calls -------------------------------------------------------------------------------------------

    def describe_auto_ml_job(self, job_name: str | None = None) -> dict:
        """The job's DescribeAutoMLJob (or, for `AutoMLV2`, V2) response; the latest job's by default."""
        return self._describe(self._job_dir(job_name))

    def best_candidate(self, job_name: str | None = None) -> dict:
        """The job's BestCandidate; `InputError` if it has none yet."""
        described = self.describe_auto_ml_job(job_name)
        if "BestCandidate" not in described:
            raise InputError(f"job {described['AutoMLJobName']} has no best candidate "
                             f"(status {described['AutoMLJobStatus']})")
        return described["BestCandidate"]

    def list_candidates(self, job_name=None, status_equals=None, candidate_name=None, candidate_arn=None,
                        sort_order=None, sort_by=None, max_results=None) -> list[dict]:
        """The job's candidates (all of them unless ``max_results``), as the SDK's list_candidates returns them."""
        listed = api.list_candidates_for_auto_ml_job(
            self._job_dir(job_name), status_equals=status_equals, candidate_name_equals=candidate_name,
            sort_order=sort_order, sort_by=sort_by, max_results=max_results,
        )["Candidates"]
        if candidate_arn:
            listed = [c for c in listed if any(s["CandidateStepArn"] == candidate_arn for s in c["CandidateSteps"])]
        return listed

    # --- models and endpoints ---------------------------------------------------------------------------------

    def create_model(self, name=None, sagemaker_session=None, candidate=None, vpc_config=None,
                     enable_network_isolation=False, model_kms_key=None, predictor_cls=None,
                     inference_response_keys=None) -> LocalPipelineModel:
        """The candidate's inference pipeline (the best one's unless ``candidate``), ready to `deploy`."""
        _say_no_local_effect({"vpc_config": vpc_config, "model_kms_key": model_kms_key, "predictor_cls": predictor_cls})
        best = self.best_candidate()
        chosen = candidate.get("CandidateName") if isinstance(candidate, dict) else candidate
        if chosen not in (None, best["CandidateName"]):
            raise InputError(f"candidate {chosen} has no saved model: a local job keeps the best candidate's only "
                             f"({best['CandidateName']})")
        return LocalPipelineModel(name or best["CandidateName"], self._job_dir(None), inference_response_keys)

    def deploy(self, initial_instance_count=None, instance_type=None, serializer=None, deserializer=None,
               candidate=None, sagemaker_session=None, name=None, endpoint_name=None, tags=None, wait=True,
               vpc_config=None, enable_network_isolation=False, model_kms_key=None, predictor_cls=None,
               inference_response_keys=None, volume_size=None, model_data_download_timeout=None,
               container_startup_health_check_timeout=None):
        """Start a local endpoint for the candidate and return its predictor (``predict``, ``delete_endpoint``)."""
        _say_no_local_effect({"initial_instance_count": initial_instance_count, "instance_type": instance_type,
                              "tags": tags, "volume_size": volume_size})
        model = self.create_model(name, candidate=candidate, vpc_config=vpc_config, model_kms_key=model_kms_key,
                                  inference_response_keys=inference_response_keys)
        return model.deploy(endpoint_name=endpoint_name)


class LocalPipelineModel:
    """SDK v2's ``PipelineModel`` of a candidate, served locally by `deploy`."""

    def __init__(self, name: str, job_dir: Path, inference_response_keys=None):
        self.name, self.job_dir, self.inference_response_keys = name, job_dir, inference_response_keys

    def deploy(self, initial_instance_count=None, instance_type=None, endpoint_name=None, **cloud_only):
        """Start a local endpoint for the job's best candidate and return its `serve.Predictor`."""
        _say_no_local_effect({"initial_instance_count": initial_instance_count, "instance_type": instance_type}
                             | cloud_only)
        return serve.deploy(self.job_dir, output_keys=self.inference_response_keys)


class AutoML(_AutoMLBase):
    """SDK v2's ``sagemaker.automl.automl.AutoML``: a CreateAutoMLJob (V1) job."""

    def __init__(self, role=None, target_attribute_name=None, output_kms_key=None, output_path=None,
                 base_job_name=None, compression_type=None, sagemaker_session=None, volume_kms_key=None,
                 encrypt_inter_container_traffic=None, vpc_config=None, problem_type=None, max_candidates=None,
                 max_runtime_per_training_job_in_seconds=None, total_job_runtime_in_seconds=None,
                 job_objective=None, generate_candidate_definitions_only=False, tags=None, content_type=None,
                 s3_data_type=None, feature_specification_s3_uri=None, validation_fraction=None, mode=None,
                 auto_generate_endpoint_name=None, endpoint_name=None, sample_weight_attribute_name=None):
        if not target_attribute_name:
            raise InputError("AutoML needs target_attribute_name")
        self.role, self.target_attribute_name = role, target_attribute_name
        self.problem_type, self.max_candidates = problem_type, max_candidates
        self.max_runtime_per_training_job_in_seconds = max_runtime_per_training_job_in_seconds
        self.total_job_runtime_in_seconds = total_job_runtime_in_seconds
        self.job_objective = job_objective
        self.generate_candidate_definitions_only = generate_candidate_definitions_only
        self.compression_type, self.content_type, self.s3_data_type = compression_type, content_type, s3_data_type
        self.validation_fraction, self.mode = validation_fraction, mode
        self.sample_weight_attribute_name = sample_weight_attribute_name
        self.feature_specification_s3_uri = feature_specification_s3_uri
        super().__init__(output_path, base_job_name, {
            "output_kms_key": output_kms_key, "volume_kms_key": volume_kms_key, "vpc_config": vpc_config,
            "encrypt_inter_container_traffic": encrypt_inter_container_traffic, "tags": tags,
            "auto_generate_endpoint_name": auto_generate_endpoint_name, "endpoint_name": endpoint_name,
            "sagemaker_session": sagemaker_session,
        })

    def fit(self, inputs=None, wait=True, logs=True, job_name=None) -> None:
        """Run a job on ``inputs``: a local path or ``s3://`` URI, a list of them, or an `AutoMLInput`."""
        if inputs is None:
            raise InputError("fit needs inputs: a data file path, an s3:// URI or an AutoMLInput")
        if not isinstance(inputs, AutoMLInput):
            inputs = AutoMLInput(inputs, self.target_attribute_name, self.compression_type,
                                 content_type=self.content_type, s3_data_type=self.s3_data_type,
                                 sample_weight_attribute_name=self.sample_weight_attribute_name)
        config = _present({
            "CompletionCriteria": _present({
                "MaxCandidates": self.max_candidates,
                "MaxRuntimePerTrainingJobInSeconds": self.max_runtime_per_training_job_in_seconds,
                "MaxAutoMLJobRuntimeInSeconds": self.total_job_runtime_in_seconds}) or None,
            "DataSplitConfig": {"ValidationFraction": self.validation_fraction} if self.validation_fraction else None,
            "Mode": self.mode, "SecurityConfig": _security(self._cloud_only) or None,
            "CandidateGenerationConfig": {"FeatureSpecificationS3Uri": self.feature_specification_s3_uri}
            if self.feature_specification_s3_uri else None,
        })
        request = _present({
            "InputDataConfig": inputs.to_request_dict(), "ProblemType": self.problem_type,
            "AutoMLJobObjective": _objective(self.job_objective), "AutoMLJobConfig": config or None,
            "GenerateCandidateDefinitionsOnly": self.generate_candidate_definitions_only, "RoleArn": self.role,
            "Tags": self._cloud_only.get("tags"),
        })
        self._start(request, wait, logs, job_name)

    @classmethod
    def attach(cls, auto_ml_job_name, sagemaker_session=None) -> AutoML:
        """An AutoML bound to an existing job, found by name."""
        config = JobConfig.from_request_file(JobFolder(registry.job_dir(auto_ml_job_name)).request_json)
        automl = cls(target_attribute_name=config.target, output_path=config.output_dir,
                     base_job_name=auto_ml_job_name, problem_type=config.problem_type,
                     max_candidates=config.max_candidates,
                     max_runtime_per_training_job_in_seconds=config.max_runtime_per_training_job,
                     total_job_runtime_in_seconds=config.max_job_runtime, job_objective=config.objective,
                     generate_candidate_definitions_only=config.candidate_definitions_only,
                     validation_fraction=config.validation_fraction, mode=config.mode)
        automl.current_job_name = automl.latest_auto_ml_job = auto_ml_job_name
        return automl


class AutoMLV2(_AutoMLBase):
    """SDK v2's ``sagemaker.automl.automlv2.AutoMLV2``: a CreateAutoMLJobV2 job with a tabular problem config."""

    _describe = staticmethod(api.describe_auto_ml_job_v2)

    def __init__(self, problem_config: AutoMLTabularConfig, base_job_name=None, output_path=None,
                 job_objective=None, validation_fraction=None, auto_generate_endpoint_name=None, endpoint_name=None,
                 output_kms_key=None, role=None, volume_kms_key=None, encrypt_inter_container_traffic=None,
                 vpc_config=None, tags=None, sagemaker_session=None):
        if not isinstance(problem_config, AutoMLTabularConfig):
            raise InputError("autopilot-local runs tabular problems: problem_config must be an AutoMLTabularConfig")
        self.problem_config, self.job_objective, self.role = problem_config, job_objective, role
        self.validation_fraction = validation_fraction
        super().__init__(output_path, base_job_name, {
            "output_kms_key": output_kms_key, "volume_kms_key": volume_kms_key, "vpc_config": vpc_config,
            "encrypt_inter_container_traffic": encrypt_inter_container_traffic, "tags": tags,
            "auto_generate_endpoint_name": auto_generate_endpoint_name, "endpoint_name": endpoint_name,
            "sagemaker_session": sagemaker_session,
        })

    @classmethod
    def from_auto_ml(cls, auto_ml: AutoML) -> AutoMLV2:
        """An AutoMLV2 with the settings of ``auto_ml``, as the SDK converts a V1 job's."""
        tabular = AutoMLTabularConfig(
            target_attribute_name=auto_ml.target_attribute_name, mode=auto_ml.mode,
            problem_type=auto_ml.problem_type, max_candidates=auto_ml.max_candidates,
            generate_candidate_definitions_only=auto_ml.generate_candidate_definitions_only,
            sample_weight_attribute_name=auto_ml.sample_weight_attribute_name,
            max_runtime_per_training_job_in_seconds=auto_ml.max_runtime_per_training_job_in_seconds,
            max_total_job_runtime_in_seconds=auto_ml.total_job_runtime_in_seconds,
            feature_specification_s3_uri=auto_ml.feature_specification_s3_uri,
        )
        return cls(tabular, base_job_name=auto_ml.base_job_name, output_path=auto_ml.output_path,
                   job_objective=auto_ml.job_objective, validation_fraction=auto_ml.validation_fraction,
                   role=auto_ml.role)

    def fit(self, inputs=None, wait=True, logs=True, job_name=None) -> None:
        """Run a job on ``inputs``: `AutoMLDataChannel` / `LocalAutoMLDataChannel` (or a list), or a path."""
        if inputs is None:
            raise InputError("fit needs inputs: an AutoMLDataChannel, a LocalAutoMLDataChannel or a path")
        channels = inputs if isinstance(inputs, list) else [inputs]
        channels = [c if hasattr(c, "to_request_dict") else AutoMLDataChannel("S3Prefix", str(c)) for c in channels]
        request = _present({
            "AutoMLJobInputDataConfig": [c.to_request_dict() for c in channels],
            "AutoMLProblemTypeConfig": self.problem_config.to_request_dict(),
            "AutoMLJobObjective": _objective(self.job_objective), "RoleArn": self.role,
            "DataSplitConfig": {"ValidationFraction": self.validation_fraction} if self.validation_fraction else None,
            "SecurityConfig": _security(self._cloud_only) or None, "Tags": self._cloud_only.get("tags"),
        })
        self._start(request, wait, logs, job_name)

    @classmethod
    def attach(cls, auto_ml_job_name, sagemaker_session=None) -> AutoMLV2:
        """An AutoMLV2 bound to an existing job, found by name."""
        config = JobConfig.from_request_file(JobFolder(registry.job_dir(auto_ml_job_name)).request_json)
        tabular = AutoMLTabularConfig(
            target_attribute_name=config.target, algorithms_config=list(config.algorithms), mode=config.mode,
            problem_type=config.problem_type, max_candidates=config.max_candidates,
            generate_candidate_definitions_only=config.candidate_definitions_only,
            max_runtime_per_training_job_in_seconds=config.max_runtime_per_training_job,
            max_total_job_runtime_in_seconds=config.max_job_runtime,
        )
        automl = cls(tabular, base_job_name=auto_ml_job_name, output_path=config.output_dir,
                     job_objective=config.objective, validation_fraction=config.validation_fraction)
        automl.current_job_name = automl.latest_auto_ml_job = auto_ml_job_name
        return automl


def _present(members: dict) -> dict:
    """A request structure without the members left unset, as the SDK sends it."""
    return {key: value for key, value in members.items() if value is not None}


def _objective(job_objective) -> dict | None:
    if job_objective is None:
        return None
    return job_objective if isinstance(job_objective, dict) else {"MetricName": job_objective}


def _security(cloud_only: dict) -> dict:
    return _present({"VolumeKmsKeyId": cloud_only.get("volume_kms_key"), "VpcConfig": cloud_only.get("vpc_config"),
                     "EnableInterContainerTrafficEncryption": cloud_only.get("encrypt_inter_container_traffic")})


def _job_name(base: str) -> str:
    """SDK v2's default name: the base and a timestamp, within AWS's 32 characters."""
    stamp = time.strftime("%y%m%d-%H%M%S") + f"-{int(time.time() * 1000) % 1000:03d}"
    return f"{base[: 31 - len(stamp)]}-{stamp}"


_SAID: set = set()


def _say_no_local_effect(arguments: dict) -> None:
    """Warn once per argument that a cloud-only setting does nothing here (it is still kept in the request)."""
    for name, value in arguments.items():
        if value not in (None, False, [], {}) and name not in _SAID:
            _SAID.add(name)
            warnings.warn(f"{name} has no effect on a local job; it is accepted and kept", stacklevel=3)
