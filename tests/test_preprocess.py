import pytest

from seqlab.errors import ConfigError
from seqlab.text.preprocess import PRESETS, STEPS, Pipeline


def run(steps, text):
    return Pipeline(steps)(text)


@pytest.mark.parametrize(("step", "text", "expected"), [
    ("lowercase", "Hello WORLD", ["hello", "world"]),
    ("strip_urls", "see https://example.com/x?y=1 and www.test.org now", ["see", "and", "now"]),
    ("strip_mentions", "@anna thanks a@b.c", ["thanks", "a", "@", "b", ".", "c"]),
    ("strip_hashtags", "so #blessed today", ["so", "blessed", "today"]),
    ("strip_html", "great<br /><br />film &amp; cast", ["great", "film", "&", "cast"]),
    ("strip_numbers", "won 3 of 4.5 games in 2024 mp3", ["won", "of", "games", "in", "mp3"]),
    ("strip_punctuation", "wow!!! it's (really) good...", ["wow", "it's", "really", "good"]),
    ("expand_contractions", "I don't think we're done", ["I", "do", "not", "think", "we", "are",
                                                         "done"]),
    ("expand_contractions", "im sure i didnt", ["i", "am", "sure", "i", "did", "not"]),
])
def test_text_steps(step, text, expected):
    assert run([step, {"tokenize": {"method": "regex"}}], text) == expected


def test_informal_contractions_can_be_turned_off():
    assert run([{"expand_contractions": {"informal": False}}], "dont") == ["dont"]


def test_emoji_to_text_or_removed():
    assert run(["emoji"], "love it 😂") == ["love", "it", "face_with_tears_of_joy"]
    assert run([{"emoji": {"mode": "remove"}}], "love it 😂") == ["love", "it"]


def test_stopwords_keep_negations_by_default():
    tokens = run(["tokenize", "remove_stopwords"], "i am not happy and never will be")
    assert "not" in tokens and "never" in tokens and "and" not in tokens
    tokens = run(["tokenize", {"remove_stopwords": {"keep_negations": False}}],
                 "i am not happy")
    assert tokens == ["happy"]


def test_stemming_and_lemmatizing():
    assert run(["tokenize", "stem"], "running feelings") == ["run", "feel"]
    assert run(["tokenize", {"stem": {"algorithm": "snowball"}}], "generously") == ["generous"]
    assert run(["tokenize", "lemmatize"], "children were running") == ["child", "be", "run"]


def test_tokenizers():
    assert run([{"tokenize": {"method": "words"}}], "hi, you!") == ["hi", "you"]
    assert run([{"tokenize": {"method": "whitespace"}}], "hi, you!") == ["hi,", "you!"]


@pytest.mark.parametrize("preset", list(PRESETS))
def test_spec_round_trips(preset):
    pipeline = Pipeline(preset)
    again = Pipeline(pipeline.to_spec())
    text = "I didn't LOVE it!! <br/> @bob https://x.y #wow 😂 42"
    assert again(text) == pipeline(text)
    assert again.to_spec() == pipeline.to_spec()


def test_order_and_names_are_checked():
    with pytest.raises(ConfigError, match="needs `tokenize` before it"):
        Pipeline(["stem", "tokenize"])
    with pytest.raises(ConfigError, match="after `tokenize`"):
        Pipeline(["tokenize", "lowercase"])
    with pytest.raises(ConfigError, match=r"choose one of: .*lowercase"):
        Pipeline(["lowercas"])
    with pytest.raises(ConfigError, match=r"allowed: keep_negations, extra"):
        Pipeline(["tokenize", {"remove_stopwords": {"keep": True}}])
    with pytest.raises(ConfigError, match="unknown preset"):
        Pipeline("fancy")


def test_every_registered_step_is_usable_by_name():
    for name in STEPS:
        spec = ["tokenize", name] if STEPS.get(name).kind == "tokens" else [name]
        assert isinstance(Pipeline(spec)("Some Text here"), list)
