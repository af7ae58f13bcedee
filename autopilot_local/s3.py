"""S3 where Autopilot takes it: input data read from a bucket, the job folder mirrored to the output path.

A local job needs local files, so an ``s3://`` input is downloaded into a cache under the local home
(`registry.home()`), and a job whose output path is ``s3://bucket/prefix`` runs in a local staging folder that is
uploaded to ``s3://bucket/prefix/<job>/`` with Autopilot's layout when the job ends. boto3 finds credentials, region and
endpoint as it always does (``AWS_ENDPOINT_URL`` points it at another S3, e.g. a moto server or MinIO).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from .errors import InputError
from .registry import home

SCHEME = "s3://"


def is_s3(uri) -> bool:
    """Whether ``uri`` is an ``s3://`` URI."""
    return str(uri).startswith(SCHEME)


def split(uri: str) -> tuple[str, str]:
    """The bucket and key of an ``s3://`` URI; `InputError` if it names no bucket."""
    bucket, _, key = uri[len(SCHEME):].partition("/")
    if not bucket:
        raise InputError(f"{uri} names no bucket")
    return bucket, key


def staging(uri: str) -> Path:
    """The local folder that stands for an ``s3://`` output path while a job runs."""
    bucket, key = split(uri)
    parts = key.strip("/").split("/")
    if any(part in (".", "..") or "\0" in part for part in parts) or "\0" in bucket or bucket in (".", ".."):
        raise InputError(f"{uri} names a path segment ('.', '..' or a NUL byte) that a local folder cannot stand for")
    return home() / "s3-staging" / bucket / key.strip("/")


def download(uri: str) -> Path:
    """The one object at ``uri`` (a key, or a prefix holding one file), as a local file in the cache."""
    client, errors = _client()
    bucket, key = split(uri)
    try:
        listed = client.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
    except errors as error:
        raise InputError(f"cannot read {uri}: {error}") from None
    files = [item["Key"] for item in listed if not item["Key"].endswith("/")]
    chosen = [k for k in files if k == key] or files
    if len(chosen) != 1:
        raise InputError(f"{uri} holds {len(chosen)} objects; autopilot-local reads one file per channel")
    target = _cached(bucket, chosen[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)  # each download its own partial file: two at once of one key do not collide
    try:
        client.download_file(bucket, chosen[0], partial)
        os.replace(partial, target)
    except errors as error:
        raise InputError(f"cannot download s3://{bucket}/{chosen[0]}: {error}") from None
    finally:
        Path(partial).unlink(missing_ok=True)
    return target


def _cached(bucket: str, key: str) -> Path:
    """Where the object ``key`` of ``bucket`` is cached: under a hash of both, so that no key (``..``, an absolute
    path) names a file outside the cache, with the key's last part as the file's name (its suffix tells the format)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", key.rpartition("/")[2]).lstrip(".") or "object"
    return home() / "s3-cache" / hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:16] / name


def upload_folder(folder: Path, uri: str, replaced: dict[str, str] | None = None) -> None:
    """Copy every file below ``folder`` to ``uri`` + its relative path (the job folder's layout, key for key);
    ``replaced`` gives the text to write instead for some relative paths (the final documents, written before the
    local files say that the job has ended)."""
    client, errors = _client()
    bucket, prefix = split(uri)
    prefix = prefix.rstrip("/")
    replaced = replaced or {}
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file() and not p.name.startswith(".")):
        relative = path.relative_to(folder).as_posix()
        key = "/".join(filter(None, (prefix, relative)))
        try:
            if relative in replaced:
                client.put_object(Bucket=bucket, Key=key, Body=replaced[relative].encode("utf-8"))
            else:
                client.upload_file(str(path), bucket, key)
        except errors as error:
            raise InputError(f"cannot write s3://{bucket}/{key}: {error}") from None


def _client():
    try:
        import boto3
        import botocore.exceptions
    except ImportError:
        raise InputError("s3:// paths need boto3: pip install 'autopilot-local[s3]'") from None
    return boto3.client("s3"), (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)
