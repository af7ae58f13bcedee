"""The SageMaker Python SDK v3's AutoML resources, locally: ``sagemaker.core`` becomes ``autopilot_local.core``.

SDK v3 removed the ``AutoML`` classes; its ``sagemaker.core.resources.AutoMLJob`` / ``AutoMLJobV2`` wrap the
service calls with snake_case fields, and ``sagemaker.core.shapes`` holds the request structures.
"""
