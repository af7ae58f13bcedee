"""Models, endpoint configs and endpoints, and SageMaker Runtime's InvokeEndpoint on the endpoints they make.

A model is the inference containers of a candidate (as ListCandidatesForAutoMLJob and BestCandidate give them):
the container that holds the candidate's model file (the others are its dpp's transforms, which that file already
chains) and the inference keys its Environment asks for. An endpoint loads its model in the background (Creating,
then InService) into processes of its own, one per core, as an endpoint's instances hold it (`serve.ModelProcesses`),
and answers invocations with the inference contract of Autopilot's containers (`serve.ModelEndpoint`);
UpdateEndpoint loads the new model first and swaps it in, so no request goes unanswered.
"""

from __future__ import annotations

import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

from .. import registry, s3
from ..errors import InputError
from ..files import JobFolder
from ..job import candidate_model_file
from ..serve import ModelProcesses, RequestError
from ..vocabulary import ACCOUNT, MAX_MESSAGE
from .protocol import ServiceError, limit_exceeded, validation
from .records import Records, page

IN_SERVICE, CREATING, UPDATING, FAILED = "InService", "Creating", "Updating", "Failed"
LOAD_WAIT_SECONDS = 120  # how long an invocation waits for the model of an endpoint that is loading it


@dataclass
class LiveEndpoint:
    """An endpoint's loaded model and the production variant that serves it."""

    model: ModelProcesses
    variant: str


class Endpoints:
    """The service's models, endpoint configs and endpoints, and the live model behind each endpoint.

    Parameters
    ----------
    max_endpoints : int, default 10
        Endpoints at once; another is ResourceLimitExceeded, as a quota makes it.
    """

    def __init__(self, max_endpoints: int = 10):
        self.max_endpoints = max_endpoints  # each holds its model in a process per core: a laptop's memory is finite
        self.models = Records("model", "Model")
        self.configs = Records("endpoint-config", "Endpoint configuration")
        self.endpoints = Records("endpoint", "Endpoint")
        self.live: dict[str, LiveEndpoint] = {}
        self.loading: dict[str, threading.Event] = {}  # endpoints whose model is on its way, and none before it
        self.operations = {
            "CreateModel": self.create_model, "DescribeModel": self.describe_model, "ListModels": self.list_models,
            "DeleteModel": self.delete_model,
            "CreateEndpointConfig": self.create_endpoint_config,
            "DescribeEndpointConfig": self.describe_endpoint_config,
            "ListEndpointConfigs": self.list_endpoint_configs, "DeleteEndpointConfig": self.delete_endpoint_config,
            "CreateEndpoint": self.create_endpoint, "DescribeEndpoint": self.describe_endpoint,
            "ListEndpoints": self.list_endpoints, "UpdateEndpoint": self.update_endpoint,
            "DeleteEndpoint": self.delete_endpoint,
        }

    def start(self) -> None:
        """Bring back every endpoint recorded before: each loads its model again and is InService."""
        for name in self.endpoints.names():
            record = self.endpoints.get(name)
            if record["EndpointStatus"] != FAILED:
                self._load_in_background(name, record["EndpointConfigName"])

    # --- models -------------------------------------------------------------------------------------------------

    def create_model(self, request: dict) -> dict:
        """CreateModel: the containers must hold a candidate's model file that the service can read."""
        if not request.get("Containers") and "PrimaryContainer" not in request:
            raise validation("Either PrimaryContainer or Containers must be given")
        model_file(containers_of(request), build=False)
        record = self.models.create(request["ModelName"], {key: request[key] for key in (
            "ModelName", "PrimaryContainer", "Containers", "ExecutionRoleArn", "InferenceExecutionConfig")
            if key in request})
        return {"ModelArn": record["Arn"]}

    def describe_model(self, request: dict) -> dict:
        """DescribeModel."""
        record = self.models.get(request["ModelName"])
        return _without(record, "Arn") | {"ModelArn": record["Arn"]}

    def list_models(self, request: dict) -> dict:
        """ListModels."""
        items = [{"ModelName": r["ModelName"], "ModelArn": r["Arn"], "CreationTime": r["CreationTime"]}
                 for r in map(self.models.get, self.models.names())]
        found = page(items, request, "ModelName", {"Name": "ModelName", "CreationTime": "CreationTime"})
        return {"Models": found.pop("items")} | found

    def delete_model(self, request: dict) -> dict:
        """DeleteModel."""
        self.models.delete(request["ModelName"])
        return {}

    # --- endpoint configs ---------------------------------------------------------------------------------------

    def create_endpoint_config(self, request: dict) -> dict:
        """CreateEndpointConfig: one production variant, naming a model the service has."""
        for variant in request["ProductionVariants"]:
            self.models.get(variant["ModelName"])
        record = self.configs.create(request["EndpointConfigName"], {key: request[key] for key in (
            "EndpointConfigName", "ProductionVariants", "DataCaptureConfig", "KmsKeyId") if key in request})
        return {"EndpointConfigArn": record["Arn"]}

    def describe_endpoint_config(self, request: dict) -> dict:
        """DescribeEndpointConfig."""
        record = self.configs.get(request["EndpointConfigName"])
        return _without(record, "Arn", "LastModifiedTime") | {"EndpointConfigArn": record["Arn"]}

    def list_endpoint_configs(self, request: dict) -> dict:
        """ListEndpointConfigs."""
        items = [{"EndpointConfigName": r["EndpointConfigName"], "EndpointConfigArn": r["Arn"],
                  "CreationTime": r["CreationTime"]} for r in map(self.configs.get, self.configs.names())]
        found = page(items, request, "EndpointConfigName", {"Name": "EndpointConfigName",
                                                            "CreationTime": "CreationTime"})
        return {"EndpointConfigs": found.pop("items")} | found

    def delete_endpoint_config(self, request: dict) -> dict:
        """DeleteEndpointConfig."""
        self.configs.delete(request["EndpointConfigName"])
        return {}

    # --- endpoints ----------------------------------------------------------------------------------------------

    def create_endpoint(self, request: dict) -> dict:
        """CreateEndpoint: answered at once, Creating until its model is loaded."""
        name, config = request["EndpointName"], request["EndpointConfigName"]
        self.configs.get(config)
        if name not in self.endpoints.names() and len(self.endpoints.names()) >= self.max_endpoints:
            raise limit_exceeded("Maximum number of endpoints", self.max_endpoints, "Endpoints")
        record = self.endpoints.create(name, {"EndpointName": name, "EndpointConfigName": config,
                                              "EndpointStatus": CREATING})
        self._load_in_background(name, config)
        return {"EndpointArn": record["Arn"]}

    def update_endpoint(self, request: dict) -> dict:
        """UpdateEndpoint: the new config's model is loaded beside the old one, then swapped in."""
        name, config = request["EndpointName"], request["EndpointConfigName"]
        record = self.endpoints.get(name)
        self.configs.get(config)
        if record["EndpointStatus"] in (CREATING, UPDATING):
            self.endpoints.busy(name, f"is {record['EndpointStatus']}: wait until it is InService")
        self.endpoints.update(name, EndpointStatus=UPDATING)
        self._load_in_background(name, config)
        return {"EndpointArn": record["Arn"]}

    def describe_endpoint(self, request: dict) -> dict:
        """DescribeEndpoint."""
        record = self.endpoints.get(request["EndpointName"])
        variants = self.configs.get(record["EndpointConfigName"])["ProductionVariants"] if self.configs.path(
            record["EndpointConfigName"]).exists() else []  # its config may have been deleted since
        return _without(record, "Arn") | {"EndpointArn": record["Arn"], "ProductionVariants": [
            {"VariantName": v["VariantName"], "CurrentWeight": v.get("InitialVariantWeight", 1.0),
             "DesiredWeight": v.get("InitialVariantWeight", 1.0),
             "CurrentInstanceCount": v.get("InitialInstanceCount", 1),
             "DesiredInstanceCount": v.get("InitialInstanceCount", 1)} for v in variants]}

    def list_endpoints(self, request: dict) -> dict:
        """ListEndpoints."""
        items = [{"EndpointName": r["EndpointName"], "EndpointArn": r["Arn"], "CreationTime": r["CreationTime"],
                  "LastModifiedTime": r["LastModifiedTime"], "EndpointStatus": r["EndpointStatus"]}
                 for r in map(self.endpoints.get, self.endpoints.names())]
        found = page(items, request, "EndpointName", {"Name": "EndpointName", "CreationTime": "CreationTime"})
        return {"Endpoints": found.pop("items")} | found

    def delete_endpoint(self, request: dict) -> dict:
        """DeleteEndpoint: it stops answering at once."""
        self.endpoints.delete(request["EndpointName"])
        live = self.live.pop(request["EndpointName"], None)
        if live is not None:
            threading.Thread(target=live.model.close, daemon=True).start()
        return {}

    def _load_in_background(self, name: str, config: str) -> None:
        if name not in self.live:
            self.loading[name] = threading.Event()
        threading.Thread(target=self._load, args=(name, config), name=f"load-{name}", daemon=True).start()

    def _load(self, name: str, config: str) -> None:
        try:
            variant = self.configs.get(config)["ProductionVariants"][0]
            path, keys = model_file(containers_of(self.models.get(variant["ModelName"])))
            processes = ModelProcesses(path, keys)
            if name not in self.endpoints.names():  # deleted while its model loaded
                processes.close()
                return
            replaced = self.live.get(name)
            self.live[name] = LiveEndpoint(processes, variant["VariantName"])
            self.endpoints.update(name, EndpointStatus=IN_SERVICE, EndpointConfigName=config)
            if replaced is not None:  # UpdateEndpoint: the old model's processes end once they have answered
                replaced.model.close()
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            reason = error.message if isinstance(error, ServiceError) else f"{type(error).__name__}: {error}"
            if name in self.endpoints.names():
                self.endpoints.update(name, EndpointStatus=FAILED, FailureReason=reason[:MAX_MESSAGE])
        finally:
            loaded = self.loading.pop(name, None)
            if loaded is not None:
                loaded.set()

    # --- SageMaker Runtime --------------------------------------------------------------------------------------

    def invoke(self, name: str, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str, str]:
        """InvokeEndpoint: the response body, its type, and the variant that answered."""
        live = self.live.get(name)
        if live is None and (loading := self.loading.get(name)) is not None:
            loading.wait(timeout=LOAD_WAIT_SECONDS)  # a restarted server's endpoints are InService, loading again
            live = self.live.get(name)
        if live is None:
            if name in self.endpoints.names():
                raise ServiceError("ValidationError", f"Endpoint {name} is not in service: it is "
                                   f"{self.endpoints.get(name)['EndpointStatus']}")
            raise ServiceError("ValidationError", f"Endpoint {name} of account {ACCOUNT} not found.")
        try:
            answer, response_type = live.model.invoke(body, content_type, accept)
        except RequestError as error:  # the container refused the request: SageMaker relays it as a ModelError
            raise ServiceError("ModelError", f"Received client error ({int(error.status)}) from primary with message "
                               f'"{error}".', 424) from None
        return answer, response_type, live.variant


def containers_of(model: dict) -> list[dict]:
    """A CreateModel request's (or a model record's) containers, whichever way it gives them."""
    return model.get("Containers") or [model["PrimaryContainer"]]


def model_file(containers: list[dict], build: bool = True) -> tuple[Path, str | None]:
    """The candidate's model file among ``containers`` and the inference keys their Environment asks for.

    A candidate other than its job's best has its model built the first time it is asked for (with ``build``;
    without, only whether it can be is checked, as CreateModel does). ValidationException (as CreateModel's) when no
    container names the model file of a candidate of a job this service knows, or a file in its home.
    """
    keys = None
    for container in containers:
        keys = container.get("Environment", {}).get("SAGEMAKER_INFERENCE_OUTPUT", keys)
    for container in containers:
        if "AUTOML_TRANSFORM_MODE" in container.get("Environment", {}) or "ModelDataUrl" not in container:
            continue  # a dpp's transform: the candidate's model file chains it already
        url = container["ModelDataUrl"]
        try:
            path = s3.staging(url) if s3.is_s3(url) else Path(url)
        except InputError as error:
            raise validation(str(error)) from None
        job_dir = _job_holding(path)
        if job_dir is not None and not path.is_file():
            return (_built(job_dir, path) if build else path), keys
        if job_dir is None and s3.is_s3(url):
            try:
                path = s3.download(url)
            except InputError as error:
                raise validation(f"Could not find model data at {url}: {error}") from None
        if not path.is_file() or (job_dir is None and not path.resolve().is_relative_to(registry.home().resolve())):
            raise validation(f"Could not find model data at {url} (a model file of a job this service knows)")
        return path, keys
    raise validation("No container names the model data of a candidate (ModelDataUrl)")


def _job_holding(path: Path) -> Path | None:
    """The folder of the job the service knows that ``path`` lies in; nothing outside those is ever read (or
    unpickled), but for the service's own home."""
    path = path.resolve()
    for name in registry.names():
        try:
            root = registry.job_dir(name).resolve()
        except InputError:  # recorded, but its folder is gone
            continue
        if path.is_relative_to(root):
            return root
    return None


def _built(job_dir: Path, path: Path) -> Path:
    """The model of the candidate whose file ``path`` is to be."""
    candidate = JobFolder(job_dir).candidate_of(path)
    if candidate is None:
        raise validation(f"Could not find model data at {path}: no candidate's model is kept there")
    try:
        return candidate_model_file(job_dir, candidate)
    except InputError as error:
        raise validation(f"Could not find model data at {path}: {error}") from None


def _without(record: dict, *keys: str) -> dict:
    return {key: value for key, value in record.items() if key not in keys}
