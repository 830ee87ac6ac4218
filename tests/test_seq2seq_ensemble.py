"""Ensembles of encoder–decoders: the mixture checked against the members' own
distributions, two copies of one model against the model, the bundle round trip, the
refusals, and ``seqlab seq2seq ensemble``."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.config import apply_overrides
from seqlab.errors import ConfigError
from seqlab.tasks.seq2seq.config import Seq2SeqConfig
from seqlab.tasks.seq2seq.model import BOS, EOS, Seq2Seq, _padded
from seqlab.tasks.seq2seq.pairs import Pairs
from seqlab.tasks.seq2seq.workflow import ensemble_seq2seq, scored_outputs

from conftest import SEQ2SEQ_QUICK, reversed_words

runner = CliRunner()


def trained(seed: int, **settings) -> Seq2Seq:
    model = Seq2Seq(apply_overrides(Seq2SeqConfig(),
                                    {**SEQ2SEQ_QUICK, "seed": seed, **settings}))
    return model.fit(reversed_words(300, 1), reversed_words(40, 2))


@pytest.fixture(scope="module")
def members() -> list[Seq2Seq]:
    """Three models of the same pairs: two seeds, and a two-layer LSTM."""
    return [trained(1), trained(2), trained(3, **{"model.cell": "lstm",
                                                   "model.num_layers": 2})]


TEXTS = [*reversed_words(12, 3).sources, "", "f " * 70]


def test_each_step_is_the_mean_of_the_members_distributions(members):
    ensemble = Seq2Seq.ensemble(members)
    source, lengths = _padded([ensemble._source_ids(t) for t in TEXTS[:5]])
    bos = ensemble.target_vocab_.stoi[BOS]
    tokens = torch.full((5,), bos, dtype=torch.long)
    with torch.inference_mode():
        mixed_carried = ensemble._encode(source, lengths)
        own_carried = [m._encode(source, lengths) for m in members]
        for _ in range(4):  # the same tokens fed to all, chosen by the mixture
            mixed, mixed_carried = ensemble._step(tokens, mixed_carried)
            steps = [m._step(tokens, c) for m, c in zip(members, own_carried, strict=True)]
            own_carried = [c for _, c in steps]
            by_hand = torch.stack([lp.exp() for lp, _ in steps]).mean(dim=0).log()
            torch.testing.assert_close(mixed, by_hand, atol=1e-5, rtol=1e-5)
            assert torch.allclose(mixed.exp().sum(dim=-1), torch.ones(5), atol=1e-5)
            tokens = mixed.argmax(dim=-1)


def test_greedy_decoding_follows_the_mixture_token_by_token(members):
    """Greedy search against a decoder written here: each member stepped alone, the
    argmax of the mean of their probabilities fed back, until end-of-sequence."""
    ensemble = Seq2Seq.ensemble(members)
    v = ensemble.target_vocab_
    for text in TEXTS[:6]:
        source, lengths = _padded([ensemble._source_ids(text)])
        with torch.inference_mode():
            carried = [m._encode(source, lengths) for m in members]
            token, written = v.stoi[BOS], []
            while len(written) < ensemble._max_length(int(lengths[0])):
                steps = [m._step(torch.tensor([token]), c)
                         for m, c in zip(members, carried, strict=True)]
                carried = [c for _, c in steps]
                token = int(torch.stack([lp.exp() for lp, _ in steps]).mean(dim=0).argmax())
                if token == v.stoi[EOS]:
                    break
                written.append(token)
        assert ensemble.translate([text], beam_width=1) == [ensemble._text(written)]


def test_an_ensemble_of_copies_of_one_model_is_that_model(members):
    alone = members[0]
    copies = Seq2Seq.ensemble([alone, alone, alone])
    ours = alone.translate_n_best(TEXTS, beam_width=3, n_best=3)
    theirs = copies.translate_n_best(TEXTS, beam_width=3, n_best=3)
    assert [[o.text for o in found] for found in theirs] == \
        [[o.text for o in found] for found in ours]
    assert [o.score for found in theirs for o in found] == pytest.approx(
        [o.score for found in ours for o in found], abs=1e-4)


def test_the_bundle_round_trips_and_nested_ensembles_flatten(members, tmp_path):
    ensemble = Seq2Seq.ensemble(members)
    path = ensemble.save(tmp_path / "ensemble.safetensors")
    loaded = Seq2Seq.load(path)
    assert [m.num_layers for m in loaded.members_] == [1, 1, 2]
    assert loaded.translate_n_best(TEXTS, 3, 2) == ensemble.translate_n_best(TEXTS, 3, 2)
    nested = Seq2Seq.ensemble([Seq2Seq.ensemble(members[:2]), members[2]])
    assert len(nested.members_) == 3
    assert nested.translate(TEXTS) == ensemble.translate(TEXTS)
    read, written, weights = loaded.attention(TEXTS[0], "a b")
    assert weights.shape == (len(written), len(read))
    assert weights.sum(axis=1) == pytest.approx([1.0] * len(written), abs=1e-5)


def test_models_that_read_differently_or_too_few_are_refused(members):
    with pytest.raises(ConfigError, match="two models or more"):
        Seq2Seq.ensemble(members[:1])
    other = Seq2Seq(apply_overrides(Seq2SeqConfig(), SEQ2SEQ_QUICK)).fit(
        Pairs(["x y", "y z"] * 20, ["z y", "y x"] * 20, "other"),
        Pairs(["x z"], ["z x"], "other"))
    with pytest.raises(ConfigError, match=r"other\.safetensors cannot join .*vocab"):
        Seq2Seq.ensemble([members[0], other], ["first.safetensors", "other.safetensors"])
    lowered = trained(1, **{"data.lowercase": True})
    with pytest.raises(ConfigError, match=r"data\.lowercase"):
        Seq2Seq.ensemble([members[0], lowered])


def test_a_retrained_ensemble_is_one_model_again(members, tmp_path):
    model = Seq2Seq.ensemble(members[:2])
    model.fit(reversed_words(300, 1), reversed_words(40, 2))
    assert model.members_ == []
    assert Seq2Seq.load(model.save(tmp_path / "one.safetensors")).members_ == []


def test_the_ensemble_command_scores_it_beside_its_members(members, tmp_path):
    paths = [str(m.save(tmp_path / f"m{i}.safetensors")) for i, m in enumerate(members)]
    val = tmp_path / "val.tsv"
    pairs = reversed_words(30, 4)
    val.write_text("source\ttarget\n" + "".join(
        f"{s}\t{t}\n" for s, t in zip(pairs.sources, pairs.targets, strict=True)),
        encoding="utf-8")
    out = tmp_path / "ensemble.safetensors"
    rows = ensemble_seq2seq(paths, out, str(val), beam_width=2)
    assert sorted(row["model"] for row in rows) == sorted(
        [*paths, "ensemble (ensemble.safetensors)"])
    assert [row["exact_match"] for row in rows] == sorted(
        (row["exact_match"] for row in rows), reverse=True)
    by_hand = Seq2Seq.ensemble(members)
    ensemble_row = next(row for row in rows if row["model"].startswith("ensemble"))
    assert ensemble_row["bleu"] == scored_outputs(
        lambda sources: by_hand.translate(sources, 2), pairs)[0]["bleu"]
    assert Seq2Seq.load(out).translate(TEXTS) == by_hand.translate(TEXTS)

    again = tmp_path / "again.safetensors"
    result = runner.invoke(app, ["seq2seq", "ensemble", *paths, "--out", str(again),
                                 "--val", str(val)])
    assert result.exit_code == 0, result.output
    assert "exact match" in result.output and again.exists()
    refused = runner.invoke(app, ["seq2seq", "ensemble", *paths, "--out", str(again)])
    assert refused.exit_code != 0 and "--force" in refused.output
    assert "Traceback" not in refused.output
    predicted = runner.invoke(app, ["seq2seq", "predict", str(again), "a b c",
                                    "--n-best", "2"])
    assert predicted.exit_code == 0, predicted.output
    info = runner.invoke(app, ["seq2seq", "info", str(again)])
    assert info.exit_code == 0 and "member 3 of 3" in info.output


def test_the_server_translates_with_the_ensemble(members, tmp_path):
    pytest.importorskip("fastapi", reason="the serve extra is not installed")
    from fastapi.testclient import TestClient

    from seqlab.serving.app import ServeSettings, app_for

    ensemble = Seq2Seq.ensemble(members)
    path = ensemble.save(tmp_path / "ensemble.safetensors")
    client = TestClient(app_for(ServeSettings(model=str(path))))
    response = client.post("/translate", json={"texts": TEXTS[:3], "n_best": 2})
    assert response.status_code == 200, response.text
    expected = ensemble.translate_n_best(TEXTS[:3], None, 2)
    assert [[o["text"] for o in found] for found in response.json()["results"]] == \
        [[o.text for o in found] for found in expected]


def test_the_onnx_export_refuses_an_ensemble_clearly(members, tmp_path):
    pytest.importorskip("onnxruntime", reason="ONNX export needs the [onnx] extra")
    path = Seq2Seq.ensemble(members[:2]).save(tmp_path / "ensemble.safetensors")
    result = runner.invoke(app, ["seq2seq", "export", str(path), "--out",
                                 str(tmp_path / "onnx")])
    assert result.exit_code != 0 and "ensemble of 2 models" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "onnx").exists()


# ---- members trained together ----------------------------------------------------------

def test_the_first_member_is_the_lone_model_and_the_bundle_keeps_them_all(tmp_path):
    together = trained(5, **{"model.members": 2})
    lone = trained(5)
    first, second = together.module_.members
    for name, weight in lone.module_.state_dict().items():
        assert torch.equal(first.state_dict()[name], weight), name
    assert not torch.equal(first.output.weight, second.output.weight)
    info = together.fit_info_["members"]
    assert info["count"] == 2 and info["seeds"] == [5, 6]
    monitor = f"val_{info['metric']}"
    assert info["validation"][0] == lone.history_[lone.best_epoch_ - 1][monitor]
    assert len(together.members_) == 2
    loaded = Seq2Seq.load(together.save(tmp_path / "members.safetensors"))
    assert loaded.translate_n_best(TEXTS, 3, 2) == together.translate_n_best(TEXTS, 3, 2)


def test_a_run_with_members_reports_each_and_keeps_their_checkpoints(tmp_path):
    pairs = reversed_words(300, 1)
    data = tmp_path / "pairs.tsv"
    data.write_text("source\ttarget\n" + "".join(
        f"{s}\t{t}\n" for s, t in zip(pairs.sources, pairs.targets, strict=True)),
        encoding="utf-8")
    settings = [item for key, value in SEQ2SEQ_QUICK.items()
                for item in ("--set", f"{key}={value}")]
    result = runner.invoke(app, ["seq2seq", "train", str(data), *settings,
                                 "--set", "model.members=2", "--name", "two",
                                 "--output-dir", str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "two"
    assert (run / "checkpoints" / "member2" / "best.safetensors").exists()
    report = (run / "report.md").read_text(encoding="utf-8")
    assert "the members alone (seeds 13, 14)" in report
    assert "2 × bigru 1×16" in report
    assert len(Seq2Seq.load(run).members_) == 2
