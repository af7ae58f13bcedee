"""Reading tables: every format Autopilot's channels take, and the encodings spreadsheets write."""

from __future__ import annotations

import gzip
import zipfile

import pandas as pd
import pytest

from autopilot_local.errors import InputError
from autopilot_local.io import read_table

FRAME = pd.DataFrame({"ville": ["Orléans", "Besançon", "Nîmes"], "prix": [1.5, 2.0, 3.25]})


@pytest.mark.parametrize("kind", ["csv", "gz", "zip", "parquet", "latin-1", "bom", "utf-16"])
def test_formats_read_the_same_table(tmp_path, kind):
    text = FRAME.to_csv(index=False)
    path = tmp_path / f"t.{kind}"
    if kind == "csv":
        path.write_text(text, encoding="utf-8")
    elif kind == "gz":
        path.write_bytes(gzip.compress(text.encode()))
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("inner.csv", text)
    elif kind == "parquet":
        FRAME.to_parquet(path)
    elif kind == "latin-1":
        path.write_bytes(text.encode("latin-1"))
    elif kind == "utf-16":
        path.write_bytes(text.encode("utf-16"))
    else:
        path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    frame = read_table(path)
    assert list(frame.columns) == ["ville", "prix"]
    assert frame["ville"].tolist() == FRAME["ville"].tolist()
    assert frame["prix"].tolist() == FRAME["prix"].tolist()


@pytest.mark.parametrize("text, columns, values", [
    ('a;b;note\n1,5;2;"x;\ny"\n2,25;3;z\n', ["a", "b", "note"], [1.5, 2.25]),  # decimal commas, a quoted line break
    ("a;b\n1.5;2\n2.25;3\n", ["a", "b"], [1.5, 2.25]),
    ("a\tb\n1,5\t2\n2,25\t3\n", ["a", "b"], [1.5, 2.25]),
    ("a|b\n1.5|2\n2.25|3\n", ["a", "b"], [1.5, 2.25]),
    ('a,b\n1.5,"2;3|4"\n2.25,x\n', ["a", "b"], [1.5, 2.25]),
    ("only\n1.5\n2.25\n", ["only"], [1.5, 2.25]),
])
def test_delimiter_and_decimal_mark_are_sniffed(tmp_path, text, columns, values):
    path = tmp_path / "t.csv"
    path.write_text(text)
    frame = read_table(path)
    assert list(frame.columns) == columns
    assert frame[columns[0]].tolist() == values


def test_zip_with_several_files_is_refused(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "a\n1\n")
        archive.writestr("b.csv", "b\n2\n")
    with pytest.raises(InputError, match="exactly one data file"):
        read_table(path)


def test_real_zip_and_gzip_listings(airbnb):
    seattle = read_table(airbnb / "seattle_2016-01_listings.csv.zip")
    boston = read_table(airbnb / "boston_2024-06_listings.csv.gz")
    assert seattle.shape == (3818, 92)
    assert boston.shape == (4325, 75)
