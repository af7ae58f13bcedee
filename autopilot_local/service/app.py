"""One process, one port: SageMaker's control plane for Autopilot's jobs, and S3, STS and IAM from moto's server,
so that boto3 and the SageMaker SDKs reach all of them through botocore's ``AWS_ENDPOINT_URL``.

Requests are told apart as botocore sends them: SageMaker's carry ``X-Amz-Target: SageMaker.<Operation>``,
SageMaker Runtime's are ``POST /endpoints/<name>/invocations``; every other request goes to moto, which reads the
service from the request's signature.
"""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
import uuid
from urllib.parse import unquote

from ..serve import RequestError, payload
from ..vocabulary import ACCOUNT
from .control import ControlPlane
from .protocol import CONTENT_TYPE, ServiceError, operation, parse_request, to_wire
from .s3_mirror import MUTATING, S3Mirror

INVOCATIONS = re.compile(r"/endpoints/([^/]+)/invocations")


class ServiceApp:
    """The WSGI application behind the server.

    Parameters
    ----------
    control : ControlPlane
        SageMaker's operations served.
    mirror : S3Mirror
        Where S3's buckets are kept between runs; they are put back into moto now.
    """

    def __init__(self, control: ControlPlane, mirror: S3Mirror):
        os.environ.setdefault("MOTO_ACCOUNT_ID", ACCOUNT)  # STS and IAM answer for the account the ARNs name
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.control, self.mirror = control, mirror
        self.moto = DomainDispatcherApplication(create_backend_app)
        mirror.restore()

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("SageMaker."):
            return self._sagemaker(environ, start_response, target)
        invoked = INVOCATIONS.fullmatch(environ.get("PATH_INFO", ""))
        if invoked and environ.get("REQUEST_METHOD") == "POST":
            return self._invoke(environ, start_response, unquote(invoked.group(1)))
        if environ.get("REQUEST_METHOD") not in MUTATING:
            return self.moto(environ, start_response)
        answered = list(self.moto(environ, start_response))  # served whole before the change is mirrored
        self.mirror.sync(environ)
        return answered

    def _sagemaker(self, environ, start_response, target: str):
        try:
            model = operation("sagemaker", target)
            handler = self.control.operations.get(model.name)
            if handler is None:
                raise ServiceError("UnknownOperationException",
                                   f"autopilot-local does not serve SageMaker's {model.name} operation")
            request = parse_request(_body(environ), model)
            status, body = 200, json.dumps(to_wire(model.output_shape, handler(request))).encode()
        except ServiceError as error:
            status, body = error.status, error.body()
        except Exception as error:  # a fault of ours: AWS's shape, and the traceback where the server logs
            traceback.print_exc(file=sys.stderr)
            status, body = 500, ServiceError("InternalFailure", f"{type(error).__name__}: {error}", 500).body()
        start_response(f"{status} {'OK' if status == 200 else 'Error'}", [
            ("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ])
        return [body]

    def _invoke(self, environ, start_response, endpoint: str):
        """SageMaker Runtime's InvokeEndpoint: rest-json, its errors named in the x-amzn-ErrorType header too."""
        headers = [("x-amzn-RequestId", str(uuid.uuid4()))]
        try:
            try:
                body = payload(environ)
            except RequestError as error:
                raise ServiceError("ValidationError", f"Request payload is too large: {error}", 413) from None
            body, response_type, variant = self.control.endpoints.invoke(
                endpoint, body, environ.get("CONTENT_TYPE"), environ.get("HTTP_ACCEPT"))
            status = 200
            headers += [("Content-Type", response_type), ("x-Amzn-Invoked-Production-Variant", variant)]
        except ServiceError as error:
            status, body = error.status, error.body()
            headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", error.code)]
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            failure = ServiceError("InternalFailure", f"{type(error).__name__}: {error}", 500)
            status, body = 500, failure.body()
            headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", failure.code)]
        start_response(f"{status} {'OK' if status == 200 else 'Error'}", headers + [("Content-Length", str(len(body)))])
        return [body]


def _body(environ) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""
