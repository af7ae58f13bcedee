"""Reading the training and validation tables: CSV with a header (plain, gzip or zip) and Parquet."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

import pandas as pd

from . import s3
from .errors import InputError

# Spreadsheets export CSV with commas, or semicolons where the comma is the decimal mark, or tabs; pipes are common
# in database dumps. The first SNIFF_ROWS records decide.
DELIMITERS = (",", ";", "\t", "|")
SNIFF_ROWS = 50
SAMPLE_BYTES = 1 << 20  # what a streamed CSV's encoding and delimiter are chosen from
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d*,\d+\s*$")
_DECIMAL_POINT = re.compile(r"^\s*[-+]?\d*\.\d+\s*$")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table the way Autopilot's channels accept it.

    Parameters
    ----------
    path : str or Path
        A CSV file with a header (plain, ``.gz`` or ``.zip``; its encoding, delimiter and decimal mark are
        detected) or a Parquet file, local or ``s3://``.

    Raises
    ------
    InputError
        Naming the file, on a file that cannot be read as a table.
    """
    path = _local_file(path)
    with _reading(path):
        frame = _read_parquet(path) if _is_parquet(path) else _read_csv(path)
    if frame.shape[1] == 0:
        raise InputError(f"{path} has no columns")
    if len(frame) == 0:
        raise InputError(f"{path} has a header but no data rows")
    return frame


def read_table_chunks(path: str | Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """`read_table`, ``chunk_rows`` rows at a time, so memory stays flat whatever the file's length (batch
    transform). A CSV's encoding and delimiter are chosen from its first MB: a stream cannot be read twice."""
    path = _local_file(path)
    with _reading(path):
        if _is_parquet(path):
            yield from _parquet_chunks(path, chunk_rows)
        else:
            yield from _csv_chunks(path, chunk_rows)


def _local_file(path: str | Path) -> Path:
    if s3.is_s3(path):  # a local copy, read like any other file
        path = s3.download(str(path))
    path = Path(path)
    if not path.exists():
        raise InputError(f"data file {path} does not exist")
    if not path.is_file():
        raise InputError(f"data path {path} is not a file")
    return path


@contextmanager
def _reading(path: Path):
    """Any failure to read ``path`` as an `InputError` that names it."""
    try:
        yield
    except InputError:
        raise
    except (OSError, EOFError, UnicodeDecodeError, pd.errors.ParserError, zipfile.BadZipFile, ValueError) as error:
        raise InputError(f"cannot read {path}: {_first_line(error)}") from None


def _is_parquet(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"PAR1"


def _read_parquet(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    _check_columns(list(frame.columns), path)
    return frame


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    _check_columns(parquet.schema_arrow.names, path)
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        yield batch.to_pandas()


def _read_csv(path: Path) -> pd.DataFrame:
    with _open_binary(path) as handle:
        raw = handle.read()
    text = raw.decode(_encoding(raw))
    return pd.read_csv(io.StringIO(text), low_memory=False, **_csv_layout(text, path))


def _csv_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    with _open_binary(path) as handle:
        sample = handle.read(SAMPLE_BYTES)
    encoding = _encoding(sample)
    layout = _csv_layout(codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample), path)
    with _open_binary(path) as handle, io.TextIOWrapper(handle, encoding=encoding) as stream:
        with pd.read_csv(stream, low_memory=False, chunksize=chunk_rows, **layout) as reader:
            yield from reader


def _csv_layout(text: str, path: Path) -> dict:
    """The delimiter and decimal mark of a CSV's ``text`` (all of it, or its beginning), its header checked."""
    if not text.strip():
        raise InputError(f"{path} is empty")
    if "\0" in text:
        raise InputError(f"{path} holds NUL bytes: it is not a text CSV (a binary file, or UTF-16 without a "
                         "byte-order mark); save it as CSV in UTF-8")
    delimiter, rows = _sniff(text)
    _check_columns(rows[0], path)
    return {"sep": delimiter, "decimal": _decimal_mark(delimiter, rows)}


def _sniff(text: str) -> tuple[str, list[list[str]]]:
    """Of the delimiters that split the header, one that splits every first record into as many fields, then the
    one giving most fields (the comma on ties); and those records, as that delimiter reads them."""
    best = None
    for delimiter in DELIMITERS:
        try:
            rows = [row for row in islice(csv.reader(_lines(text), delimiter=delimiter), SNIFF_ROWS) if row]
        except csv.Error:  # a field too long for the csv module: not this delimiter's records
            continue
        rows = rows or [[]]
        score = (len(rows[0]) > 1, len({len(row) for row in rows}) == 1, len(rows[0]))
        if best is None or score > best[0]:
            best = (score, delimiter, rows)
    if best is None:
        raise ValueError(f"none of the delimiters {', '.join(map(repr, DELIMITERS))} reads its first records")
    return best[1], best[2]


def _lines(text: str):
    """The lines of ``text`` one at a time (the csv reader takes as many as its records span)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start) + 1 or len(text)
        yield text[start:end]
        start = end


def _decimal_mark(delimiter: str, rows: list[list[str]]) -> str:
    """A comma where fields are not comma-separated and numbers like "1,5" outnumber those like "1.5" (European
    spreadsheets' semicolon and tab exports); else a point."""
    if delimiter == ",":
        return "."
    cells = [cell for row in rows[1:] for cell in row]
    commas = sum(_DECIMAL_COMMA.match(cell) is not None for cell in cells)
    points = sum(_DECIMAL_POINT.match(cell) is not None for cell in cells)
    return "," if commas > points else "."


def _encoding(raw: bytes) -> str:
    """UTF-16 with a byte-order mark (Excel's "Unicode text"), else UTF-8 (with or without a byte-order mark),
    else Windows-1252, else Latin-1, as spreadsheets export. ``raw`` may be a file's beginning: a character cut at
    its end is no error."""
    if raw[:2] in _UTF16_BOMS:
        return "utf-16"  # a broken one raises UnicodeDecodeError: "cannot read" names the byte
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(raw)
            return encoding
        except UnicodeDecodeError:
            pass
    return "latin-1"


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
