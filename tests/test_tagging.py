"""Token tagging: CoNLL reading, tag schemes, the CRF, entity scoring, the tagger, its
bundle, the CLI and the server."""

from __future__ import annotations

import itertools
import json
import random
from importlib.resources import files
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.config import apply_overrides
from seqlab.errors import DataError
from seqlab.nn.crf import CRF
from seqlab.tasks.tag.config import TagConfig
from seqlab.tasks.tag.conll import Sentence, read_tagged
from seqlab.tasks.tag.schemes import (
    allowed_transitions,
    convert,
    detect_scheme,
    from_spans,
    is_entity_tagset,
    spans,
)
from seqlab.tasks.tag.scoring import entity_scores
from seqlab.tasks.tag.tagger import Tagger
from seqlab.tasks.tag.tokenize import tokenize
from seqlab.tasks.tag.workflow import train_tagger

from conftest import SHARED_DATA, StopAfter

runner = CliRunner()
NEWS = Path(str(files("seqlab") / "samples" / "news_entities.conll"))
TINY = {"model.hidden_size": 32, "model.embedding_dim": 24, "model.char_dim": 8,
        "model.char_hidden": 8, "model.dropout": 0.0, "model.unk_replace": 0.0,
        "training.max_epochs": 25, "training.patience": 30, "training.threads": 1,
        "training.batch_size": 8, "training.lr": 0.01}


def tiny_config(tmp_path: Path | None = None, **overrides) -> TagConfig:
    base = TagConfig(name="tagger", output_dir=str(tmp_path or "runs"))
    return apply_overrides(base, {**TINY, **overrides})


def majority_accuracy(sentences: list[Sentence]) -> float:
    """The token accuracy of always answering the most frequent tag: the bar to beat."""
    tags = [tag for s in sentences for tag in s.tags]
    return max(tags.count(tag) for tag in set(tags)) / len(tags)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def news() -> list[Sentence]:
    return read_tagged(NEWS).sentences


@pytest.fixture(scope="module")
def fitted(news) -> Tagger:
    """A CRF tagger with characters fitted to 24 sentences of the sample."""
    return Tagger(tiny_config()).fit(news[:24], news[24:32])


# ---- reading --------------------------------------------------------------------------


def test_conll_reader_picks_the_tag_column_and_skips_docstart(tmp_path):
    path = write(tmp_path / "a.conll", "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\n"
                 "rejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n")
    ner = read_tagged(path).sentences
    assert [s.tokens for s in ner] == [["EU", "rejects"], ["Peter", "Blackburn"]]
    assert [s.tags for s in ner] == [["B-ORG", "O"], ["B-PER", "I-PER"]]
    assert ner[1].line == 6
    assert read_tagged(path, column="pos").sentences[0].tags == ["NNP", "VBZ"]
    assert read_tagged(path, column="2").sentences[1].tags == ["B-NP", "I-NP"]


@pytest.mark.parametrize("text, line, words", [
    ("EU NNP B-ORG\nrejects VBZ\n", 2, "2 columns where line 1 has 3"),
    ("EU B-ORG\n\nrejects\n", 3, "has no tag"),
])
def test_malformed_conll_names_the_line(tmp_path, text, line, words):
    path = write(tmp_path / "bad.conll", text)
    with pytest.raises(DataError, match=rf"bad.conll: line {line}: .*{words}"):
        read_tagged(path)


def test_conll_u_skips_comments_ranges_and_empty_nodes(tmp_path):
    rows = ["# sent_id = 1", "1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_",
            "1\tdo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_", "2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_",
            "2.1\tx\tx\tX\tX\t_\t_\t_\t_\t_", "3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_", ""]
    path = write(tmp_path / "a.conllu", "\n".join(rows) + "\n")
    sentence = read_tagged(path).sentences[0]
    assert sentence.tokens == ["do", "n't", "go"]
    assert sentence.tags == ["AUX", "PART", "VERB"]
    assert read_tagged(path, column="xpos").sentences[0].tags == ["VBP", "RB", "VB"]
    write(tmp_path / "b.conllu", "1\tgo\tgo\tVERB\n")
    with pytest.raises(DataError, match="line 1: 4 tab-separated columns"):
        read_tagged(tmp_path / "b.conllu")


def test_empty_file_and_unknown_column_are_clear(tmp_path):
    with pytest.raises(DataError, match="no tagged sentences"):
        read_tagged(write(tmp_path / "empty.conll", "\n\n"))
    with pytest.raises(DataError, match="unknown tag column 'lemma'"):
        read_tagged(NEWS, column="lemma")


def test_tokenize_keeps_offsets():
    text = "Angela Merkel's visit to the U.S on 1996-08-22, (twice)."
    tokens = tokenize(text)
    assert [t.text for t in tokens] == ["Angela", "Merkel", "'s", "visit", "to", "the", "U.S",
                                        "on", "1996-08-22", ",", "(", "twice", ")", "."]
    assert all(text[t.start:t.end] == t.text for t in tokens)


# ---- schemes and scoring --------------------------------------------------------------

IOB2 = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "O", "B-ORG"]


def test_schemes_round_trip_and_are_detected():
    iobes = convert(IOB2, "iobes")
    assert iobes == ["B-PER", "E-PER", "O", "S-LOC", "B-LOC", "E-LOC", "O", "S-ORG"]
    iob1 = convert(iobes, "iob1")
    assert iob1 == ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "O", "I-ORG"]
    assert convert(iob1, "iob2") == IOB2
    assert spans(IOB2) == spans(iobes) == spans(iob1) == [
        ("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 6), ("ORG", 7, 8)]
    assert [detect_scheme([t]) for t in (IOB2, iobes, iob1)] == ["iob2", "iobes", "iob1"]
    assert is_entity_tagset(IOB2) and not is_entity_tagset(["NN", "VB", "O"])


def test_random_tag_sequences_round_trip_through_every_scheme():
    rng = random.Random(3)
    for _ in range(200):
        found, position = [], 0
        while position < 12:
            position += rng.randint(0, 2)
            width = rng.randint(1, 3)
            if position + width > 12:
                break
            found.append((rng.choice("AB"), position, position + width))
            position += width
        tags = from_spans(found, 12, "iob2")
        for scheme in ("iob1", "iobes"):
            assert convert(convert(tags, scheme), "iob2") == tags
        assert spans(tags) == found


def test_entity_scores_hand_worked_partial_and_wrong_type():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["B-PER", "I-PER", "O", "B-MISC"]]
    scores = entity_scores(gold, pred)
    # gold: PER(0-2) LOC ORG; predicted: PER(0-1, partial) LOC PER(wrong type) MISC
    assert scores["per_type"]["LOC"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0,
                                         "support": 1, "predicted": 1}
    assert scores["per_type"]["PER"]["precision"] == 0.0
    assert scores["per_type"]["ORG"]["recall"] == 0.0
    assert scores["precision"] == pytest.approx(1 / 4)
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(2 / 7)


def test_entity_scores_agree_with_seqeval_on_random_and_invalid_sequences():
    seqeval = pytest.importorskip("seqeval.metrics", reason="seqeval is a dev dependency")
    rng = random.Random(5)
    tags = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
    for scheme_tags in (tags[:3] + tags[5:7], tags):
        gold = [[rng.choice(scheme_tags) for _ in range(rng.randint(1, 9))] for _ in range(60)]
        pred = [[t if rng.random() < 0.6 else rng.choice(scheme_tags) for t in g]
                for g in gold]
        ours = entity_scores(gold, pred)
        theirs = seqeval.classification_report(gold, pred, output_dict=True, zero_division=0)
        assert ours["precision"] == pytest.approx(theirs["micro avg"]["precision"])
        assert ours["recall"] == pytest.approx(theirs["micro avg"]["recall"])
        assert ours["f1"] == pytest.approx(theirs["micro avg"]["f1-score"])
        for kind in ("PER", "LOC"):
            assert ours["per_type"][kind]["f1"] == pytest.approx(theirs[kind]["f1-score"])
            assert ours["per_type"][kind]["support"] == theirs[kind]["support"]


# ---- CRF ------------------------------------------------------------------------------


def _brute_force(crf: CRF, emissions: torch.Tensor, length: int
                 ) -> tuple[torch.Tensor, list[int], torch.Tensor]:
    """log Z, the best path and each token's tag marginals ``[length, tags]`` of one
    sentence, by scoring every path."""
    trans, start, end = (t.detach() for t in crf._scores())
    scores = {}
    for path in itertools.product(range(crf.num_tags), repeat=length):
        score = start[path[0]] + end[path[-1]]
        score = score + sum(emissions[t, tag] for t, tag in enumerate(path))
        score = score + sum(trans[a, b] for a, b in itertools.pairwise(path))
        scores[path] = score
    stacked = torch.stack(list(scores.values()))
    log_z = torch.logsumexp(stacked, 0)
    marginals = torch.zeros(length, crf.num_tags)
    for path, score in scores.items():
        for t, tag in enumerate(path):
            marginals[t, tag] += torch.exp(score - log_z)
    return log_z, list(max(scores, key=lambda p: float(scores[p]))), marginals


@pytest.mark.parametrize("constrained", [False, True])
def test_crf_agrees_with_brute_force(constrained):
    torch.manual_seed(0)
    tags = ["O", "B-PER", "I-PER"]
    allowed = allowed_transitions(tags, "iob2") if constrained else (None, None, None)
    crf = CRF(len(tags), *allowed)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.normal_()
    lengths = torch.tensor([4, 2, 1, 3])
    emissions = torch.randn(4, 4, len(tags)) * 2
    mask = torch.arange(4).unsqueeze(0) < lengths.unsqueeze(1)
    with torch.no_grad():
        log_z = crf.log_partition(emissions, mask)
        decoded = crf.decode(emissions, mask)
        marginals = crf.marginals(emissions, mask)
    for row, length in enumerate(lengths.tolist()):
        expected_z, expected_path, expected_marginals = _brute_force(crf, emissions[row], length)
        assert float(log_z[row]) == pytest.approx(float(expected_z), abs=1e-4)
        assert decoded[row] == expected_path
        torch.testing.assert_close(marginals[row, :length], expected_marginals, atol=1e-5,
                                   rtol=1e-4)
        if constrained:  # never I-PER first or after O
            named = [tags[i] for i in decoded[row]]
            assert convert(named, "iob2") == named
    gold = torch.tensor([d + [0] * (4 - len(d)) for d in decoded])
    with torch.no_grad():
        probability = torch.exp(crf.path_score(emissions, gold, mask) - log_z)
    assert torch.all(probability > 0) and torch.all(probability <= 1)


# ---- the tagger -----------------------------------------------------------------------


def test_tagger_overfits_a_few_sentences_with_crf_and_characters(fitted, news):
    predicted = fitted.predict([s.tokens for s in news[:24]])
    assert predicted == [s.tags for s in news[:24]]
    assert fitted.tags_[0] == "O" and any(t.startswith("S-") for t in fitted.tags_)
    assert fitted.source_scheme_ == "iob2"


def test_tagger_without_crf_or_characters_learns_too(news):
    config = tiny_config(**{"model.crf": False, "model.chars": False})
    tagger = Tagger(config).fit(news[:24], news[24:32])
    scores = tagger.evaluate(news[:24])
    assert scores["accuracy"] > majority_accuracy(news[:24]) and scores["f1"] > 0


def test_tagger_tags_pos_and_picks_epochs_by_accuracy(news):
    pos = read_tagged(NEWS, column="pos").sentences
    tagger = Tagger(tiny_config(**{"training.max_epochs": 8})).fit(pos[:40], pos[40:60])
    assert not tagger.entities_ and tagger.fit_info_["monitor"] == "accuracy"
    assert tagger.evaluate(pos[60:100])["accuracy"] > majority_accuracy(pos[60:100])


def test_bundle_round_trip_gives_identical_tags(fitted, news, tmp_path):
    path = fitted.save(tmp_path / "tagger.safetensors")
    loaded = Tagger.load(path)
    sentences = [s.tokens for s in news[300:340]]
    assert loaded.predict(sentences) == fitted.predict(sentences)


def test_tag_text_groups_entities_with_offsets(fitted):
    text = "Angela Merkel visited Paris on Monday."
    tagged = fitted.tag_text(text)
    assert [t["token"] for t in tagged.tokens][:2] == ["Angela", "Merkel"]
    for entity in tagged.entities:
        assert text[entity.start:entity.end] == entity.text
    assert ("Angela Merkel", "PER") in [(e.text, e.type) for e in tagged.entities]
    assert fitted.tag_text("").tokens == []


def test_texts_tagged_together_are_tagged_as_alone(fitted, news):
    """``tag_texts`` puts texts of different lengths (and an empty one) through one
    padded batch; each comes out as ``tag_text`` tags it alone."""
    texts = [" ".join(s.tokens) for s in news[300:330]] + ["", "Paris ."]
    assert fitted.tag_texts(texts) == [fitted.tag_text(text) for text in texts]


def test_one_tag_only_is_refused(tmp_path):
    path = write(tmp_path / "o.conll", "a O\nb O\n\nc O\n\nd O\n")
    with pytest.raises(DataError, match="one tag only"):
        train_tagger(tiny_config(tmp_path, **{"data.train": str(path)}))


def test_interrupted_and_resumed_run_ends_like_a_straight_one(tmp_path):
    base = {"data.train": str(NEWS), "training.max_epochs": 3, "model.unk_replace": 0.5}
    straight = train_tagger(tiny_config(tmp_path, name="straight", **base))
    config = tiny_config(tmp_path, name="resumed", **base)
    with pytest.raises(KeyboardInterrupt):
        train_tagger(config, callbacks=StopAfter(2))
    resumed = train_tagger(config, resume=True)
    assert resumed.val["f1"] == straight.val["f1"]
    a = Tagger.load(straight.model_path).predict([["Peter", "Smith", "visited", "Rome"]])
    b = Tagger.load(resumed.model_path).predict([["Peter", "Smith", "visited", "Rome"]])
    assert a == b


# ---- command line and server ----------------------------------------------------------


def test_cli_train_predict_and_file(tmp_path):
    sets = [f"--set={k}={v}" for k, v in TINY.items() if k != "training.max_epochs"]
    result = runner.invoke(app, ["tag", "train", str(NEWS), "--output-dir", str(tmp_path),
                                 "--name", "ner", "--epochs", "6", "--test", str(NEWS),
                                 "--quiet", *sets])
    assert result.exit_code == 0, result.output
    assert "test: entities" in result.output and "PER" in result.output
    run = tmp_path / "ner"
    metrics = json.loads((run / "metrics.json").read_text())
    test = metrics["test"]
    assert metrics["task"] == "entities" and 0 < test["f1"] <= 1
    assert test["f1"] == pytest.approx(2 * test["precision"] * test["recall"]
                                       / (test["precision"] + test["recall"]))
    report = (run / "report.md").read_text()
    assert "entities by type" in report and "confusion_matrix.png" in report
    result = runner.invoke(app, ["tag", "predict", str(run), "Peter Smith visited Rome ."])
    assert result.exit_code == 0, result.output
    assert "Peter/B-PER" in result.output
    lines = write(tmp_path / "in.txt", "Maria Rossi flew to Tokyo .\n\nOfficials met.\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["tag", "predict", str(run), "--file", str(lines),
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in rows] == ["Maria Rossi flew to Tokyo .", "Officials met."]
    result = runner.invoke(app, ["tag", "train", str(tmp_path / "missing.conll")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_server_tags_text(fitted, tmp_path):
    from fastapi.testclient import TestClient

    from seqlab.serving.app import ServeSettings, app_for

    path = fitted.save(tmp_path / "tagger.safetensors")
    client = TestClient(app_for(ServeSettings(model=str(path), max_texts=2)))
    answer = client.post("/tag", json={"text": "Peter Smith visited Rome ."})
    assert answer.status_code == 200
    result = answer.json()["results"][0]
    assert result["tokens"][0]["token"] == "Peter"
    assert all("Peter Smith visited Rome ."[e["start"]:e["end"]] == e["text"]
               for e in result["entities"])
    assert client.post("/tag", json={"texts": ["a", "b", "c"]}).status_code == 413
    refused = client.post("/tag", json={"txt": "x"})
    assert refused.status_code == 422 and "error" in refused.json()
    assert client.get("/model").json()["tags"] == fitted.tags_


# ---- real data ------------------------------------------------------------------------


def test_conll2003_subset_learns_entities():
    folder = SHARED_DATA / "tagging" / "conll2003"
    if not (folder / "train.txt").exists():
        pytest.skip(f"CoNLL-2003 not found at {folder} (set SEQLAB_SHARED_DATA); skipping")
    train = read_tagged(folder / "train.txt").sentences[:1500]
    val = read_tagged(folder / "valid.txt").sentences[:400]
    config = tiny_config(**{"model.hidden_size": 64, "model.embedding_dim": 50,
                            "training.max_epochs": 4, "training.batch_size": 16,
                            "training.lr": 0.005, "model.dropout": 0.3})
    tagger = Tagger(config).fit(train, val)
    scores = tagger.evaluate(val)
    assert scores["f1"] > 0.5, scores["per_type"]
