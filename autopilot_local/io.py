"""Reading the training and validation tables: CSV with a header (plain, gzip or zip) and Parquet."""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from pathlib import Path

import pandas as pd

from .errors import InputError


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table the way Autopilot's channels accept it; raise `InputError` naming the file on bad input."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"data file {path} does not exist")
    if not path.is_file():
        raise InputError(f"data path {path} is not a file")
    try:
        frame = _read_parquet(path) if _is_parquet(path) else _read_csv(path)
    except InputError:
        raise
    except (OSError, EOFError, pd.errors.ParserError, zipfile.BadZipFile, ValueError) as error:
        raise InputError(f"cannot read {path}: {_first_line(error)}") from None
    if frame.shape[1] == 0:
        raise InputError(f"{path} has no columns")
    if len(frame) == 0:
        raise InputError(f"{path} has a header but no data rows")
    return frame


def _is_parquet(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"PAR1"


def _read_parquet(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    _check_columns(list(frame.columns), path)
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    with _open_binary(path) as handle:
        text = _decode(handle.read())
    if not text.strip():
        raise InputError(f"{path} is empty")
    header = next(csv.reader(io.StringIO(text)))
    _check_columns(header, path)
    return pd.read_csv(io.StringIO(text), low_memory=False)


def _decode(raw: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else Windows-1252, else Latin-1, as spreadsheets export."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return raw.decode("latin-1")


def _open_binary(path: Path):
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb")
    if magic == b"PK\x03\x04":
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.namelist() if not m.endswith("/") and not m.startswith("__MACOSX")]
        if len(members) != 1:
            raise InputError(f"zip archive {path} must hold exactly one data file, found {len(members)}")
        return archive.open(members[0])
    return open(path, "rb")


def _check_columns(header: list, path: Path) -> None:
    seen = set()
    for name in map(str, header):
        if name.strip() and name in seen:
            raise InputError(f"{path} has duplicate column name {name!r}")
        seen.add(name)


def _first_line(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
