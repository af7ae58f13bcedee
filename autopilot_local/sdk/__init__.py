"""The SageMaker Python SDK's AutoML surface, answered by local jobs: code written for the SDK changes only its
import.

- `automl`: SDK v2's ``sagemaker.automl`` classes, ``AutoML``, ``AutoMLV2`` and their inputs (also exported here
  and from ``autopilot_local``);
- `resources` and `shapes`: SDK v3's ``sagemaker.core.resources`` (``AutoMLJob``, ``AutoMLJobV2``) and
  ``sagemaker.core.shapes``;
- `background`: a job run in a process of its own, which both SDKs' classes start and follow.
"""

from .automl import AutoML, AutoMLDataChannel, AutoMLInput, AutoMLTabularConfig, AutoMLV2, LocalAutoMLDataChannel

__all__ = ["AutoML", "AutoMLV2", "AutoMLInput", "AutoMLTabularConfig", "AutoMLDataChannel", "LocalAutoMLDataChannel"]
