"""moto's S3 keeps its buckets in memory; the service mirrors every bucket and object it changes under the local
home, and puts them back when it starts, so that a restarted (or killed) server loses no data: a resumed job
still reads its input and writes its output.

Each object lies in its bucket's folder under a name made from a hash of its key (beside a file holding the key),
so no key (``..``, an absolute path, a NUL byte) can name a file outside the mirror.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from urllib.parse import unquote

from ..files import write_atomic
from ..vocabulary import ACCOUNT

MUTATING = frozenset({"PUT", "POST", "DELETE"})


class S3Mirror:
    """The on-disk copy of moto's S3 buckets.

    Parameters
    ----------
    root : Path
        The folder the buckets are mirrored into.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    @staticmethod
    def _backend():
        from moto.s3.models import s3_backends

        return s3_backends[ACCOUNT]["aws"]

    def restore(self) -> int:
        """Put every mirrored bucket and object back into moto; return how many objects came back."""
        backend, restored = self._backend(), 0
        for folder in sorted(p for p in self.root.glob("*") if p.is_dir()) if self.root.exists() else []:
            name = (folder / ".bucket").read_text(encoding="utf-8")
            region = (folder / ".region").read_text(encoding="utf-8")
            if name not in backend.buckets:
                backend.create_bucket(name, region)
            for key_file in folder.glob("*.key"):
                backend.put_object(name, key_file.read_text(encoding="utf-8"),
                                   key_file.with_suffix(".data").read_bytes())
                restored += 1
        return restored

    def sync(self, environ) -> None:
        """After moto served a request that may have changed a bucket or an object, copy what it changed."""
        if environ.get("REQUEST_METHOD") not in MUTATING or _service(environ) != "s3":
            return
        bucket, _, key = unquote(environ.get("PATH_INFO", "")).lstrip("/").partition("/")
        if not bucket:
            return
        backend, folder = self._backend(), self._bucket_folder(bucket)
        if bucket not in backend.buckets:
            shutil.rmtree(folder, ignore_errors=True)
            return
        if not folder.exists():
            write_atomic(folder / ".bucket", bucket)
            write_atomic(folder / ".region", backend.buckets[bucket].region_name)
        if key:
            self._sync_key(backend, folder, bucket, key)
        else:  # a bucket-wide change (DeleteObjects): drop what moto no longer holds
            for key_file in folder.glob("*.key"):
                self._sync_key(backend, folder, bucket, key_file.read_text(encoding="utf-8"))

    @staticmethod
    def _sync_key(backend, folder: Path, bucket: str, key: str) -> None:
        stored = backend.get_object(bucket, key)
        entry = folder / hashlib.sha256(key.encode()).hexdigest()
        if stored is None:
            entry.with_suffix(".key").unlink(missing_ok=True)
            entry.with_suffix(".data").unlink(missing_ok=True)
        else:
            write_atomic(entry.with_suffix(".data"), stored.value)
            write_atomic(entry.with_suffix(".key"), key)

    def _bucket_folder(self, bucket: str) -> Path:
        return self.root / hashlib.sha256(bucket.encode()).hexdigest()


def _service(environ) -> str | None:
    """The service a SigV4-signed request was signed for ("s3", "sts", ...)."""
    credential = environ.get("HTTP_AUTHORIZATION", "").split("Credential=", 1)[-1].split(",")[0]
    parts = credential.split("/")
    return parts[3] if len(parts) == 5 else None
