"""Explanations of taggers and language models: the word a tag or a next token hangs on
comes first; integrated gradients' parts add up; occlusion equals blanking or deleting by
hand; offsets map back to the text; the CLI and the server give what the library gives;
bad input."""

import json

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.config import apply_overrides
from seqlab.errors import ConfigError, DataError
from seqlab.serving.app import ServeSettings, app_for
from seqlab.tasks.lm.config import LMConfig
from seqlab.tasks.lm.corpus import Corpus
from seqlab.tasks.lm.explain import explain_next
from seqlab.tasks.lm.model import LanguageModel
from seqlab.tasks.tag.config import TagConfig
from seqlab.tasks.tag.conll import Sentence
from seqlab.tasks.tag.explain import explain_text, tag_probabilities
from seqlab.tasks.tag.tagger import Tagger

runner = CliRunner()
FILLER = ["the", "old", "man", "saw", "a", "boat", "near", "river", "then", "left", "it"]
COLOURS = {"red": "WARM", "blue": "COLD"}


def colour_sentences(n: int, seed: int) -> list[Sentence]:
    """Filler words with one colour word somewhere, ending in ``thing``: ``thing``'s tag
    (WARM or COLD) is decided by the colour alone; every other token is ``X``."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        colour = list(COLOURS)[i % 2]
        words = list(rng.choice(FILLER, int(rng.integers(3, 7))))
        words.insert(int(rng.integers(0, len(words) + 1)), colour)
        out.append(Sentence([*words, "thing"], ["X"] * len(words) + [COLOURS[colour]]))
    return out


def fit_tagger(**overrides) -> Tagger:
    settings = {"model.hidden_size": 24, "model.embedding_dim": 16, "model.char_dim": 8,
                "model.char_hidden": 8, "model.dropout": 0.0, "model.unk_replace": 0.0,
                "training.max_epochs": 12, "training.patience": 12, "training.threads": 1,
                "training.batch_size": 16, "training.lr": 0.01, **overrides}
    config = apply_overrides(TagConfig(name="colours", output_dir="runs"), settings)
    return Tagger(config).fit(colour_sentences(300, 0), colour_sentences(60, 1))


@pytest.fixture(scope="module", params=[True, False], ids=["crf", "softmax"])
def colour_tagger(request) -> Tagger:
    return fit_tagger(**{"model.crf": request.param})


PROBES = ["the old red man saw a boat thing", "near river blue then left it thing",
          "blue the boat thing"]


@pytest.mark.parametrize("method", ["ig", "occlusion"])
def test_the_colour_word_drives_the_tag_of_thing(colour_tagger, method):
    """Of the other words, the colour pushes most towards ``thing``'s tag and most away
    from the other tag (``thing`` itself says that the token takes a colour's tag)."""
    for text in PROBES:
        colour = next(w for w in text.split() if w in COLOURS)
        other = next(tag for tag in COLOURS.values() if tag != COLOURS[colour])
        (e,) = explain_text(colour_tagger, text, ["thing"], method=method).explanations
        assert e.target == COLOURS[colour]
        context = [t for t in e.tokens if t.token != "thing"]
        assert max(context, key=lambda t: t.attribution).token == colour, (method, e.tokens)
        (against,) = explain_text(colour_tagger, text, ["thing"], other, method).explanations
        context = [t for t in against.tokens if t.token != "thing"]
        assert min(context, key=lambda t: t.attribution).token == colour, (method, e.tokens)


def test_ig_parts_add_up_to_the_change_in_probability(colour_tagger):
    found = explain_text(colour_tagger, PROBES[0], method="ig", steps=100)
    assert found.explanations  # every token of a POS-like tag set is explained
    for e in found.explanations:
        total = sum(t.attribution for t in e.tokens)
        assert total - (e.value - e.reference) == pytest.approx(e.delta, abs=1e-5)
        assert e.value == pytest.approx(e.extra["probabilities"][e.target], abs=1e-6)


def _probability_blanking_by_hand(tagger, words, blanked, position, tag):
    """The probability of ``tag`` at ``position`` with the ``blanked`` tokens replaced by
    the padding word, no characters and no casing."""
    batch = tagger._batch([tagger._encode(words)])
    for i in blanked:
        batch.words[0, i] = 0
        batch.casings[0, i] = 0
        batch.chars[0, i] = 0
    with torch.no_grad():
        return float(tag_probabilities(tagger, batch)[0, position, tagger.tag_index_[tag]])


@pytest.mark.parametrize("window", [1, 2])
def test_occlusion_equals_blanking_by_hand(colour_tagger, window):
    text = PROBES[1]
    words = text.split()
    (e,) = explain_text(colour_tagger, text, [len(words) - 1], "WARM", "occlusion",
                        window=window).explanations
    full = _probability_blanking_by_hand(colour_tagger, words, [], len(words) - 1, "WARM")
    assert e.value == pytest.approx(full, abs=1e-6)
    falls = np.zeros(len(words))
    covered = np.zeros(len(words))
    for start in range(len(words) - window + 1):
        span = range(start, start + window)
        fall = full - _probability_blanking_by_hand(colour_tagger, words, span,
                                                    len(words) - 1, "WARM")
        falls[list(span)] += fall
        covered[list(span)] += 1
    np.testing.assert_allclose([t.attribution for t in e.tokens], falls / covered, atol=1e-6)


def test_an_entity_tagger_explains_its_entities_with_offsets():
    from importlib.resources import files

    from seqlab.tasks.tag.conll import read_tagged

    news = read_tagged(str(files("seqlab") / "samples" / "news_entities.conll")).sentences
    config = apply_overrides(TagConfig(name="news", output_dir="runs"), {
        "model.hidden_size": 24, "model.embedding_dim": 16, "model.char_dim": 8,
        "model.char_hidden": 8, "training.max_epochs": 4, "training.threads": 1,
        "training.batch_size": 16})
    tagger = Tagger(config).fit(news[:120], news[120:160])
    text = "  Angela Merkel's visit to Paris (France) on 1996-08-22 ."
    found = explain_text(tagger, text, steps=8)
    tagged = tagger.tag_text(text).tokens
    assert [t["tag"] for t in found.tagged] == [t["tag"] for t in tagged]
    assert [e.extra["token_index"] for e in found.explanations] == [
        i for i, t in enumerate(found.tagged) if t["tag"] != "O"]
    for e in found.explanations:
        assert all(text[t.start:t.end] == t.token for t in e.tokens)


def test_tagging_bad_input(colour_tagger, monkeypatch):
    with pytest.raises(DataError, match=r"not one of the model's tags: .*COLD"):
        explain_text(colour_tagger, "red thing", tag="HOT")
    with pytest.raises(DataError, match="the text has 2 tokens, numbered 0 to 1"):
        explain_text(colour_tagger, "red thing", [5])
    with pytest.raises(DataError, match="'green' is not in the text; its tokens are: red thing"):
        explain_text(colour_tagger, "red thing", ["green"])
    with pytest.raises(ConfigError, match="it is explained by: ig, occlusion"):
        explain_text(colour_tagger, "red thing", method="weights")
    empty = explain_text(colour_tagger, "   ")
    assert empty.explanations == [] and "no tokens" in empty.notes[0]
    monkeypatch.setattr("seqlab.tasks.tag.explain.TOKEN_LIMIT", 3)
    cut = explain_text(colour_tagger, "the old red man thing", [0], steps=4)
    assert cut.tokens_cut == 2 and len(cut.explanations[0].tokens) == 3
    assert "2 more were cut" in cut.notes[0]


# ---- language models ------------------------------------------------------------------

ANIMALS = {"cat": "meow", "dog": "woof", "cow": "moo"}


def animal_lines(n: int, seed: int) -> str:
    """Lines of three fillers with an animal among them (or none), then ``says`` and the
    animal's sound (or ``nothing``): the sound hangs on the animal alone."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        animal = str(rng.choice([*ANIMALS, "none"]))
        words = list(rng.choice(FILLER, 3))
        if animal != "none":
            words.insert(int(rng.integers(0, 4)), animal)
        lines.append(" ".join([*words, "says", ANIMALS.get(animal, "nothing")]))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def animal_lm() -> LanguageModel:
    config = apply_overrides(LMConfig(name="animals", output_dir="runs"), {
        "corpus.level": "word", "corpus.documents": "lines", "model.cell": "gru",
        "model.num_layers": 1, "model.hidden_size": 32, "model.embedding_dim": 16,
        "model.dropout": 0.0, "training.max_epochs": 25, "training.patience": 25,
        "training.threads": 1, "training.batch_size": 8, "training.lr": 0.01, "bptt": 24})
    train, val = animal_lines(600, 0), animal_lines(90, 1)
    split = LanguageModel(config).level.split
    return LanguageModel(config).fit(Corpus(split(train), split(val), [], "memory"))


LM_PROBES = ["dog old boat near says", "the man cat saw says", "river then cow left says"]


@pytest.mark.parametrize("method", ["ig", "occlusion"])
def test_the_animal_drives_the_sound(animal_lm, method):
    for prompt in LM_PROBES:
        animal = next(w for w in prompt.split() if w in ANIMALS)
        (e,) = explain_next(animal_lm, [prompt], method=method)
        assert e.target == ANIMALS[animal]
        context = [t for t in e.tokens if t.token != "says"]  # says: a sound comes next
        assert max(context, key=lambda t: t.attribution).token == animal, (method, e.tokens)


def test_lm_ig_parts_add_up_and_offsets_map_back(animal_lm):
    prompt = "  dog, old boat near says"
    (e,) = explain_next(animal_lm, [prompt], method="ig", steps=100)
    total = sum(t.attribution for t in e.tokens)
    assert total - (e.value - e.reference) == pytest.approx(e.delta, abs=1e-5)
    placed = [t for t in e.tokens if t.start is not None]
    assert [prompt[t.start:t.end] for t in placed] == [t.token for t in placed]
    assert len(placed) == len(animal_lm.tokenize(prompt))


@pytest.mark.parametrize("window", [1, 2])
def test_lm_occlusion_equals_deleting_by_hand(animal_lm, window):
    prompt = "the man cat saw says"
    (e,) = explain_next(animal_lm, [prompt], ["meow"], "occlusion", window=window)
    ids = animal_lm._start(prompt)
    target = animal_lm.vocab_.stoi["meow"]

    def probability(kept):
        with torch.no_grad():
            logits, _ = animal_lm.module_(torch.tensor([kept]))
        return float(torch.softmax(animal_lm._masked(logits[0, -1]), -1)[target])

    full = probability(ids)
    falls, covered = np.zeros(len(ids)), np.zeros(len(ids))
    for start in range(len(ids) - window + 1):
        kept = [i for j, i in enumerate(ids) if not start <= j < start + window]
        falls[start:start + window] += full - probability(kept)
        covered[start:start + window] += 1
    assert e.value == pytest.approx(full, abs=1e-6)
    np.testing.assert_allclose([t.attribution for t in e.tokens], falls / covered, atol=1e-6)


def test_lm_bad_input_and_the_line_start(animal_lm, monkeypatch):
    with pytest.raises(DataError, match="'purr' is not in the model's vocabulary"):
        explain_next(animal_lm, ["cat says"], ["purr"])
    with pytest.raises(DataError, match="unknown to the model"):
        explain_next(animal_lm, ["zzz qqq"])
    (empty,) = explain_next(animal_lm, [""])
    assert [(t.token, t.start) for t in empty.tokens] == [("\n", None)]
    monkeypatch.setattr("seqlab.tasks.lm.explain.TOKEN_LIMIT", 2)
    (cut,) = explain_next(animal_lm, ["dog old boat near says"], method="occlusion")
    assert cut.tokens_cut == 3 and [t.token for t in cut.tokens] == ["near", "says"]
    assert "3 before them were cut" in cut.notes[0]


# ---- the CLI and the server -----------------------------------------------------------


def assert_same(got, expected):
    """JSON ``got`` equals ``expected``, numbers to 1e-5."""
    if isinstance(expected, dict):
        assert got.keys() == expected.keys()
        for key in expected:
            assert_same(got[key], expected[key])
    elif isinstance(expected, list | tuple):
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            assert_same(a, b)
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, abs=1e-5)
    else:
        assert got == expected


def test_cli_explains_tags_and_next_tokens(colour_tagger, animal_lm, tmp_path):
    tagger_path = colour_tagger.save(tmp_path / "tagger.safetensors")
    shown = runner.invoke(app, ["tag", "explain", str(tagger_path), PROBES[0], "--token",
                                "thing", "--steps", "10"])
    assert shown.exit_code == 0, shown.output
    assert "token 7 thing → WARM" in shown.output and "red +" in shown.output
    printed = runner.invoke(app, ["tag", "explain", str(tagger_path), PROBES[0], "--token",
                                  "7", "--steps", "10", "--json"])
    expected = explain_text(colour_tagger, PROBES[0], ["7"], steps=10).to_dict()
    assert_same(json.loads(printed.output), expected)
    refused = runner.invoke(app, ["tag", "explain", str(tagger_path), "red thing", "--tag",
                                  "HOT"])
    assert refused.exit_code == 2 and "COLD" in refused.output
    lm_path = animal_lm.save(tmp_path / "lm.safetensors")
    printed = runner.invoke(app, ["lm", "explain", str(lm_path), *LM_PROBES[:2], "--json"])
    assert printed.exit_code == 0, printed.output
    rows = [json.loads(line) for line in printed.output.splitlines()]
    assert [r["next"] for r in rows] == ["woof", "meow"]
    assert {r["method"] for r in rows} == {"occlusion"}  # a language model's default
    shown = runner.invoke(app, ["lm", "explain", str(lm_path), LM_PROBES[0], "--method", "ig",
                                "--steps", "10"])
    assert "next 'woof'" in shown.output and "completeness error" in shown.output


def test_servers_explain_as_the_library_does(colour_tagger, animal_lm, tmp_path):
    tagger_path = colour_tagger.save(tmp_path / "tagger.safetensors")
    client = TestClient(app_for(ServeSettings(model=str(tagger_path), max_explanations=3,
                                              max_explain_steps=20)))
    answer = client.post("/explain", json={"text": PROBES[2], "tokens": [3], "steps": 20})
    assert answer.status_code == 200
    expected = explain_text(colour_tagger, PROBES[2], [3], steps=20).to_dict()
    assert_same(answer.json()["results"][0], expected)
    over = client.post("/explain", json={"text": PROBES[2], "steps": 20})  # 4 tokens, cap 3
    assert over.status_code == 413 and "name fewer with `tokens`" in over.json()["error"]
    assert client.post("/explain", json={"text": "red", "steps": 21}).status_code == 422
    lm_path = animal_lm.save(tmp_path / "lm.safetensors")
    client = TestClient(app_for(ServeSettings(model=str(lm_path), max_explanations=2)))
    answer = client.post("/explain", json={"texts": LM_PROBES[:2], "method": "occlusion"})
    expected = [e.to_dict() for e in explain_next(animal_lm, LM_PROBES[:2],
                                                  method="occlusion")]
    assert_same(answer.json()["explanations"], expected)
    assert client.post("/explain", json={"texts": LM_PROBES}).status_code == 413
    refused = client.post("/explain", json={"text": "cat says", "next": "purr"})
    assert refused.status_code == 422 and "vocabulary" in refused.json()["error"]
