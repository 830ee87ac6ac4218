"""Language models: tokens, corpus split, n-gram baseline, training, generation,
completion, bundle, CLI and server."""

from __future__ import annotations

import json
import math

import pytest
import torch
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.config import apply_overrides
from seqlab.errors import BundleError, ConfigError, DataError, SeqlabError
from seqlab.tasks.lm.config import LMConfig
from seqlab.tasks.lm.corpus import Corpus, read_corpus, split_tokens
from seqlab.tasks.lm.model import LanguageModel
from seqlab.tasks.lm.ngram import KneserNey
from seqlab.tasks.lm.sampling import next_token
from seqlab.tasks.lm.workflow import train_lm
from seqlab.text.levels import LEVELS

from conftest import SHARED_DATA, StopAfter, post_together

runner = CliRunner()
PATTERN = "abcdefgh " * 300
TINY = {"model.hidden_size": 32, "model.embedding_dim": 16, "model.num_layers": 1,
        "model.dropout": 0.0, "training.max_epochs": 15, "training.patience": 20,
        "training.threads": 1, "training.batch_size": 8, "training.lr": 0.01, "bptt": 32}
QUERIES = ["san francisco weather", "san francisco hotels", "san diego zoo",
           "san francisco weather", "santa fe hotels", "new york weather",
           "san francisco weather", "new york pizza"] * 25


def tiny_config(tmp_path=None, **overrides) -> LMConfig:
    base = LMConfig(name="lm", output_dir=str(tmp_path or "runs"))
    return apply_overrides(base, {**TINY, **overrides})


def corpus_of(text: str, level: str = "char", lines: bool = False) -> Corpus:
    tokens = LEVELS.get(level).split(text)
    train, val, test = split_tokens(tokens, 0.1, 0.0, lines)
    return Corpus(train, val, test, "memory")


@pytest.fixture(scope="module")
def pattern_lm() -> LanguageModel:
    return LanguageModel(tiny_config()).fit(corpus_of(PATTERN))


@pytest.fixture(scope="module")
def query_lm() -> LanguageModel:
    config = tiny_config(**{"corpus.documents": "lines", "model.hidden_size": 48,
                            "training.max_epochs": 25})
    text = "".join(q + "\n" for q in QUERIES)
    return LanguageModel(config).fit(corpus_of(text, lines=True))


# ---- tokens and corpus ----------------------------------------------------------------

def test_word_tokens_join_back_into_readable_text():
    level = LEVELS.get("word")
    text = "Hello, world! It's (really) fine.\nNext line"
    tokens = level.split(text)
    assert tokens[:4] == ["Hello", ",", "world", "!"] and "It's" in tokens and "\n" in tokens
    assert level.join(tokens) == "Hello, world! It's (really) fine.\nNext line"
    assert level.join(["more"], after="the ") == "more"
    assert level.join(["more"], after="the") == " more"


def test_split_keeps_order_and_lines_mode_never_cuts_a_line():
    tokens = list("one\ntwo\nthree\nfour\nfive\n")
    train, val, test = split_tokens(tokens, 0.3, 0.0, snap_to_lines=True)
    assert train + val == tokens and not test
    assert train[-1] == "\n" and "".join(val).count("\n") == len("".join(val).splitlines())
    train, val, test = split_tokens(list(range(100)), 0.1, 0.2, snap_to_lines=False)
    assert (len(train), len(val), len(test)) == (70, 10, 20)
    assert train + val + test == list(range(100))


def test_bad_corpus_gets_a_clear_error(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n  \n", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        read_corpus(tiny_config(tmp_path, **{"corpus.path": str(empty),
                                             "corpus.documents": "lines"}).corpus)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("fine line\ncaf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"line 2: the file is not valid utf-8.*--encoding"):
        read_corpus(tiny_config(tmp_path, **{"corpus.path": str(latin)}).corpus)
    short = tmp_path / "short.txt"
    short.write_text("abc", encoding="utf-8")
    with pytest.raises(DataError, match="too few"):
        read_corpus(tiny_config(tmp_path, **{"corpus.path": str(short)}).corpus)
    with pytest.raises(DataError, match="no such file"):
        read_corpus(tiny_config(tmp_path, **{"corpus.path": str(tmp_path / "nope.txt")}).corpus)
    with pytest.raises(ConfigError, match="tie_weights"):
        tiny_config(**{"model.tie_weights": True, "model.embedding_dim": 8})


# ---- the n-gram baseline ----------------------------------------------------------------

def test_kneser_ney_matches_a_hand_worked_bigram_and_sums_to_one():
    model = KneserNey(2, 3).fit([0, 1, 0, 1, 2])
    # bigram counts (0,1)=2, (1,0)=1, (1,2)=1 → D2 = 2/(2+2·1) = 0.5; the unigram level
    # (continuation counts, one each) with D1 = 1 is uniform: 1/3
    assert model.prob([0], 1) == pytest.approx(1.5 / 2 + 0.5 * 1 / 2 / 3)
    assert model.prob([1], 0) == pytest.approx(0.5 / 2 + 0.5 * 2 / 2 / 3)
    assert model.prob([2], 0) == pytest.approx(1 / 3)  # unseen context: the lower order
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 6, (400,), generator=generator).tolist()
    trigram = KneserNey(3, 8).fit(ids)
    for context in ([], [3], [3, 4], [7, 7], [1, 2, 5]):
        assert sum(trigram.prob(context, w) for w in range(8)) == pytest.approx(1.0)


def test_real_text_higher_orders_predict_better():
    path = SHARED_DATA / "text" / "tinyshakespeare.txt"
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set SEQLAB_SHARED_DATA); skipping")
    text = path.read_text(encoding="utf-8")[:200_000]
    vocab = {c: i for i, c in enumerate(sorted(set(text)))}
    ids = [vocab[c] for c in text]
    cut = int(len(ids) * 0.9)
    nats = [KneserNey(order, len(vocab)).fit(ids[:cut]).nats(ids[cut:]) for order in (1, 3, 5)]
    assert nats[0] > nats[1] > nats[2]
    assert nats[2] < math.log(len(vocab)) / 2  # far better than guessing among the characters


# ---- training, generation, completion ---------------------------------------------------

def test_model_learns_a_repeated_pattern_and_greedy_generation_continues_it(pattern_lm):
    losses = [row["val_loss"] for row in pattern_lm.history_]
    assert min(losses) < losses[0]
    assert pattern_lm.generate_text("abc", 23, temperature=0) == "abcdefgh abcdefgh abcdefgh"
    # the pattern is likelier than the same characters out of order
    learned = pattern_lm.score("abcdefgh abcdefgh")["perplexity"]
    assert learned < pattern_lm.score("hgfedcba hgfedcba")["perplexity"]


def test_sampling_with_a_seed_is_reproducible(query_lm):
    first = query_lm.generate_text("san", 60, temperature=1.5, seed=7)
    assert first == query_lm.generate_text("san", 60, temperature=1.5, seed=7)
    others = {query_lm.generate_text("san", 60, temperature=1.5, seed=s) for s in range(8)}
    assert len(others) > 1
    assert first.startswith("san")


def test_top_k_and_top_p_only_draw_from_the_kept_tokens():
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    generator = torch.Generator().manual_seed(0)
    drawn = {next_token(logits, 1.0, top_k=2, generator=generator) for _ in range(200)}
    assert drawn == {0, 1}
    drawn = {next_token(logits, 1.0, top_p=0.85, generator=generator) for _ in range(300)}
    assert drawn == {0, 1, 2}  # 0.5 + 0.3 < 0.85, so the third token is needed
    assert next_token(logits, 0.0) == 0


def test_completions_start_with_the_prefix_and_are_ranked(query_lm):
    found = query_lm.complete("san f", n=3)
    assert len(found) == 3 and found[0].text == "san francisco weather"
    assert all(c.text.startswith("san f") for c in found)
    probabilities = [c.probability for c in found]
    assert probabilities == sorted(probabilities, reverse=True) and probabilities[0] < 1
    words = query_lm.complete("san f", n=2, until="word")
    assert words[0].text == "san francisco" and words[0].completion == "rancisco"
    # distinct completions are disjoint events: their probabilities can never sum past 1
    # (how close to 1 they come depends on the training, so that is not asserted)
    mass = sum(c.probability for c in query_lm.complete("new york ", n=5))
    assert 0 < mass <= 1 + 1e-6


def test_word_level_completion_finishes_the_typed_word(tmp_path):
    config = tiny_config(**{"corpus.level": "word", "corpus.documents": "lines"})
    text = "".join(q + "\n" for q in QUERIES)
    lm = LanguageModel(config).fit(corpus_of(text, level="word", lines=True))
    found = lm.complete("san fr", n=2, until="word")
    assert found[0].text == "san francisco"
    line = lm.complete("new", n=2)
    assert line[0].text in {"new york weather", "new york pizza"}
    assert lm.complete("san qq") == []
    prefixes = ["san fr", "san qq", "new", "new y"]
    for until in ("word", "line"):
        _assert_same_completions(lm.complete_many(prefixes, n=2, until=until),
                                 [lm.complete(p, n=2, until=until) for p in prefixes])


def _assert_same_completions(found, expected):
    assert [[c.text for c in row] for row in found] == [[c.text for c in row] for row in expected]
    assert [[c.completion for c in row] for row in found] == \
        [[c.completion for c in row] for row in expected]
    for row, alone in zip(found, expected, strict=True):
        assert [c.probability for c in row] == pytest.approx([c.probability for c in alone],
                                                             rel=1e-4)


def test_prefixes_completed_side_by_side_equal_each_alone(query_lm):
    prefixes = ["san f", "new york ", "w", "", "weather in s"]
    _assert_same_completions(query_lm.complete_many(prefixes, n=3),
                             [query_lm.complete(p, n=3) for p in prefixes])
    with pytest.raises(DataError, match="unknown to the model"):
        query_lm.complete_many(["san", "@@"], n=2)


def test_bad_requests_get_clear_errors(pattern_lm):
    with pytest.raises(DataError, match="unknown to the model"):
        next(pattern_lm.generate("XYZ", 5))
    for bad in ({"length": 0}, {"temperature": -1.0}, {"top_p": 1.5}, {"top_k": 0}):
        with pytest.raises(SeqlabError):
            next(pattern_lm.generate("abc", **{"length": 5, **bad}))
    with pytest.raises(SeqlabError, match="until"):
        pattern_lm.complete("ab", until="sentence")


# ---- bundle, resume, run folder ---------------------------------------------------------

def test_bundle_round_trip_keeps_every_prediction(pattern_lm, tmp_path):
    path = pattern_lm.save(tmp_path / "lm.safetensors")
    loaded = LanguageModel.load(path)
    assert loaded.generate_text("ab", 40, temperature=1.0, seed=3) == \
        pattern_lm.generate_text("ab", 40, temperature=1.0, seed=3)
    assert loaded.score(PATTERN[:200]) == pytest.approx(pattern_lm.score(PATTERN[:200]))
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(path.read_bytes()[:300])
    with pytest.raises(BundleError):
        LanguageModel.load(damaged)


def test_tied_weights_share_one_matrix_and_survive_saving(tmp_path):
    config = tiny_config(**{"model.tie_weights": True, "model.embedding_dim": 32,
                            "training.max_epochs": 2})
    lm = LanguageModel(config).fit(corpus_of(PATTERN))
    module = lm.module_
    assert module.output.weight is module.embedding.weight
    loaded = LanguageModel.load(lm.save(tmp_path / "tied.safetensors"))
    assert loaded.module_.output.weight is loaded.module_.embedding.weight
    assert torch.equal(loaded.module_.embedding.weight, module.embedding.weight)


def test_run_folder_report_and_resume(tmp_path):
    corpus = tmp_path / "pattern.txt"
    corpus.write_text(PATTERN, encoding="utf-8")
    config = tiny_config(tmp_path, **{"corpus.path": str(corpus), "training.max_epochs": 4,
                                      "model.dropout": 0.2, "samples": 2, "ngram_order": 3})
    outcome = train_lm(config)
    run = outcome.run_dir
    for name in ("model.safetensors", "config.yaml", "metrics.json", "history.csv",
                 "samples.txt", "learning_curves.png", "report.html", "report.md"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert {row["model"] for row in metrics["leaderboard"]} == {"lstm 1×32", "kneser-ney 3-gram"}
    assert "Sample 2" in (run / "report.md").read_text()
    # interrupted in epoch 3, then resumed: the same history and model as the straight run
    cut = apply_overrides(config, {"name": "cut"})
    with pytest.raises(KeyboardInterrupt):
        train_lm(cut, callbacks=StopAfter(3))
    resumed = train_lm(cut, resume=True)
    straight = json.loads((run / "metrics.json").read_text())["val"]
    again = json.loads((resumed.run_dir / "metrics.json").read_text())["val"]
    assert again["loss"] == pytest.approx(straight["loss"], abs=1e-6)


def test_cli_train_generate_complete(tmp_path):
    corpus = tmp_path / "queries.txt"
    corpus.write_text("".join(q + "\n" for q in QUERIES), encoding="utf-8")
    args = ["lm", "train", str(corpus), "--lines", "--output-dir", str(tmp_path), "--name",
            "q", "--hidden-size", "48", "--embedding-dim", "16", "--layers", "1", "--epochs",
            "25", "--bptt", "32", "--set", "training.batch_size=8", "--set",
            "training.threads=1", "--set", "training.lr=0.01", "--set", "training.patience=30",
            "--quiet"]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "kneser-ney 5-gram" in result.output
    model = str(tmp_path / "q")
    result = runner.invoke(app, ["lm", "complete", model, "san f", "--n", "2"])
    assert result.exit_code == 0 and "san francisco weather" in result.output
    result = runner.invoke(app, ["lm", "generate", model, "--prompt", "new", "--length", "20",
                                 "--seed", "1"])
    assert result.exit_code == 0 and result.output.startswith("new")
    again = runner.invoke(app, ["lm", "generate", model, "--prompt", "new", "--length", "20",
                                "--seed", "1"])
    assert again.output == result.output
    bad = runner.invoke(app, ["lm", "generate", model, "--prompt", "@@@", "--length", "5"])
    assert bad.exit_code == 2 and "unknown to the model" in bad.output
    bad = runner.invoke(app, ["lm", "generate", model, "--length", "0"])
    assert bad.exit_code == 2 and "length 0" in bad.output
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    bad = runner.invoke(app, ["lm", "train", str(empty), "--output-dir", str(tmp_path)])
    assert bad.exit_code == 2 and "empty" in bad.output


def test_server_generates_and_completes(query_lm, tmp_path):
    from fastapi.testclient import TestClient

    from seqlab.serving.app import ServeSettings, app_for

    path = query_lm.save(tmp_path / "queries.safetensors")
    client = TestClient(app_for(ServeSettings(model=str(path))))
    done = client.post("/complete", json={"prefix": "san f", "n": 2}).json()
    assert done["completions"][0]["text"] == "san francisco weather"
    body = {"prompt": "new", "length": 30, "seed": 4, "temperature": 1.0}
    made = client.post("/generate", json=body).json()
    assert made["text"] == query_lm.generate_text("new", 30, temperature=1.0, seed=4)
    streamed = client.post("/generate", json={**body, "stream": True})
    assert streamed.text == made["text"]
    refused = client.post("/generate", json={"prompt": "@@", "length": 5})
    assert refused.status_code == 422 and "unknown" in refused.json()["error"]
    assert client.post("/generate", json={"length": 0}).status_code == 422
    assert client.get("/model").json()["task"] == "language-model"


@pytest.mark.parametrize("temperature", [1.0, 0.0])
def test_prompts_generated_side_by_side_equal_each_alone(query_lm, temperature):
    asks = [("new", 3), ("san f", 9), ("", 1), ("weather in", 2**62)]
    together = query_lm.generate_many(asks, 25, temperature=temperature, top_k=5)
    assert together == [query_lm.generate_text(prompt, 25, temperature=temperature, top_k=5,
                                               seed=seed)[len(prompt):]
                        for prompt, seed in asks]
    with pytest.raises(DataError, match="unknown to the model"):
        query_lm.generate_many([("new", 1), ("@@", 2)], 5)
    assert query_lm.generate_many([], 5) == [] and query_lm.complete_many([]) == []


def test_concurrent_generations_and_completions_each_get_the_models_own_answer(query_lm, tmp_path):
    """Requests in flight together (two lengths, three temperatures; completions of
    three counts and two ends) share model steps only with their like, and each gets what
    the model gives it alone; a bad prompt among them gets its own error."""
    from seqlab.serving.app import ServeSettings, app_for

    path = query_lm.save(tmp_path / "queries.safetensors")
    app = app_for(ServeSettings(model=str(path)))
    asks = [{"prompt": ["new", "san", "weather", ""][i % 4], "seed": i, "length": 10 + i % 2,
             "temperature": [0.0, 0.5, 1.0][i % 3]} for i in range(18)]
    asks.insert(5, {"prompt": "@@", "seed": 1, "length": 10, "temperature": 0.0})
    for ask, response in zip(asks, post_together(app, "/generate", asks), strict=True):
        if ask["prompt"] == "@@":
            assert response.status_code == 422 and "unknown" in response.json()["error"]
            continue
        assert response.status_code == 200, response.text
        assert response.json()["text"] == query_lm.generate_text(
            ask["prompt"], ask["length"], temperature=ask["temperature"], seed=ask["seed"])

    # completions in flight together: those asking the same count and end share steps
    asks = [{"prefix": ["san f", "new york ", "w", "weather in s"][i % 4], "n": 1 + i % 3,
             "until": ["word", "line"][i % 2]} for i in range(12)]
    asks.insert(3, {"prefix": "@@", "n": 1, "until": "word"})
    for ask, response in zip(asks, post_together(app, "/complete", asks), strict=True):
        if ask["prefix"] == "@@":
            assert response.status_code == 422 and "unknown" in response.json()["error"]
            continue
        assert response.status_code == 200, response.text
        alone = query_lm.complete(ask["prefix"], n=ask["n"], until=ask["until"])
        assert [c["text"] for c in response.json()["completions"]] == [c.text for c in alone]
