"""Careless and hostile input, each case as it was reported: one clear line and exit code
2 (or a JSON error from a server), and nothing silently changed or lost."""

import gzip
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from seqlab.artifacts import load_tensors, save_tensors
from seqlab.cli.main import app
from seqlab.data.readers import read_labeled
from seqlab.engine.run_folder import holds_run, prepare_run_dir, remove_stale_temporaries
from seqlab.errors import BundleError, DataError

from conftest import SAMPLE

runner = CliRunner()
FAST = ["--embedding-dim", "8", "--hidden-size", "8", "--epochs", "1", "--threads", "1",
        "--quiet", "--no-baseline"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def fails_cleanly(result, *fragments):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "Aborted" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def csv_file(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rows(n, label="joy"):
    return "".join(f"text number {i},{label}\n" for i in range(n))


# ---- 1. a truncated .gz input -------------------------------------------------------


def _truncated_gz(tmp_path, name, text):
    whole = gzip.compress(text.encode("utf-8"))
    path = tmp_path / name
    path.write_bytes(whole[: len(whole) // 2])
    return path


@pytest.mark.parametrize("command, name, content", [
    (["train"], "d.csv.gz", "text,label\n" + rows(200) + rows(200, "sad")),
    (["lm", "train"], "c.txt.gz", "some text to model\n" * 400),
    (["forecast", "train", "--target", "y"], "s.csv.gz",
     "month,y\n" + "".join(f"{2000 + i // 12}-{i % 12 + 1:02d},{i}\n" for i in range(300))),
])
def test_a_truncated_gzip_file_is_named(tmp_path, command, name, content):
    path = _truncated_gz(tmp_path, name, content)
    result = invoke(*command, path, "--output-dir", tmp_path / "runs", "--quiet")
    fails_cleanly(result, str(path), "not a complete gzip file")


# ---- 2. an empty separator ----------------------------------------------------------


def test_an_empty_separator_is_refused(tmp_path):
    result = invoke("train", SAMPLE, "--separator", "", "--output-dir", tmp_path, *FAST)
    fails_cleanly(result, "data.separator")


# ---- 3. bundles with a bad or missing format version --------------------------------


@pytest.mark.parametrize("version", ["abc", None, True, 0])
def test_a_bundle_without_a_valid_format_version_is_refused(tmp_path, version):
    trained = invoke("train", SAMPLE, "--kind", "tfidf", "--output-dir", tmp_path, "--name",
                     "m", "--quiet")
    assert trained.exit_code == 0, trained.output
    model = tmp_path / "m" / "model.safetensors"
    tensors, meta = load_tensors(model, "seqlab.linear_classifier")
    from safetensors.torch import save_file

    meta["format_version"] = version
    if version is None:
        del meta["format_version"]
    save_file(tensors, str(model), metadata={"seqlab": json.dumps(meta)})
    for command in ("predict", "info"):
        args = [command, model, *(["hello"] if command == "predict" else [])]
        fails_cleanly(invoke(*args), "format_version")


# ---- 8–10. advice that names options that exist -------------------------------------


def test_forecast_and_tag_read_latin_1_with_the_advised_option(tmp_path):
    series = "month,y\n" + "".join(f"{2000 + i // 12}-{i % 12 + 1:02d},{i % 7}\n"
                                   for i in range(80))
    latin = tmp_path / "s.csv"
    latin.write_bytes(series.replace("month", "m\xe9s").encode("latin-1"))
    result = invoke("forecast", "train", latin, "--target", "y", "--output-dir", tmp_path,
                    "--quiet")
    fails_cleanly(result, "--encoding latin-1")
    again = invoke("forecast", "train", latin, "--target", "y", "--encoding", "latin-1",
                   "--time-column", "m\xe9s", "--horizon", "2", "--lookback", "4",
                   "--set", "training.max_epochs=1", "--baselines", "naive",
                   "--output-dir", tmp_path, "--quiet")
    assert again.exit_code == 0, again.output
    conll = tmp_path / "t.conll"
    conll.write_bytes("Caf\xe9 B-LOC\nis O\n\nParis B-LOC\n\n".encode("latin-1") * 20)
    fails_cleanly(invoke("tag", "train", conll, "--output-dir", tmp_path, "--quiet"),
                  "--encoding latin-1")
    tagged = invoke("tag", "train", conll, "--encoding", "latin-1", "--epochs", "1",
                    "--output-dir", tmp_path, "--quiet")
    assert tagged.exit_code == 0, tagged.output


def test_a_missing_target_names_the_target_option(tmp_path):
    path = csv_file(tmp_path, "month,sales\n2000-01,1\n2000-02,2\n")
    fails_cleanly(invoke("forecast", "train", path, "--target", "Sales", "--quiet"),
                  "Pass --target with one of them")


# ---- 11–14. data silently changed ---------------------------------------------------


def test_a_repeated_header_row_is_refused(tmp_path):
    path = csv_file(tmp_path, "text,label\n" + rows(5) + "text,label\n" + rows(5, "sad"))
    with pytest.raises(DataError, match="data row 6: the header row appears again"):
        read_labeled(path)


def test_an_unbalanced_quote_that_joins_rows_is_refused(tmp_path):
    body = rows(5) + '"an opened quote,joy\n' + rows(3, "sad") + '"closed here",sad\n'
    path = csv_file(tmp_path, "text,label\n" + body)
    with pytest.raises(DataError, match=r"data row 6: .*quote"):
        read_labeled(path)
    fine = csv_file(tmp_path, 'text,label\n"a text\nover two lines",joy\nb,sad\n', "ok.csv")
    assert read_labeled(fine).texts[0] == "a text\nover two lines"


def test_duplicate_column_names_are_refused(tmp_path):
    path = csv_file(tmp_path, "text,label,label\na,joy,sad\nb,sad,joy\n")
    with pytest.raises(DataError, match="'label' more than once"):
        read_labeled(path)


@pytest.mark.parametrize("missing", ["NaN", "None", "null", "N/A"])
def test_missing_value_words_are_not_classes(tmp_path, missing):
    path = csv_file(tmp_path, f"text,label\na,joy\nb,{missing}\nc,sad\n")
    with pytest.raises(DataError, match=r"1 of 3 rows have no label.*NaN or None"):
        read_labeled(path)
    kept = csv_file(tmp_path, "text,label\na,joy\nb,none\nc,sad\n", "lower.csv")
    assert read_labeled(kept).labels == ["joy", "none", "sad"]  # a real class name


# ---- 15–18. run folders ---------------------------------------------------------------


def test_a_failed_run_does_not_block_the_retry(tmp_path):
    data = csv_file(tmp_path, "text,label\n" + "".join(f"!!!,{c}\n" for c in "ab" * 10))
    out = tmp_path / "runs"
    first = invoke("train", data, "--output-dir", out, "--name", "r", "--preprocessing",
                   "aggressive", *FAST)
    assert first.exit_code == 2  # nothing left after preprocessing
    assert not holds_run(out / "r")
    retry = invoke("train", SAMPLE, "--output-dir", out, "--name", "r", *FAST)
    assert retry.exit_code == 0, retry.output  # no "already holds a run"


def test_temporary_files_of_a_killed_write_are_removed_on_the_next_start(tmp_path):
    from seqlab.tasks.classify.config import RunConfig

    config = RunConfig(name="r", output_dir=str(tmp_path))
    (tmp_path / "r" / "checkpoints").mkdir(parents=True)
    stale = [tmp_path / "r" / ".model.safetensors.abc123.tmp",
             tmp_path / "r" / "checkpoints" / ".last.safetensors.x.tmp"]
    for path in stale:
        path.write_bytes(b"\0" * 100)
    keep = tmp_path / "r" / "notes.txt"
    keep.write_text("mine")
    prepare_run_dir(config, resume=False, overwrite=False)
    assert not any(p.exists() for p in stale) and keep.exists()
    assert remove_stale_temporaries(tmp_path / "r") == []


def test_every_text_empty_is_named(tmp_path):
    path = csv_file(tmp_path, "text,label\n" + "".join(f",{c}\n" for c in "abcabc"))
    with pytest.raises(DataError, match="every text in column 'text' is empty"):
        read_labeled(path)


# ---- 19–20. ------------------------------------------------------------------------------


def test_a_whitespace_only_corpus_trains_no_language_model(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text("   \n\t\n  \n" * 50, encoding="utf-8")
    fails_cleanly(invoke("lm", "train", path, "--output-dir", tmp_path, "--quiet"),
                  "only white space")


@pytest.fixture(scope="module")
def linear_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("linear")
    assert invoke("train", SAMPLE, "--kind", "tfidf", "--output-dir", out, "--name", "m",
                  "--quiet").exit_code == 0
    return out / "m"


@pytest.mark.parametrize("suffix, read", [
    (".csv", pd.read_csv), (".tsv", lambda p: pd.read_csv(p, sep="\t")),
    (".jsonl", lambda p: pd.read_json(p, lines=True)), (".parquet", pd.read_parquet),
    (".csv.gz", pd.read_csv),
])
def test_predictions_are_written_in_the_format_the_name_asks_for(linear_model, tmp_path,
                                                                 suffix, read):
    inputs = csv_file(tmp_path, "text\ni feel happy\ni am scared\n", "in.csv")
    out = tmp_path / f"out{suffix}"
    assert invoke("predict", linear_model, "--file", inputs, "--out", out).exit_code == 0
    written = read(out)
    assert list(written["text"]) == ["i feel happy", "i am scared"]
    assert {"predicted", "p_joy"} <= set(written.columns)


def test_an_unknown_output_extension_is_refused(linear_model, tmp_path):
    inputs = csv_file(tmp_path, "text\nhello\n", "in.csv")
    out = tmp_path / "predictions.xyz"
    fails_cleanly(invoke("predict", linear_model, "--file", inputs, "--out", out), ".xyz")
    assert not out.exists()


# ---- 21. messages that say what to do ----------------------------------------------------


def test_an_output_folder_under_a_file_says_what_to_do(tmp_path):
    (tmp_path / "afile").write_text("x")
    result = invoke("train", SAMPLE, "--output-dir", tmp_path / "afile" / "sub", *FAST)
    fails_cleanly(result, "--output-dir")


def test_bundle_messages_are_plain(tmp_path, linear_model):
    tensors, meta = load_tensors(linear_model / "model.safetensors", "seqlab.linear_classifier")
    meta = {k: v for k, v in meta.items() if k not in ("format", "format_version")}
    meta["labels"] = 5
    save_tensors(tmp_path / "bad.safetensors", tensors, meta, "seqlab.linear_classifier")
    fails_cleanly(invoke("info", tmp_path / "bad.safetensors"),
                  "`labels` must be a list of two or more names")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(BundleError, match="not a seqlab model bundle") as err:
        load_tensors(junk, "seqlab.text_classifier")
    assert "seqlab seqlab" not in str(err.value)


def test_a_huge_vocabulary_edited_into_a_bundle_is_refused_before_it_is_built(tmp_path):
    from seqlab.tasks.classify.classifier import TextClassifier

    clf = TextClassifier(embedding_dim=4, hidden_size=4, max_epochs=1, threads=1)
    data = read_labeled(SAMPLE)
    path = clf.fit(data.texts, data.labels).save(tmp_path / "m.safetensors")
    tensors, meta = load_tensors(path, "seqlab.text_classifier")
    meta = {k: v for k, v in meta.items() if k not in ("format", "format_version")}
    meta["vocab"]["tokens"] += [f"w{i}" for i in range(200_000)]
    save_tensors(tmp_path / "big.safetensors", tensors, meta, "seqlab.text_classifier")
    with pytest.raises(BundleError, match="vocabulary of 200,"):
        TextClassifier.load(tmp_path / "big.safetensors")
