"""Property-based fuzzing (hypothesis) of every reader, the bundle header and the server
request models. The property: any input either loads or raises seqlab's own error with a
message, never another exception. Example counts are kept small for CI."""

import contextlib
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab.artifacts import load_tensors
from seqlab.data.readers import read_labeled
from seqlab.errors import SeqlabError
from seqlab.tasks.forecast.series import read_series
from seqlab.tasks.tag.conll import read_tagged

# SEQLAB_FUZZ_EXAMPLES raises the count for a longer hunt; CI keeps the default.
FUZZ = settings(max_examples=int(os.environ.get("SEQLAB_FUZZ_EXAMPLES", 60)), deadline=None,
                derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text that looks like data: the characters formats care about, plus anything at all.
CELL = st.text(alphabet=st.sampled_from(list("ab1 ,;\t\"'\n\r{}[]:-.#éñ\x00")) | st.characters(),
               max_size=12)
LINES = st.lists(st.lists(CELL, max_size=5), max_size=8)


def loads_or_says_why(load, data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory(prefix="seqlab-fuzz-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            load(path)
        except SeqlabError as err:
            assert str(err).strip()  # a message, not an empty error


def _delimited(rows: list[list[str]], sep: str) -> bytes:
    return "\n".join(sep.join(r) for r in [["text", "label"], *rows]).encode("utf-8", "replace")


@FUZZ
@given(LINES, st.sampled_from([(",", "d.csv"), ("\t", "d.tsv"), (";", "d.txt")]))
def test_delimited_readers(rows, format_):
    sep, name = format_
    loads_or_says_why(read_labeled, _delimited(rows, sep), name)


@FUZZ
@given(st.binary(max_size=200), st.sampled_from(["d.csv", "d.tsv", "d.txt", "d.jsonl",
                                                 "d.parquet", "d.csv.gz"]))
def test_readers_on_arbitrary_bytes(data, name):
    loads_or_says_why(read_labeled, data, name)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | CELL,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(CELL, inner, max_size=3),
    max_leaves=8)


@FUZZ
@given(st.lists(st.dictionaries(st.sampled_from(["text", "label", "x"]), JSON_VALUES,
                                max_size=3) | JSON_VALUES, max_size=6))
def test_jsonl_reader(records):
    data = "\n".join(json.dumps(r) for r in records).encode("utf-8")
    loads_or_says_why(read_labeled, data, "d.jsonl")


@FUZZ
@given(st.lists(st.lists(st.lists(CELL, min_size=1, max_size=4), max_size=5), max_size=5),
       st.sampled_from(["d.conll", "d.conllu"]))
def test_conll_readers(sentences, name):
    blocks = ["\n".join(" \t"[i % 2].join(token) for i, token in enumerate(sentence))
              for sentence in sentences]
    data = "\n\n".join(blocks).encode("utf-8", "replace")
    loads_or_says_why(read_tagged, data, name)


@FUZZ
@given(st.lists(st.tuples(CELL, CELL | st.floats(allow_nan=True).map(str)), max_size=30))
def test_series_reader(points):
    data = "\n".join(f"{t},{v}" for t, v in [("month", "y"), *points]).encode("utf-8",
                                                                             "replace")
    loads_or_says_why(lambda p: read_series(p, target="y"), data, "s.csv")


@FUZZ
@given(JSON_VALUES | st.dictionaries(st.sampled_from(
    ["format", "format_version", "labels", "params", "vocab", "parts"]), JSON_VALUES))
def test_bundle_header(header):
    import torch
    from safetensors.torch import save_file

    with tempfile.TemporaryDirectory(prefix="seqlab-fuzz-") as folder:
        path = Path(folder) / "m.safetensors"
        save_file({"w": torch.zeros(2)}, str(path), metadata={"seqlab": json.dumps(header)})
        for kind in ("seqlab.text_classifier", "seqlab.linear_classifier"):
            try:
                load_tensors(path, kind)
            except SeqlabError as err:
                assert str(err).strip()


@pytest.mark.parametrize("module, model", [
    ("seqlab.tasks.classify.routes", "PredictRequest"), ("seqlab.tasks.tag.routes", "TagRequest"),
    ("seqlab.tasks.lm.routes", "GenerateRequest"), ("seqlab.tasks.lm.routes", "CompleteRequest"),
    ("seqlab.tasks.forecast.routes", "ForecastRequest"),
])
def test_server_request_models(module, model):
    """Any JSON body validates or raises pydantic's ValidationError (which the app answers
    as a 422 naming the field), never another exception."""
    pytest.importorskip("fastapi", reason="the serve extra is not installed")
    import importlib

    from pydantic import ValidationError

    request_model = getattr(importlib.import_module(module), model)

    @FUZZ
    @given(JSON_VALUES | st.dictionaries(
        st.sampled_from([*request_model.model_fields, "extra"]), JSON_VALUES))
    def check(body):
        with contextlib.suppress(ValidationError):
            request_model.model_validate(body)

    check()
