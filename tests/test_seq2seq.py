"""Sequence to sequence: reading pairs, beam search against brute force, toy tasks the
model must solve, the run folder, evaluate, the server route."""

from __future__ import annotations

import gzip
import itertools
import json
import math
import random
from importlib.resources import files
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.config import apply_overrides
from seqlab.errors import DataError
from seqlab.tasks.seq2seq.config import PairsConfig, Seq2SeqConfig
from seqlab.tasks.seq2seq.metrics import edit_distance, error_rate, seq2seq_scores
from seqlab.tasks.seq2seq.model import Seq2Seq
from seqlab.tasks.seq2seq.pairs import Pairs, load_pair_splits, read_pairs
from seqlab.tasks.seq2seq.search import beam_search, greedy
from seqlab.tasks.seq2seq.workflow import scored_outputs
from seqlab.text.levels import LEVELS
from seqlab.text.vocab import UNK_ID

from conftest import post_together

DATES = Path(str(files("seqlab") / "samples" / "dates.tsv"))
runner = CliRunner()
TOY = {"model.hidden_size": 64, "model.embedding_dim": 32, "model.dropout": 0.0,
       "model.label_smoothing": 0.0, "training.max_epochs": 20, "training.lr": 0.002,
       "training.batch_size": 32, "training.threads": 1, "training.monitor": "exact_match",
       "training.patience": 20, "ablation": False}


# ---- reading -----------------------------------------------------------------------------

def test_line_aligned_files_with_different_counts_are_one_error_naming_both(tmp_path):
    source, target = tmp_path / "train.de", tmp_path / "train.en.gz"
    source.write_text("ein hund\nzwei katzen\ndrei\n", encoding="utf-8")
    target.write_bytes(gzip.compress(b"a dog\ntwo cats\n"))
    with pytest.raises(DataError) as err:
        read_pairs(str(source), str(target), PairsConfig())
    message = str(err.value)
    assert "train.de has 3 lines" in message and "train.en.gz has 2" in message


def test_empty_sides_are_left_out_and_counted(tmp_path):
    table = tmp_path / "pairs.txt"
    table.write_text("a b\tb a\n\tx\nc d\td c\n", encoding="utf-8")
    pairs = read_pairs(str(table), None, PairsConfig())
    assert pairs.sources == ["a b", "c d"] and pairs.targets == ["b a", "d c"]
    assert pairs.notes == ["1 pairs with an empty side left out"]
    (tmp_path / "bad.txt").write_text("no tab here\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 1: write `source<TAB>target`"):
        read_pairs(str(tmp_path / "bad.txt"), None, PairsConfig())


def test_the_spaced_level_gives_the_text_back_exactly():
    level = LEVELS.get("spaced")
    for text in ("1984-03-21", "Ein Mann läuft, schnell.", "don't (ever) stop!"):
        assert level.join(level.split(text)) == text


# ---- metrics and search ------------------------------------------------------------------

def test_error_rates_and_exact_match_by_hand():
    assert edit_distance("kitten", "sitting") == 3
    assert error_rate([["a", "b"]], [["a", "c", "d"]]) == pytest.approx(2 / 3)
    scores = seq2seq_scores(["the cat sat", "a dog"], ["the cat sat", "the dog"])
    assert scores["exact_match"] == 0.5 and scores["bleu_signature"].startswith("nrefs:1")
    same = "the cat sat on the mat"
    assert seq2seq_scores([same], [same])["bleu"] == pytest.approx(100.0)


def test_an_output_is_right_if_it_equals_any_of_its_references():
    """Two pronunciations of one word, one of another: exact against any, error rates
    against the closest, BLEU and chrF as sacrebleu scores the reference streams."""
    import sacrebleu

    outputs = ["R IY D", "L EH D", "K AE T"]
    references = [["R EH D", "R IY D"], ["L IY D", "L EH D Z"], "K AE T S"]
    scores = seq2seq_scores(outputs, references)
    assert scores["exact_match"] == pytest.approx(1 / 3)
    # closest: R IY D (0 of 3), L IY D (1 of 3; L EH D Z is 1 of 4, the longer wins), K AE T S
    assert scores["token_error_rate"] == pytest.approx((0 + 1 + 1) / (3 + 4 + 4))
    assert scores["pairs"] == 5 and scores["sources"] == 3
    streams = [["R EH D", "L IY D", "K AE T S"], ["R IY D", "L EH D Z", None]]
    assert scores["bleu"] == pytest.approx(
        sacrebleu.metrics.BLEU().corpus_score(outputs, streams).score)
    assert scores["chrf"] == pytest.approx(
        sacrebleu.metrics.CHRF().corpus_score(outputs, streams).score)
    single = seq2seq_scores(["a b", "c"], ["a b", "d"])
    assert single == seq2seq_scores(["a b", "c"], [["a b"], ["d"]])
    assert single["bleu_signature"].startswith("nrefs:1")


def test_each_source_is_produced_once_and_scored_against_all_its_targets():
    pairs = Pairs(["read", "cat", "read", "lead"], ["R IY D", "K AE T", "R EH D", "L IY D"],
                  "toy")
    assert pairs.by_source() == (["read", "cat", "lead"],
                                 [["R IY D", "R EH D"], ["K AE T"], ["L IY D"]])
    answers, asked = {"read": "R EH D", "cat": "K AE T", "lead": "L EH D"}, []

    def outputs(sources: list[str]) -> list[str]:
        asked.append(list(sources))
        return [answers[s] for s in sources]

    scores, per_pair = scored_outputs(outputs, pairs)
    assert asked == [["read", "cat", "lead"]]
    assert per_pair == ["R EH D", "K AE T", "R EH D", "L EH D"]
    assert scores["exact_match"] == pytest.approx(2 / 3)


def test_a_held_out_source_takes_all_its_pairs_with_it(tmp_path):
    rng = random.Random(0)
    words = [f"w{i}" for i in range(60)]
    rows = [(w, f"{w} v{k}") for w in words for k in range(rng.randint(1, 3))]
    rng.shuffle(rows)
    table = tmp_path / "pairs.txt"
    table.write_text("".join(f"{s}\t{t}\n" for s, t in rows), encoding="utf-8")
    config = apply_overrides(Seq2SeqConfig(), {
        "data.train": str(table), "data.val_fraction": 0.2, "data.test_fraction": 0.2})
    splits = load_pair_splits(config)
    train, val, test = (set(p.sources) for p in (splits.train, splits.val, splits.test))
    assert not (train & val or train & test or val & test)
    assert len(splits.train) + len(splits.val) + len(splits.test) == len(rows)
    for part in (splits.val, splits.test):  # every pair of a held-out word went with it
        assert sorted(zip(part.sources, part.targets, strict=True)) == \
            sorted(r for r in rows if r[0] in set(part.sources))


def test_distinct_sources_are_held_out_as_a_plain_shuffle_would(tmp_path):
    rows = [(f"s{i}", f"t{i}") for i in range(50)]
    table = tmp_path / "pairs.txt"
    table.write_text("".join(f"{s}\t{t}\n" for s, t in rows), encoding="utf-8")
    config = apply_overrides(Seq2SeqConfig(), {"data.train": str(table),
                                               "data.val_fraction": 0.1, "seed": 5})
    order = list(range(50))
    random.Random(5).shuffle(order)
    assert load_pair_splits(config).val.sources == [rows[i][0] for i in order[:5]]


EOS, BOS, VOCAB, LENGTH = 0, 3, 3, 3
TABLE = torch.log_softmax(torch.tensor(
    [[[0.1, 2.0, 1.0], [1.0, 0.5, 0.2], [2.0, 0.1, 1.5]],   # by position, then previous token
     [[0.3, 1.0, 1.2], [0.2, 0.9, 1.0], [1.1, 1.0, 0.0]],
     [[2.0, 0.1, 0.3], [1.0, 1.0, 1.0], [0.5, 0.2, 2.5]]]), dim=-1)


def stub_step(tokens: torch.Tensor, carried: torch.Tensor):
    """Fixed log-probabilities of the next token by position and previous token."""
    position = carried[:, 0]
    previous = torch.where(tokens == BOS, 0, tokens)
    return TABLE[position.clamp(max=LENGTH - 1), previous], carried + 1


def brute_force(length_penalty: float) -> list[tuple[list[int], float]]:
    """Every output, scored: a body of fewer than LENGTH tokens then end-of-sequence, or
    LENGTH tokens cut there."""
    found = []
    for n in range(LENGTH + 1):
        for body in itertools.product(range(1, VOCAB), repeat=n):
            sequence = [*body, EOS] if n < LENGTH else list(body)
            log_p, previous = 0.0, BOS
            for position, token in enumerate(sequence):
                log_p += float(TABLE[position, 0 if previous == BOS else previous, token])
                previous = token
            found.append((list(body), log_p / len(sequence) ** length_penalty))
    return sorted(found, key=lambda x: -x[1])


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_a_wide_beam_finds_what_brute_force_enumeration_finds(length_penalty):
    select = lambda carried, index: carried[index]  # noqa: E731
    found = beam_search(stub_step, torch.zeros((1, 1), dtype=torch.long), select, BOS, EOS,
                        width=64, max_lengths=[LENGTH], length_penalty=length_penalty,
                        n_best=5)[0]
    expected = brute_force(length_penalty)[:5]
    assert [h.tokens for h in found] == [tokens for tokens, _ in expected]
    assert [h.score for h in found] == pytest.approx([score for _, score in expected])


def test_greedy_and_a_beam_of_one_agree_and_never_run_past_the_limit():
    select = lambda carried, index: carried[index]  # noqa: E731
    one = beam_search(stub_step, torch.zeros((1, 1), dtype=torch.long), select, BOS, EOS,
                      width=1, max_lengths=[LENGTH])[0][0]
    assert greedy(stub_step, torch.zeros((1, 1), dtype=torch.long), 1, BOS, EOS,
                  LENGTH) == [one.tokens]
    never_ends = lambda tokens, carried: (torch.log_softmax(  # noqa: E731
        torch.tensor([[-9.0, 1.0, 0.0]]).repeat(len(tokens), 1), -1), carried)
    assert greedy(never_ends, None, 2, BOS, EOS, 7) == [[1] * 7, [1] * 7]
    cut = beam_search(never_ends, None, lambda c, i: c, BOS, EOS, 2, [7])[0][0]
    assert len(cut.tokens) == 7 and not cut.finished


def test_sentences_searched_together_get_what_each_gets_alone():
    select = lambda carried, index: carried[index]  # noqa: E731
    start = torch.zeros((3, 1), dtype=torch.long)
    together = beam_search(stub_step, start, select, BOS, EOS, 2, [3, 2, 1], 1.0, 2)
    alone = [beam_search(stub_step, start[:1], select, BOS, EOS, 2, [limit], 1.0, 2)[0]
             for limit in (3, 2, 1)]
    assert [[(h.tokens, h.score) for h in found] for found in together] == \
        [[(h.tokens, h.score) for h in found] for found in alone]


# ---- learning ----------------------------------------------------------------------------

def toy_pairs(task: str, count: int, seed: int) -> Pairs:
    rng = random.Random(seed)
    rules = {"copy": list, "reverse": lambda w: w[::-1], "sort": sorted}
    sources = [" ".join(rng.choice("abcdef") for _ in range(rng.randint(2, 5)))
               for _ in range(count)]
    return Pairs(sources, [" ".join(rules[task](s.split())) for s in sources], task)


@pytest.mark.parametrize("task", ["copy", "reverse", "sort"])
def test_toy_tasks_are_solved(task):
    model = Seq2Seq(apply_overrides(Seq2SeqConfig(), TOY))
    model.fit(toy_pairs(task, 1500, 1), toy_pairs(task, 200, 2))
    held_out = toy_pairs(task, 200, 3)
    scores = seq2seq_scores(model.translate(held_out.sources), held_out.targets)
    assert scores["exact_match"] >= 0.99


# ---- the run, evaluate, serve --------------------------------------------------------------

@pytest.fixture(scope="module")
def dates_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s2s")
    result = runner.invoke(app, [
        "seq2seq", "train", str(DATES), "--set", "data.test_fraction=0.1",
        "--set", "model.hidden_size=32", "--set", "model.embedding_dim=16",
        "--set", "training.val_pairs=50", "--epochs", "2", "--beam-width", "2",
        "--name", "dates", "--output-dir", str(folder), "--quiet"])
    assert result.exit_code == 0, result.output
    return folder / "dates"


def test_the_run_folder_holds_the_model_its_baselines_and_the_report(dates_run):
    for name in ("model.safetensors", "metrics.json", "history.csv", "attention.png",
                 "learning_curves.png", "val_outputs.tsv", "test_outputs.tsv", "report.html",
                 "config.yaml"):
        assert (dates_run / name).exists(), name
    metrics = json.loads((dates_run / "metrics.json").read_text())
    names = [row["model"] for row in metrics["leaderboard"]]
    assert names == ["bigru 1×32, attention additive", "bigru 1×32, attention none",
                     "copy the source"]
    assert math.isfinite(metrics["test"]["bleu"]) and "Best validation outputs" in \
        (dates_run / "report.md").read_text()


def test_evaluate_on_the_validation_pairs_gives_the_runs_validation_scores(dates_run, tmp_path):
    val = tmp_path / "val.tsv"
    rows = (dates_run / "val_outputs.tsv").read_text(encoding="utf-8").splitlines()[1:]
    val.write_text("pair_source\tpair_target\n" + "".join(
        "\t".join(r.split("\t")[:2]) + "\n" for r in rows), encoding="utf-8")
    result = runner.invoke(app, ["seq2seq", "evaluate", str(dates_run), str(val), "--out",
                                 str(tmp_path / "ev"), "--source-column", "pair_source",
                                 "--target-column", "pair_target"])
    assert result.exit_code == 0, result.output
    scored = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    run = json.loads((dates_run / "metrics.json").read_text())["val"]
    assert scored["bleu"] == pytest.approx(run["bleu"]) and scored["pairs"] == len(rows)


def test_the_server_translates_with_n_best_and_caps_the_beam(dates_run):
    pytest.importorskip("fastapi", reason="the serve extra is not installed")
    from fastapi.testclient import TestClient

    from seqlab.serving.app import ServeSettings, app_for

    client = TestClient(app_for(ServeSettings(model=str(dates_run))))
    model = Seq2Seq.load(dates_run)
    response = client.post("/translate", json={"text": "dec 25, 2031", "n_best": 2})
    assert response.status_code == 200, response.text
    outputs = response.json()["results"][0]
    assert len(outputs) == 2 and outputs[0]["score"] >= outputs[1]["score"]
    assert outputs[0]["text"] == model.translate_n_best(["dec 25, 2031"], 2, 2)[0][0].text
    assert client.post("/translate", json={"text": "x", "beam_width": 99}).status_code == 413
    assert client.post("/translate", json={"text": "x", "n_best": 0}).status_code == 422
    assert client.get("/model").json()["task"] == "seq2seq"
    long_text = "dec 25, 2031 " * 40
    answer = client.post("/translate", json={"texts": ["dec 25, 2031", long_text]}).json()
    limit = model.config.data.max_tokens
    assert answer["source_tokens_cut"] == [
        0, len(model.tokens(long_text, "source")) - limit]


def test_concurrent_translations_each_get_the_models_own_answer(dates_run):
    """Requests in flight together (different beams and output counts among them) share
    model calls only with their like, and each gets what the model gives it alone."""
    pytest.importorskip("fastapi", reason="the serve extra is not installed")
    from seqlab.serving.app import ServeSettings, app_for

    model = Seq2Seq.load(dates_run)
    asks = [{"texts": [f"dec {day}, 20{day + 10}", f"jan {day}, 1999"][: 1 + day % 2],
             "beam_width": 1 + day % 3, "n_best": 1 + day % 2} for day in range(1, 25)]
    answers = post_together(app_for(ServeSettings(model=str(dates_run))), "/translate", asks)
    for ask, response in zip(asks, answers, strict=True):
        assert response.status_code == 200, response.text
        width = max(ask["beam_width"], ask["n_best"])
        alone = model.translate_n_best(ask["texts"], width, ask["n_best"])
        assert [[o["text"] for o in outputs] for outputs in response.json()["results"]] == \
            [[o.text for o in outputs] for outputs in alone]


def test_subwords_are_learned_saved_and_give_readable_text_back(tmp_path):
    sources = ["ein hund läuft", "zwei hunde laufen", "ein kind spielt", "zwei kinder spielen"]
    pairs = Pairs(sources * 8, [s.upper() for s in sources] * 8, "memory")
    config = apply_overrides(Seq2SeqConfig(), {**TOY, "data.subwords": 60,
                                               "training.max_epochs": 3})
    model = Seq2Seq(config).fit(pairs, pairs)
    pieces = model.tokens("zwei hunde laufen", "source")
    assert len(pieces) >= 3 and pieces[0].startswith("▁")
    assert model._text(model.target_vocab_.encode(model.tokens("ZWEI HUNDE", "target"))
                       ) == "ZWEI HUNDE"
    def ids(text: str) -> list[int]:
        return model.target_vocab_.encode(model.tokens(text, "target")).tolist()

    assert model._text([*ids("ZWEI"), UNK_ID, *ids("HUNDE")]) == "ZWEI <unk> HUNDE"
    loaded = Seq2Seq.load(model.save(tmp_path / "bpe.safetensors"))
    assert loaded.tokens("zwei hunde laufen", "source") == pieces
    assert loaded.translate(sources) == model.translate(sources)
    assert model.translate(["", "  "]) == ["", ""]  # nothing asked, nothing answered
    assert model.translate(["", sources[0]], beam_width=1)[0] == ""


def test_asking_for_more_subwords_than_the_text_holds_says_so(tmp_path):
    sources = ["ein hund", "zwei hunde"]
    pairs = Pairs(sources * 4, [s.upper() for s in sources] * 4, "memory")
    config = apply_overrides(Seq2SeqConfig(), {**TOY, "data.subwords": 5_000,
                                               "training.max_epochs": 1})
    model = Seq2Seq(config).fit(pairs, pairs)
    notes = model.fit_info_["notes"]
    learned = model.subwords_["source"].get_vocab_size()
    assert learned < 5_000
    assert f"source subwords: {learned:,} learned of the 5,000 asked for" in notes[0]
    assert any(note.startswith("target subwords") for note in notes)


def test_predict_says_how_much_of_a_long_text_was_not_read(dates_run):
    model = Seq2Seq.load(dates_run)
    long_text = "dec 25, 2031 " * 40
    cut = len(model.tokens(long_text, "source")) - model.config.data.max_tokens
    result = CliRunner().invoke(app, ["seq2seq", "predict", str(dates_run), "dec 25, 2031",
                                      long_text])
    assert result.exit_code == 0, result.output
    assert result.output.count("were not read") == 1
    assert f"the last {cut} tokens were not read" in result.output
