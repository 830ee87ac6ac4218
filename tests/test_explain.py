"""Explanations: the keyword a synthetic label hangs on comes first for every cell and
pooling; the linear model's attributions add up exactly; integrated gradients' sum and
completeness error add up to f(x) − f(baseline); occlusion equals deleting by hand;
spans map back to the original text; bad input."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from seqlab import TextClassifier
from seqlab.cli.main import app
from seqlab.errors import ConfigError, DataError
from seqlab.nn.catalog import CELLS, POOLINGS
from seqlab.tasks.classify.baselines.linear import LinearTextClassifier
from seqlab.tasks.classify.ensemble import EnsembleClassifier
from seqlab.tasks.classify.explain import explain, explain_many
from seqlab.text.preprocess import PRESETS, Pipeline
from seqlab.text.spans import token_spans

FILLER = ["the", "a", "movie", "film", "was", "is", "very", "quite", "plot", "actor",
          "scene", "story", "today", "we", "it"]
KEYWORDS = {"sad": "awful", "happy": "wonderful", "calm": "peaceful"}


def keyword_data(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Texts of filler words with one keyword, which alone decides the label."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = list(KEYWORDS)[i % len(KEYWORDS)]
        words = list(rng.choice(FILLER, int(rng.integers(4, 10))))
        words.insert(int(rng.integers(0, len(words) + 1)), KEYWORDS[label])
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


PROBES = ["the movie was awful today", "wonderful plot and a very quite scene",
          "we it story peaceful film actor"]


@pytest.fixture(scope="module")
def keyword_split():
    return keyword_data(450, 0), keyword_data(90, 1)


def fit_keyword_model(split, **params):
    (texts, labels), (val_texts, val_labels) = split
    base = dict(embedding_dim=16, hidden_size=16, batch_size=16, max_epochs=8, patience=8,
                threads=1, dropout=0.0, embedding_dropout=0.0, random_state=3)
    return TextClassifier(**(base | params)).fit(texts, labels, val_texts, val_labels)


def assert_keyword_first(clf, method="auto"):
    for text, expected in zip(PROBES, ["sad", "happy", "calm"], strict=True):
        e = explain(clf, text, method=method)
        assert e.target == expected, f"{text!r} predicted {e.target}"
        top = max(e.tokens, key=lambda t: t.attribution)
        assert top.token == KEYWORDS[expected], [(t.token, t.attribution) for t in e.tokens]


@pytest.mark.parametrize("cell", CELLS.names())
@pytest.mark.parametrize("pooling", POOLINGS.names())
def test_keyword_gets_the_top_ig_attribution(keyword_split, cell, pooling):
    assert_keyword_first(fit_keyword_model(keyword_split, cell=cell, pooling=pooling))


@pytest.mark.parametrize("kind", ["averaged", "averaged-mlp"])
def test_keyword_first_for_the_averaged_models(keyword_split, kind):
    clf = fit_keyword_model(keyword_split, kind=kind, lr=1e-2, max_epochs=15, patience=15)
    assert_keyword_first(clf)


@pytest.mark.parametrize("method", ["weights", "ig", "occlusion"])
def test_keyword_first_for_the_linear_model(keyword_split, method):
    (texts, labels), (val_texts, val_labels) = keyword_split
    clf = LinearTextClassifier().fit(texts, labels, val_texts, val_labels)
    assert_keyword_first(clf, method)


# ---- exact sums ------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "classifier", "classes"), [
    ("tfidf", "logreg", 3), ("tfidf", "svm", 2), ("bow", "logreg", 2), ("bow", "nb", 3),
    ("tfidf", "svm", 3), ("tfidf", "nblogreg", 3), ("tfidf", "nblogreg", 2)])
def test_linear_weights_sum_to_the_score_margin(kind, classifier, classes):
    """Σ attributions + the intercepts' margin = the label's score minus the mean of the
    other labels' scores, computed here from the vectorizers' own features."""
    texts, labels = keyword_data(300, 5)
    keep = [i for i, label in enumerate(labels) if label in list(KEYWORDS)[:classes]]
    clf = LinearTextClassifier(kind=kind, classifier=classifier, min_df=1).fit(
        [texts[i] for i in keep], [labels[i] for i in keep])
    probes = ["the awful awful movie, it was wonderful", "peaceful peaceful scene today",
              "an unseen word only"]
    features = clf._transform(probes).astype(np.float64)
    scores = np.asarray(features @ clf.weight_.T.astype(np.float64)) + clf.bias_
    for label in clf.labels_:
        c = clf.labels_.index(label)
        for text, row in zip(probes, scores, strict=True):
            e = explain(clf, text, label=label, method="weights")
            margin = row[c] - np.delete(row, c).mean()
            intercept = clf.bias_[c] - np.delete(clf.bias_, c).mean()
            total = sum(t.attribution for t in e.tokens)
            # exact up to the float32 the feature values and weights are stored in
            assert total == pytest.approx(margin - intercept, rel=1e-6, abs=1e-7)
            assert e.value == pytest.approx(margin, rel=1e-6, abs=1e-7)
            assert e.reference == pytest.approx(intercept, rel=1e-6, abs=1e-7)


@pytest.fixture(scope="module")
def ensemble(keyword_split):
    (texts, labels), (val_texts, val_labels) = keyword_split
    clf = EnsembleClassifier(recurrent=dict(embedding_dim=16, hidden_size=16, max_epochs=2,
                                            threads=1, precision="float32"), members=2)
    clf.fit(texts, labels, val_texts, val_labels)
    clf.weights_ = [0.5, 0.5]  # both parts in the blend, whatever validation chose
    return clf


def test_ig_sum_and_delta_add_up_for_both_parts_of_the_ensemble(ensemble):
    for text in [*PROBES, "awful", "wonderful awful peaceful, don't!"]:
        e = explain(ensemble, text, steps=30)
        proba = ensemble.predict_proba([text])[0]
        assert e.value == pytest.approx(proba[ensemble.labels_.index(e.target)], abs=1e-5)
        total = sum(t.attribution for t in e.tokens)
        assert total - (e.value - e.reference) == pytest.approx(e.delta, abs=1e-5)


def test_explaining_together_equals_explaining_alone(ensemble):
    texts = ["awful", *PROBES, "the the the the the the the the the peaceful"]
    together = explain_many(ensemble, texts, ["calm", None, "sad", None, None], steps=20)
    for text, label, joint in zip(texts, ["calm", None, "sad", None, None], together,
                                  strict=True):
        alone = explain(ensemble, text, label, steps=20)
        assert joint.target == alone.target
        np.testing.assert_allclose([t.attribution for t in joint.tokens],
                                   [t.attribution for t in alone.tokens], atol=1e-5)


@pytest.mark.parametrize("window", [1, 2, 3])
def test_occlusion_equals_deleting_by_hand(ensemble, window):
    text = "the movie was awful but the plot was wonderful"
    e = explain(ensemble, text, label="sad", method="occlusion", window=window)
    tokens = [t.token for t in e.tokens]
    c = ensemble.labels_.index("sad")
    full = ensemble.proba_of_tokens([tokens])[0, c]
    falls = np.zeros(len(tokens))
    covers = np.zeros(len(tokens))
    for start in range(len(tokens) - window + 1):
        kept = tokens[:start] + tokens[start + window:]
        falls[start:start + window] += full - ensemble.proba_of_tokens([kept])[0, c]
        covers[start:start + window] += 1
    np.testing.assert_allclose([t.attribution for t in e.tokens], falls / covers, atol=1e-6)
    assert e.value == pytest.approx(full, abs=1e-6)


class WordCounter:
    """A stand-in for a model that reads raw text (as MiniLM does): p(happy) rises with
    each "good"."""

    labels_ = ("happy", "sad")
    bundle_kind = "test.raw_text"

    def _check_fitted(self) -> None:
        pass

    def predict_proba(self, texts):
        goods = np.array([t.lower().split().count("good") for t in texts], dtype=float)
        happy = 1 - 0.5 ** (goods + 1)
        return np.stack([happy, 1 - happy], axis=1)


def test_occlusion_of_a_raw_text_model_uses_the_original_characters():
    text = "a good day, a GOOD film"
    e = explain(WordCounter(), text)
    assert e.method == "occlusion" and e.target == "happy"
    assert [text[t.start:t.end] for t in e.tokens] == [t.token for t in e.tokens]
    by_token = {t.token: t.attribution for t in e.tokens}
    assert by_token["good"] == pytest.approx(0.875 - 0.75)
    assert by_token["day"] == 0.0
    with pytest.raises(ConfigError, match="it is explained by: occlusion"):
        explain(WordCounter(), text, method="ig")


# ---- spans -----------------------------------------------------------------------


def test_spans_of_contractions_urls_emoji_and_html():
    text = ("I can't believe it!! <br /><b>Visit</b> https://x.co/a?b=1 now 😡 &amp; "
            "@bob #Angry, don\u2019t go")
    pipeline = Pipeline("default")
    spans = token_spans(pipeline, text)
    assert [s.token for s in spans] == pipeline(text)
    assert [(s.token, text[s.start:s.end]) for s in spans] == [
        ("i", "I"), ("can", "can't"), ("not", "can't"), ("believe", "believe"), ("it", "it"),
        ("!", "!"), ("!", "!"), ("visit", "Visit"), ("now", "now"),
        ("pouting_face", "😡"), ("&", "&amp;"), ("angry", "#Angry"), (",", ","),
        ("do", "don\u2019t"), ("not", "don\u2019t"), ("go", "go")]


PIECES = ["I", "can't", "don\u2019t", "dont", "im", "<br />", "<a href='x y'>", "</a>",
          "http://e.com/x?y=1", "www.site.org", "😀", "👍🏽", "&amp;", "&#39;", "@user",
          "#Tag", "3.5", "1,000", "mp3", "!!", ",", "'quoted'", "Hello", "WORLD", "naïve",
          "e-mail", "a@b", "x#y", "...", "<", ">", "é"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=0, max_size=12),
       st.lists(st.sampled_from([" ", "", "\n", "  "]), min_size=12, max_size=12),
       st.sampled_from(sorted(PRESETS)))
def test_spans_round_trip_on_any_mix(pieces, gaps, preset):
    """Whatever the text: the spans' tokens are the pipeline's, in order, and a token's
    span, preprocessed alone, gives that token back."""
    text = "".join(p + g for p, g in zip(pieces, gaps, strict=False))
    pipeline = Pipeline(preset)
    spans = token_spans(pipeline, text)
    assert [s.token for s in spans] == pipeline(text)
    placed = [s for s in spans if s.start is not None]
    assert [s.start for s in placed] == sorted(s.start for s in placed)
    for s in placed:
        assert 0 <= s.start < s.end <= len(text)
        assert s.token in pipeline(text[s.start:s.end]) or s.token.lower() == \
            text[s.start:s.end].lower()


# ---- bad input ---------------------------------------------------------------------


def test_empty_after_preprocessing_gives_an_empty_explanation(ensemble):
    e = explain(ensemble, "<br/> https://only.a/link")
    assert e.tokens == [] and "empty after preprocessing" in e.notes[0]
    assert e.value == pytest.approx(max(e.extra["probabilities"].values()))


def test_unknown_label_lists_the_labels(ensemble):
    with pytest.raises(DataError, match="calm, happy, sad"):
        explain(ensemble, "awful", label="angry")


def test_long_text_is_cut_and_counted(keyword_split):
    clf = fit_keyword_model(keyword_split, max_length=6, max_epochs=1)
    e = explain(clf, "awful " + "the " * 20)
    assert len(e.tokens) == 6 and e.tokens_cut == 15
    assert "15 more were cut" in e.notes[0]


def test_steps_and_window_limits(ensemble):
    with pytest.raises(ConfigError, match="1 to 500"):
        explain(ensemble, "awful", steps=501)
    with pytest.raises(ConfigError, match="at least 1"):
        explain(ensemble, "awful", method="occlusion", window=0)


# ---- the command line ----------------------------------------------------------------


def test_cli_explain_prints_colours_and_json(ensemble, tmp_path):
    path = ensemble.save(tmp_path / "model.safetensors")
    runner = CliRunner()
    shown = runner.invoke(app, ["explain", str(path), "the movie was awful"])
    assert shown.exit_code == 0, shown.output
    assert "sad" in shown.output and "towards sad: awful" in shown.output
    as_json = runner.invoke(app, ["explain", str(path), "awful film", "peaceful", "--json",
                                  "--label", "calm", "--method", "occlusion"])
    rows = [json.loads(line) for line in as_json.output.splitlines()]
    assert [r["label"] for r in rows] == ["calm", "calm"]
    assert rows[1]["tokens"][0] | {"attribution": 0} == {
        "token": "peaceful", "start": 0, "end": 8, "attribution": 0}
    refused = runner.invoke(app, ["explain", str(path), "awful", "--label", "angry"])
    assert refused.exit_code == 2 and "calm, happy, sad" in refused.output
    assert "Traceback" not in refused.output
