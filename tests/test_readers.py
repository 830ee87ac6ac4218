import gzip
import json

import pandas as pd
import pytest

from seqlab.data.readers import read_labeled
from seqlab.errors import DataError

ROWS = [("i feel great", "joy"), ("i feel awful; really", "sadness"), ("so scared", "fear")]


def frame() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2, 3], "sentence": [t for t, _ in ROWS],
                         "emotion": [label for _, label in ROWS]})


@pytest.mark.parametrize("suffix", ["csv", "tsv", "jsonl", "parquet", "txt", "csv.gz"])
def test_every_format_reads_the_same_records(tmp_path, suffix):
    path = tmp_path / f"data.{suffix}"
    df = frame()
    if suffix == "csv":
        df.to_csv(path, index=False)
    elif suffix == "csv.gz":
        path.write_bytes(gzip.compress(df.to_csv(index=False).encode()))
    elif suffix == "tsv":
        df.to_csv(path, index=False, sep="\t")
    elif suffix == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in df.to_dict("records")))
    elif suffix == "parquet":
        df.to_parquet(path)
    else:
        path.write_text("".join(f"{t};{label}\n" for t, label in ROWS))
    data = read_labeled(path)
    assert data.texts == [t for t, _ in ROWS]  # the `lines` reader splits on the last ';'
    assert data.labels == [label for _, label in ROWS]


def test_format_can_be_overridden(tmp_path):
    path = tmp_path / "data.dat"
    frame().to_csv(path, index=False)
    with pytest.raises(DataError, match="--format"):
        read_labeled(path)
    assert len(read_labeled(path, fmt="csv")) == 3


def test_integer_labels_map_to_names(tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame({"text": ["a", "b", "c"], "label": [0, 1, 2]}).to_csv(path, index=False)
    data = read_labeled(path, label_names=["sadness", "joy", "love"])
    assert data.labels == ["sadness", "joy", "love"]
    with pytest.raises(DataError, match=r"not an index 0\.\.1"):
        read_labeled(path, label_names=["sadness", "joy"])


def test_explicit_columns(tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame({"body": ["x y", "z"], "tag": ["a", "b"]}).to_csv(path, index=False)
    data = read_labeled(path, text_column="body", label_column="tag")
    assert data.labels == ["a", "b"]


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_labeled(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        read_labeled(tmp_path / "e.csv")


def test_header_only_file(tmp_path):
    (tmp_path / "e.csv").write_text("text,label\n")
    with pytest.raises(DataError, match="no data rows"):
        read_labeled(tmp_path / "e.csv")


def test_missing_column_lists_the_columns_found(tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame({"body": ["x"], "label": ["a"]}).to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        read_labeled(path)
    assert "body, label" in str(err.value) and "--text-column" in str(err.value)
    with pytest.raises(DataError, match="no column 'txt'"):
        read_labeled(path, text_column="txt")


def test_missing_labels_are_counted_with_first_rows(tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame({"text": list("abcdef"), "label": ["x", None, "y", "", "x", None]}).to_csv(
        path, index=False)
    with pytest.raises(DataError) as err:
        read_labeled(path)
    message = str(err.value)
    assert "3 of 6 rows have no label" in message
    assert "data row 2, 4, 6" in message


def test_non_utf8_file_names_line_and_encoding_option(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("ok line;joy\ncaf\u00e9 au lait;joy\n".encode("latin-1"))
    with pytest.raises(DataError) as err:
        read_labeled(path)
    assert "line 2" in str(err.value) and "--encoding" in str(err.value)
    assert read_labeled(path, encoding="latin-1").texts[1] == "caf\u00e9 au lait"


def test_lines_without_separator_name_the_line(tmp_path):
    path = tmp_path / "d.txt"
    path.write_text("good;joy\nno separator here\n")
    with pytest.raises(DataError, match="line 2"):
        read_labeled(path)


def test_a_one_megabyte_line_is_read_whole(tmp_path):
    long_text = "word " * 200_000
    path = tmp_path / "d.csv"
    pd.DataFrame({"text": [long_text, "short"], "label": ["a", "b"]}).to_csv(path, index=False)
    data = read_labeled(path)
    assert len(data.texts[0]) == len(long_text)
