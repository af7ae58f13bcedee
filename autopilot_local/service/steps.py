"""The steps a job's candidates name (CandidateSteps), described as SageMaker describes them, and tags on any
resource's ARN: what the SDKs and AWS's notebooks call beside the job itself."""

from __future__ import annotations

import threading

from .. import registry
from ..artifacts import IMAGE
from ..errors import InputError
from ..files import JobFolder, read_json, write_json
from ..vocabulary import COMPLETED
from .protocol import not_found


class Steps:
    """DescribeTrainingJob and DescribeProcessingJob of the jobs' candidate steps, and AddTags / ListTags /
    DeleteTags."""

    def __init__(self):
        self.tags_file = registry.home() / "service" / "tags.json"
        self.lock = threading.Lock()
        self.operations = {"DescribeTrainingJob": self.describe_training_job,
                           "DescribeProcessingJob": self.describe_processing_job,
                           "AddTags": self.add_tags, "ListTags": self.list_tags, "DeleteTags": self.delete_tags}

    def describe_training_job(self, request: dict) -> dict:
        """A candidate's training step: fitting its dpp's transform, or its algorithm."""
        name = request["TrainingJobName"]
        job, candidate, step = _step(name, "AWS::SageMaker::TrainingJob")
        folder = JobFolder(job)
        status = candidate["CandidateStatus"]  # a step ends as its candidate did
        containers = candidate.get("InferenceContainers", [])
        artifacts = next((c["ModelDataUrl"] for c in containers if c["ModelDataUrl"].endswith(".joblib")
                          and name in c["ModelDataUrl"]), folder.location(folder.root))
        described = {
            "TrainingJobName": name, "TrainingJobArn": step["CandidateStepArn"],
            "ModelArtifacts": {"S3ModelArtifacts": artifacts}, "TrainingJobStatus": status,
            "SecondaryStatus": status, "AlgorithmSpecification": {"TrainingImage": f"{IMAGE}/training",
                                                                  "TrainingInputMode": "File"},
            "StoppingCondition": {}, "CreationTime": candidate["CreationTime"],
            "TrainingStartTime": candidate["CreationTime"], "LastModifiedTime": candidate["LastModifiedTime"],
        }
        if "EndTime" in candidate:
            described["TrainingEndTime"] = candidate["EndTime"]
        if candidate.get("FailureReason"):
            described["FailureReason"] = candidate["FailureReason"]
        return described

    def describe_processing_job(self, request: dict) -> dict:
        """The job's analysis step, which every candidate names first."""
        name = request["ProcessingJobName"]
        job, candidate, step = _step(name, "AWS::SageMaker::ProcessingJob")
        return {
            "ProcessingJobName": name, "ProcessingJobArn": step["CandidateStepArn"],
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                      "VolumeSizeInGB": 1}},
            "AppSpecification": {"ImageUri": f"{IMAGE}/analysis"}, "ProcessingJobStatus": COMPLETED,
            "CreationTime": read_json(JobFolder(job).job_json)["CreationTime"],
        }

    # --- tags ---------------------------------------------------------------------------------------------------

    def add_tags(self, request: dict) -> dict:
        """AddTags: a key given again takes the new value."""
        with self.lock:
            every = self._every()
            tags = {t["Key"]: t["Value"] for t in every.get(request["ResourceArn"], [])}
            tags |= {t["Key"]: t.get("Value", "") for t in request["Tags"]}
            every[request["ResourceArn"]] = [{"Key": k, "Value": v} for k, v in tags.items()]
            write_json(self.tags_file, every)
        return {"Tags": every[request["ResourceArn"]]}

    def list_tags(self, request: dict) -> dict:
        """ListTags (one page: a resource has at most 50 tags)."""
        return {"Tags": self._every().get(request["ResourceArn"], [])}

    def delete_tags(self, request: dict) -> dict:
        """DeleteTags."""
        with self.lock:
            every = self._every()
            every[request["ResourceArn"]] = [t for t in every.get(request["ResourceArn"], [])
                                             if t["Key"] not in request["TagKeys"]]
            write_json(self.tags_file, every)
        return {}

    def _every(self) -> dict:
        try:
            return read_json(self.tags_file)
        except (FileNotFoundError, ValueError):
            return {}


def _step(name: str, kind: str) -> tuple:
    """The job folder, candidate and step that name the step ``name`` of type ``kind``."""
    for job_name in registry.names():
        try:
            folder = JobFolder(registry.job_dir(job_name))
        except InputError:
            continue
        if not folder.candidates_json.exists():
            continue
        for candidate in read_json(folder.candidates_json)["Candidates"]:
            for step in candidate["CandidateSteps"]:
                if step["CandidateStepName"] == name and step["CandidateStepType"] == kind:
                    return folder.root, candidate, step
    raise not_found(f"Requested resource not found: {name}")
