"""Preprocessing as a named, ordered pipeline of registered steps.

A pipeline is written as a list of step names, or ``{name: {option: value}}`` items,
for example::

    [lowercase, strip_html, {tokenize: {method: regex}}, {remove_stopwords: {keep_negations: true}}]

Text steps (``str -> str``) come before ``tokenize``; token steps
(``list[str] -> list[str]``) come after it. The spec is saved with the model, so
prediction applies exactly the same steps. New steps are added with
``@STEPS.register("name")`` on a dataclass that has ``kind`` and ``__call__``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from typing import Any, ClassVar

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from seqlab.errors import ConfigError
from seqlab.registry import Registry
from seqlab.text.contractions import FORMAL, INFORMAL, SUFFIXES

STEPS: Registry[type] = Registry("preprocessing step")

NEGATIONS = frozenset(
    {"not", "no", "never", "nor", "none", "nobody", "nothing", "neither", "nowhere",
     "cannot", "without", "n't"}
)

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w+")
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")
_TAG = re.compile(r"<[^>]{0,200}>")
_NUMBER = re.compile(r"(?<![^\W\d])[+-]?\d+(?:[.,]\d+)*(?![^\W\d])")
_PUNCT = re.compile(r"[^\w\s']|(?<!\w)'|'(?!\w)")
_SPACES = re.compile(r"\s+")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})


_EMOJI = re.compile(
    "[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u200d\ufe0f\u203c\u2049\u3030\u303d]"
)
_WORD = re.compile(r"(\w+(?:'\w+)?)")


class _Step:
    kind: ClassVar[str] = "text"


# ---- text steps -------------------------------------------------------------


@STEPS.register("lowercase")
@dataclass
class Lowercase(_Step):
    """Lower-case the text."""

    def __call__(self, text: str) -> str:
        return text.lower()


@STEPS.register("expand_contractions")
@dataclass
class ExpandContractions(_Step):
    """Expand "don't" to "do not"; with ``informal``, also "dont" and "im"."""

    informal: bool = True

    def __post_init__(self) -> None:
        self._words = dict(FORMAL) | (dict(INFORMAL) if self.informal else {})
        self._keys = frozenset(self._words)

    def _expand(self, word: str) -> str:
        lower = word.lower()
        expanded = self._words.get(lower)
        if expanded is not None:
            return expanded
        if "'" in lower:
            for suffix, replacement in SUFFIXES.items():
                if lower.endswith(suffix) and len(lower) > len(suffix):
                    return word[: -len(suffix)] + replacement
        return word

    def __call__(self, text: str) -> str:
        text = text.translate(_APOSTROPHES)
        if "'" not in text and self._keys.isdisjoint(text.lower().split()):
            return text
        parts = _WORD.split(text)
        words = self._words
        parts[1::2] = [self._expand(w) if ("'" in w or w.lower() in words) else w
                       for w in parts[1::2]]
        return "".join(parts)


@STEPS.register("strip_urls")
@dataclass
class StripUrls(_Step):
    """Remove web addresses (or replace them with ``replacement``)."""

    replacement: str = " "

    def __call__(self, text: str) -> str:
        if "http" not in text and "www" not in text and "HTTP" not in text:
            return text
        return _URL.sub(self.replacement, text)


@STEPS.register("strip_mentions")
@dataclass
class StripMentions(_Step):
    """Remove @user mentions."""

    replacement: str = " "

    def __call__(self, text: str) -> str:
        return _MENTION.sub(self.replacement, text) if "@" in text else text


@STEPS.register("strip_hashtags")
@dataclass
class StripHashtags(_Step):
    """Drop the ``#`` of hashtags and keep the word; with ``keep_word: false`` drop both."""

    keep_word: bool = True

    def __call__(self, text: str) -> str:
        if "#" not in text:
            return text
        return _HASHTAG.sub(r"\1" if self.keep_word else " ", text)


@STEPS.register("strip_html")
@dataclass
class StripHtml(_Step):
    """Remove HTML tags such as ``<br />`` and decode entities such as ``&amp;``."""

    def __call__(self, text: str) -> str:
        if "<" in text:
            text = _TAG.sub(" ", text)
        return html.unescape(text) if "&" in text else text


@STEPS.register("strip_numbers")
@dataclass
class StripNumbers(_Step):
    """Remove numbers that stand alone (not digits inside words such as "mp3")."""

    replacement: str = " "

    def __call__(self, text: str) -> str:
        return _NUMBER.sub(self.replacement, text)


@STEPS.register("strip_punctuation")
@dataclass
class StripPunctuation(_Step):
    """Replace punctuation by spaces; apostrophes inside words are kept."""

    def __call__(self, text: str) -> str:
        return _PUNCT.sub(" ", text)


@STEPS.register("emoji")
@dataclass
class Emoji(_Step):
    """Emoji to words (``mode: text``, e.g. "face_with_tears_of_joy") or removed."""

    mode: str = "text"

    def __post_init__(self) -> None:
        if self.mode not in ("text", "remove"):
            raise ConfigError(f"emoji: mode {self.mode!r} is not one of: text, remove")

    def _replace(self, match: re.Match[str]) -> str:
        ch = match.group(0)
        if self.mode == "remove" or ch in "\u200d\ufe0f":
            return " "
        name = unicodedata.name(ch, "emoji").lower().replace(" ", "_").replace("-", "_")
        return f" {name} "

    def __call__(self, text: str) -> str:
        return _EMOJI.sub(self._replace, text)


# ---- tokenization -------------------------------------------------------------

_TOKENIZERS = {
    "regex": re.compile(r"\w+(?:'\w+)*|[^\w\s]"),
    "words": re.compile(r"\w+(?:'\w+)*"),
    "whitespace": re.compile(r"\S+"),
}


@STEPS.register("tokenize")
@dataclass
class Tokenize(_Step):
    """Split text into tokens.

    ``regex``: words (with inner apostrophes) and single punctuation marks;
    ``words``: words only; ``whitespace``: split on spaces.
    """

    kind: ClassVar[str] = "tokenize"
    method: str = "regex"

    def __post_init__(self) -> None:
        if self.method not in _TOKENIZERS:
            raise ConfigError(
                f"tokenize: method {self.method!r} is not one of: {', '.join(_TOKENIZERS)}"
            )
        self._pattern = _TOKENIZERS[self.method]

    def __call__(self, text: str) -> list[str]:
        return self._pattern.findall(text)


# ---- token steps -------------------------------------------------------------------


@STEPS.register("remove_stopwords")
@dataclass
class RemoveStopwords(_Step):
    """Drop English stop words (scikit-learn's list); negations stay unless told otherwise."""

    kind: ClassVar[str] = "tokens"
    keep_negations: bool = True
    extra: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        words = set(ENGLISH_STOP_WORDS) | {w.lower() for w in self.extra}
        if self.keep_negations:
            words -= NEGATIONS
        self._stop = frozenset(words)

    def __call__(self, tokens: list[str]) -> list[str]:
        return [t for t in tokens if t.lower() not in self._stop]


@STEPS.register("stem")
@dataclass
class Stem(_Step):
    """Reduce words to stems with NLTK's ``porter`` or ``snowball`` (English) stemmer."""

    kind: ClassVar[str] = "tokens"
    algorithm: str = "porter"

    def __post_init__(self) -> None:
        from nltk.stem import PorterStemmer, SnowballStemmer

        makers = {"porter": PorterStemmer, "snowball": lambda: SnowballStemmer("english")}
        if self.algorithm not in makers:
            raise ConfigError(
                f"stem: algorithm {self.algorithm!r} is not one of: {', '.join(makers)}"
            )
        self._stem = lru_cache(maxsize=200_000)(makers[self.algorithm]().stem)

    def __call__(self, tokens: list[str]) -> list[str]:
        return [self._stem(t) for t in tokens]


@STEPS.register("lemmatize")
@dataclass
class Lemmatize(_Step):
    """Reduce words to dictionary forms with simplemma's lookup tables (offline)."""

    kind: ClassVar[str] = "tokens"
    language: str = "en"

    def __post_init__(self) -> None:
        import simplemma

        language = self.language
        self._lemma = lru_cache(maxsize=200_000)(
            lambda token: simplemma.lemmatize(token, lang=language)
        )

    def __call__(self, tokens: list[str]) -> list[str]:
        return [self._lemma(t) for t in tokens]


# ---- the pipeline --------------------------------------------------------------------

PRESETS: dict[str, list[Any]] = {
    "none": ["tokenize"],
    "minimal": ["lowercase", "tokenize"],
    "default": [
        "lowercase",
        "strip_html",
        "strip_urls",
        "strip_mentions",
        "strip_hashtags",
        "emoji",
        "expand_contractions",
        "tokenize",
    ],
    "aggressive": [
        "lowercase",
        "strip_html",
        "strip_urls",
        "strip_mentions",
        "strip_hashtags",
        {"emoji": {"mode": "remove"}},
        "expand_contractions",
        "strip_numbers",
        "strip_punctuation",
        "tokenize",
        {"remove_stopwords": {"keep_negations": False}},
        "stem",
    ],
}


def _parse_item(item: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(item, str):
        return item, {}
    if isinstance(item, dict) and len(item) == 1:
        name, options = next(iter(item.items()))
        if options is None:
            options = {}
        if not isinstance(options, dict):
            raise ConfigError(f"preprocessing step {name!r}: options must be a mapping")
        return str(name), dict(options)
    raise ConfigError(
        f"preprocessing: {item!r} is not a step; write a name or {{name: {{option: value}}}}"
    )


def _make_step(name: str, options: dict[str, Any]) -> Any:
    cls = STEPS.get(name)
    allowed = [f.name for f in fields(cls) if not f.name.startswith("_")]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(
            f"preprocessing step {name!r}: unknown option {unknown[0]!r}; "
            f"allowed: {', '.join(allowed) or '(none)'}"
        )
    return cls(**options)


class Pipeline:
    """An ordered list of preprocessing steps that turns a text into tokens."""

    def __init__(self, spec: str | Sequence[Any] = "default") -> None:
        if isinstance(spec, str):
            if spec not in PRESETS:
                raise ConfigError(
                    f"preprocessing: unknown preset {spec!r}; choose one of: "
                    f"{', '.join(PRESETS)} or give a list of steps"
                )
            spec = PRESETS[spec]
        self.text_steps: list[Any] = []
        self.token_steps: list[Any] = []
        self.tokenizer: Tokenize | None = None
        for item in spec:
            name, options = _parse_item(item)
            step = _make_step(name, options)
            if step.kind == "tokenize":
                if self.tokenizer is not None:
                    raise ConfigError("preprocessing: `tokenize` appears twice")
                self.tokenizer = step
            elif step.kind == "text":
                if self.tokenizer is not None:
                    raise ConfigError(
                        f"preprocessing: text step {name!r} comes after `tokenize`; "
                        "move it before"
                    )
                self.text_steps.append(step)
            else:
                if self.tokenizer is None:
                    raise ConfigError(
                        f"preprocessing: token step {name!r} needs `tokenize` before it"
                    )
                self.token_steps.append(step)
        if self.tokenizer is None:
            self.tokenizer = Tokenize()

    def __call__(self, text: str) -> list[str]:
        for step in self.text_steps:
            text = step(text)
        tokens = self.tokenizer(text)
        for step in self.token_steps:
            tokens = step(tokens)
        return tokens

    def process_many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self(t) for t in texts]

    def to_spec(self) -> list[Any]:
        """The steps as data (names with their options), for configs and bundles."""
        out: list[Any] = []
        for step in [*self.text_steps, self.tokenizer, *self.token_steps]:
            options = asdict(step)
            name = next(n for n in STEPS.names() if STEPS.get(n) is type(step))
            out.append({name: options} if options else name)
        return out

    def describe(self) -> str:
        return " → ".join(
            next(iter(item)) if isinstance(item, dict) else item for item in self.to_spec()
        )
