"""Taggers averaged (``model.members``): the mean's decoding against brute force, the
first member against a lone tagger, the bundle, resume, the report and explanations."""

from __future__ import annotations

import itertools

import pytest
import torch
from test_tagging import NEWS, tiny_config

from seqlab.tasks.tag.conll import Sentence, read_tagged
from seqlab.tasks.tag.explain import blanked, explain_text, read, tag_probabilities
from seqlab.tasks.tag.network import RecurrentTagger, TaggerBatch, TaggerMean
from seqlab.tasks.tag.schemes import allowed_transitions
from seqlab.tasks.tag.tagger import Tagger
from seqlab.tasks.tag.workflow import train_tagger

from conftest import StopAfter

TAGS = ["O", "B-PER", "I-PER"]


@pytest.fixture(scope="module")
def news() -> list[Sentence]:
    return read_tagged(NEWS).sentences


def random_member(seed: int, crf: bool) -> RecurrentTagger:
    torch.manual_seed(seed)
    member = RecurrentTagger(12, len(TAGS), embedding_dim=6, hidden_size=5, dropout=0.0,
                             casing=False, crf=crf, **dict(zip(
                                 ("allowed", "allowed_start", "allowed_end"),
                                 allowed_transitions(TAGS, "iob2"), strict=True)))
    with torch.no_grad():
        for parameter in member.parameters():
            parameter.normal_()
    return member.eval()


def sentence_batch(words: list[int]) -> TaggerBatch:
    n = len(words)
    zeros = torch.zeros(1, n, dtype=torch.long)
    return TaggerBatch(torch.tensor([words]), torch.tensor([n]), zeros,
                       torch.zeros(1, n, 1, dtype=torch.long), zeros)


@pytest.mark.parametrize("crf", [True, False])
def test_the_mean_decodes_the_path_the_members_score_best_on_average(crf):
    """Brute force: of every tag path, the mean tagger picks the one whose score, averaged
    over the members (each with its own emissions and CRF), is highest."""
    members = [random_member(seed, crf) for seed in (1, 2, 3)]
    mean = TaggerMean(members).eval()
    for words in ([3, 7, 1, 9], [5, 2], [11]):
        batch = sentence_batch(words)
        with torch.no_grad():
            scored = {}
            for path in itertools.product(range(len(TAGS)), repeat=len(words)):
                tags = torch.tensor([path])
                if crf:
                    scores = [m.crf.path_score(m.emissions(batch), tags, batch.mask)
                              for m in members]
                else:
                    scores = [m.emissions(batch)[0, range(len(words)), list(path)].sum()
                              for m in members]
                scored[path] = float(torch.stack(scores).mean())
            assert mean.decode(batch)[0] == list(max(scored, key=scored.get))


def test_the_first_member_is_the_lone_tagger_and_the_bundle_keeps_the_mean(news, tmp_path):
    settings = {"training.max_epochs": 4, "model.dropout": 0.3, "model.unk_replace": 0.5}
    lone = Tagger(tiny_config(**settings)).fit(news[:24], news[24:32])
    pair = Tagger(tiny_config(**settings, **{"model.members": 2})).fit(news[:24], news[24:32])
    first, second = pair.module_.members
    for name, weight in lone.module_.state_dict().items():
        assert torch.equal(first.state_dict()[name], weight), name
    assert not torch.equal(first.output.weight, second.output.weight)
    info = pair.fit_info_["members"]
    assert info["count"] == 2 and info["seeds"] == [13, 14] and len(info["validation"]) == 2
    assert info["validation"][0] == lone.history_[lone.best_epoch_ - 1]["val_f1"]
    assert info["mean_validation"] == pair.evaluate(news[24:32])["f1"]
    loaded = Tagger.load(pair.save(tmp_path / "pair.safetensors"))
    sentences = [s.tokens for s in news[300:340]]
    assert loaded.predict(sentences) == pair.predict(sentences)
    assert loaded.predict(sentences) != [[]] * len(sentences)


class StopInMember(StopAfter):
    """Ctrl-C in the first epoch of the ``member``-th training run."""

    def __init__(self, member: int) -> None:
        super().__init__(1)
        self.member, self.started = member, 0

    def on_train_start(self, *args):
        self.started += 1

    def on_batch_end(self, epoch, batch, loss):
        if self.started == self.member:
            super().on_batch_end(epoch, batch, loss)


def test_an_interrupted_pair_resumes_to_the_straight_result_and_reports_both(tmp_path):
    base = {"data.train": str(NEWS), "training.max_epochs": 2, "model.members": 2}
    straight = train_tagger(tiny_config(tmp_path, name="straight", **base))
    config = tiny_config(tmp_path, name="resumed", **base)
    with pytest.raises(KeyboardInterrupt):  # in the second member's first epoch
        train_tagger(config, callbacks=StopInMember(2))
    resumed = train_tagger(config, resume=True)
    assert resumed.val["f1"] == straight.val["f1"]
    words = [["Peter", "Smith", "visited", "Rome"]]
    assert Tagger.load(resumed.model_path).predict(words) == \
        Tagger.load(straight.model_path).predict(words)
    report = (straight.run_dir / "report.html").read_text(encoding="utf-8")
    assert "the mean of 2 taggers (seeds 13, 14)" in report
    assert "the members alone" in report


def test_integrated_gradients_add_up_over_every_member(news):
    pair = Tagger(tiny_config(**{"training.max_epochs": 10, "model.members": 2})).fit(
        news[:24], news[24:32])
    found = explain_text(pair, "Angela Merkel visited Paris on Monday.", ["Angela", "Paris"],
                         method="ig", steps=200)
    sentence = read(pair, found.text)
    nothing = torch.zeros(1, len(sentence.tokens), dtype=torch.long)
    with torch.no_grad():  # every member reads the blank sentence: IG's reference
        blank = tag_probabilities(pair, blanked(sentence.rows(1), nothing))[0]
    assert len(found.explanations) == 2
    for e in found.explanations:
        at = e.extra["token_index"]
        assert e.reference == pytest.approx(float(blank[at, pair.tag_index_[e.target]]),
                                            abs=1e-5)
        total = sum(t.attribution for t in e.tokens)  # the members' parts add up
        assert total == pytest.approx(e.value - e.reference, abs=1e-3)


def test_the_members_line_names_the_members_that_kept_averaged_weights():
    from seqlab.tasks.tag.workflow import _members_line

    members = {"metric": "f1", "validation": [0.9, 0.91, 0.92], "mean_validation": 0.93}
    line = _members_line({"members": members | {"averaged": [[3, 4, 6], [], [2, 3, 5]]}})[0]
    assert line.endswith("averaged weights kept by members 1, 3)")
    assert "averaged" not in _members_line({"members": members | {"averaged": [[], [], []]}})[0]
    assert "averaged" not in _members_line({"members": members})[0]  # saved before averaging
