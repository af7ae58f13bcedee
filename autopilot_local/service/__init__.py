"""`autopilot-local server`: SageMaker's own HTTP API, locally, so that code written for the cloud runs unchanged
with nothing but ``AWS_ENDPOINT_URL`` set.

- `protocol`: the JSON 1.1 protocol, requests checked against botocore's service model, AWS's error shapes;
- `jobs`: the service's AutoML jobs, each in a process of its own, recorded so that a restart loses none;
- `endpoints`: models, endpoint configs, endpoints, and SageMaker Runtime's InvokeEndpoint;
- `transforms`: batch transform jobs, streamed object by object, and their DataProcessing filters (`jsonpath`);
- `steps`: the candidates' training and processing steps, and tags on any resource;
- `records`: the service's resources on disk, and the list operations they share;
- `control`: SageMaker's operations served;
- `s3_mirror`: moto's S3 buckets kept under the local home between runs;
- `app`: the one WSGI application that serves them beside moto's S3, STS and IAM.
"""

from __future__ import annotations

import os
import signal
import sys

from ..errors import InputError


def serve(host: str = "127.0.0.1", port: int = 8080, max_running_jobs: int = 1, max_active_jobs: int = 100,
          max_endpoints: int = 10) -> None:
    """Answer SageMaker's, S3's and STS's APIs on ``host``:``port`` until interrupted.

    Parameters
    ----------
    host : str, default "127.0.0.1"
        The address to listen on; only this machine reaches the default.
    port : int, default 8080
        The port; 0 picks a free one (the line printed at start names it).
    max_running_jobs : int, default 1
        AutoML jobs that run at once; the others wait as InProgress / Starting.
    max_active_jobs : int, default 100
        AutoML jobs InProgress at once, running or waiting: a quota, past which a create is ResourceLimitExceeded.
    max_endpoints : int, default 10
        Endpoints at once (each holds its model in a process per core): the same kind of quota.
    """
    try:
        import moto  # noqa: F401
    except ImportError:
        raise InputError("the server needs moto: pip install 'autopilot-local[server]'") from None
    from .. import registry
    from ..serve import bind, http_server, url_of
    from .app import ServiceApp
    from .control import ControlPlane
    from .endpoints import Endpoints
    from .jobs import JobRunner
    from .s3_mirror import S3Mirror
    from .steps import Steps
    from .transforms import TransformJobs

    listening = bind(host, port)
    url = url_of(listening)
    jobs = JobRunner(url, max_running_jobs, max_active_jobs)
    endpoints = Endpoints(max_endpoints)
    transforms = TransformJobs(endpoints, url)
    # the service and its jobs read and write its own S3, which takes any credentials: a server started in a shell
    # with none must not fail its jobs for want of them
    os.environ["AWS_ENDPOINT_URL"] = url
    for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ.setdefault(name, value)
    control = ControlPlane(jobs, endpoints, transforms, Steps())
    server = http_server(ServiceApp(control, S3Mirror(registry.home() / "service" / "s3")), listening, threads=8)
    endpoints.start()
    transforms.start()
    signal.signal(signal.SIGTERM, _interrupt)
    jobs.start()
    print(f"autopilot-local server: listening on {url}; point clients at it with AWS_ENDPOINT_URL={url}",
          file=sys.stderr, flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        jobs.close()


def _interrupt(*_) -> None:
    """SIGTERM ends the server as Ctrl-C does: jobs keep running and are taken up by the next server."""
    raise KeyboardInterrupt
