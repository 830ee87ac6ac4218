"""Which words drove a tagger's tag for a token: ``explain_text``.

The explained score is the probability of the tag at the token: with a CRF its marginal
over every tag path (forward–backward, :meth:`seqlab.nn.crf.CRF.marginals`), without one
the softmax of the token's tag scores. Tags are the model's own (the scheme it learned,
``IOBES`` by default), so a one-token person is ``S-PER``.

- ``ig``: integrated gradients (Captum) on the word embedding, the character encoding
  and the casing embedding at once, from a baseline where every token is blank (the
  padding word, characters and casing) to the sentence. A token's attribution is the sum
  of its three parts; they add up to ``p(text) − p(blank sentence)``.
- ``occlusion``: the fall of the probability when a token (or a window of tokens) is
  blanked the same way. Blanking, not deleting, keeps the explained token in its place.

By default an entity tagger explains the tokens of the entities it found, any other
tagger every token; ``tokens`` names others by position or by word.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from seqlab.errors import DataError
from seqlab.explain.explanation import Explanation, TokenAttribution
from seqlab.explain.integrated import DEFAULT_STEPS, integrated_gradients
from seqlab.explain.occlusion import occlusion
from seqlab.explain.options import TOKEN_LIMIT, check_steps_and_window, choose_method
from seqlab.registry import Registry
from seqlab.tasks.tag.network import TaggerBatch
from seqlab.tasks.tag.schemes import OUTSIDE
from seqlab.tasks.tag.tokenize import Token, tokenize

ALLOWED = ("ig", "occlusion")
# sentence variants (occlusion) or path steps (integrated gradients) per model call
ROWS_PER_CALL = 256
SCORE_NAMES: dict[str, str] = {
    "ig": "probability of tag {tag!r} at token {index} ({token!r})",
    "occlusion": "fall in the probability of tag {tag!r} at token {index} ({token!r}) when "
                 "the token is blanked out",
}


@dataclass
class TagExplanations:
    """One text: its tokens with the predicted tags, the explanations of the tokens asked
    for, and notes (what was cut, why nothing was explained)."""

    text: str
    tagged: list[dict[str, Any]]
    explanations: list[Explanation]
    tokens_cut: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The text's explanations as JSON-ready data."""
        return {"text": self.text, "tokens": self.tagged, "tokens_cut": self.tokens_cut,
                "notes": self.notes, "explanations": [e.to_dict() for e in self.explanations]}


@dataclass
class Sentence:
    """The tokens of a text the tagger reads (cut at ``TOKEN_LIMIT``), encoded once."""

    text: str
    tokens: list[Token]
    cut: int
    batch: TaggerBatch | None

    def rows(self, count: int) -> TaggerBatch:
        """The sentence repeated ``count`` times."""
        assert self.batch is not None
        b = self.batch
        return TaggerBatch(b.words.repeat(count, 1), b.lengths.repeat(count),
                           b.casings.repeat(count, 1), b.chars.repeat(count, 1, 1),
                           b.char_lengths.repeat(count, 1))


def read(tagger: Any, text: str) -> Sentence:
    """The tokens ``tagger`` reads of ``text``, and their tensors."""
    tokens = tokenize(str(text))
    kept = tokens[:TOKEN_LIMIT]
    batch = tagger._batch([tagger._encode([t.text for t in kept])]) if kept else None
    return Sentence(str(text), kept, len(tokens) - len(kept), batch)


def tag_probabilities(tagger: Any, batch: TaggerBatch) -> torch.Tensor:
    """``[B, T, tags]``: each token's probability of each tag (the CRF's marginals)."""
    scores = tagger.module_.emissions(batch)
    crf = tagger.module_.crf
    return crf.marginals(scores, batch.mask) if crf is not None else torch.softmax(scores, -1)


def blanked(batch: TaggerBatch, keep: torch.Tensor) -> TaggerBatch:
    """``batch`` with the tokens where ``keep [B, T]`` is False made blank (the padding
    word, characters and casing)."""
    return TaggerBatch(batch.words * keep, batch.lengths, batch.casings * keep,
                       batch.chars * keep.unsqueeze(-1), batch.char_lengths)


# ---- the methods -------------------------------------------------------------------


@dataclass
class Request:
    """One sentence, the token positions to explain and the tag index of each."""

    sentence: Sentence
    positions: list[int]
    targets: list[int]
    steps: int = DEFAULT_STEPS
    window: int = 1


MethodFn = Callable[[Any, Request], list[dict[str, Any]]]
METHODS: Registry[MethodFn] = Registry("tagging explanation method")


@METHODS.register("ig")
def _integrated(tagger: Any, request: Request) -> list[dict[str, Any]]:
    module, sentence = tagger.module_, request.sentence
    layers = module.input_layers()
    per_call = max(1, ROWS_PER_CALL // request.steps)
    out: list[dict[str, Any]] = []
    for begin in range(0, len(request.positions), per_call):
        positions = torch.tensor(request.positions[begin:begin + per_call])
        base = sentence.rows(len(positions))

        def proba(words: torch.Tensor, casings: torch.Tensor, chars: torch.Tensor,
                  base: TaggerBatch = base, positions: torch.Tensor = positions
                  ) -> torch.Tensor:
            times = len(words) // len(positions)
            batch = TaggerBatch(words, base.lengths.repeat(times), casings, chars,
                                base.char_lengths.repeat(times, 1))
            marginals = tag_probabilities(tagger, batch)
            return marginals[torch.arange(len(words)), positions.repeat(times)]

        inputs = (base.words, base.casings, base.chars)
        result = integrated_gradients(proba, layers, inputs,
                                      tuple(torch.zeros_like(x) for x in inputs),
                                      request.targets[begin:begin + per_call], request.steps)
        per_token = sum(layer.sum(-1).double() for layer in result.layers)
        out += [{"scores": per_token[row].numpy(), "value": result.values[row],
                 "reference": result.references[row], "delta": result.deltas[row],
                 "steps": request.steps} for row in range(len(positions))]
    return out


@METHODS.register("occlusion")
def _occlusion(tagger: Any, request: Request) -> list[dict[str, Any]]:
    sentence = request.sentence
    n = len(sentence.tokens)
    seen: dict[tuple[int, ...], np.ndarray] = {}

    def probabilities(kept: Sequence[Sequence[int]]) -> list[np.ndarray]:
        """``[T, tags]`` per variant, each sentence variant run once for every target."""
        missing = list(dict.fromkeys(tuple(k) for k in kept if tuple(k) not in seen))
        for begin in range(0, len(missing), ROWS_PER_CALL):
            chunk = missing[begin:begin + ROWS_PER_CALL]
            keep = torch.zeros((len(chunk), n), dtype=torch.long)
            for row, k in enumerate(chunk):
                keep[row, list(k)] = 1
            with torch.inference_mode():
                found = tag_probabilities(tagger, blanked(sentence.rows(len(chunk)), keep))
            seen.update(zip(chunk, found.double().numpy(), strict=True))
        return [seen[tuple(k)] for k in kept]

    out = []
    for position, target in zip(request.positions, request.targets, strict=True):
        scores, value = occlusion(
            lambda kept, at=position: np.stack([p[at] for p in probabilities(kept)]), n,
            target, request.window)
        out.append({"scores": scores, "value": value, "reference": None, "delta": None,
                    "steps": None})
    return out


# ---- which tokens, which tags --------------------------------------------------------


def _position(tokens: Sequence[Token], asked: int | str) -> int:
    """A token named by its position (0-based) or by its word (the first such token)."""
    if isinstance(asked, int) or str(asked).isdigit():
        index = int(asked)
        if not 0 <= index < len(tokens):
            raise DataError(f"token {index}: the text has {len(tokens)} tokens, numbered "
                            f"0 to {len(tokens) - 1}")
        return index
    for index, token in enumerate(tokens):
        if token.text == asked:
            return index
    raise DataError(f"token {asked!r} is not in the text; its tokens are: "
                    f"{' '.join(t.text for t in tokens)}")


def _tag_index(tagger: Any, tag: str) -> int:
    if tag not in tagger.tag_index_:
        scheme = f" (the {tagger.config.data.scheme.upper()} scheme it learned)" \
            if tagger.entities_ else ""
        raise DataError(f"tag {tag!r} is not one of the model's tags{scheme}: "
                        f"{', '.join(tagger.tags_)}")
    return tagger.tag_index_[tag]


@dataclass
class Tagging:
    """A sentence as the tagger tags it: the tags it learned, shown in the data's scheme,
    and each token's tag probabilities ``[T, tags]``."""

    sentence: Sentence
    learned: list[str]
    shown: list[str]
    probabilities: np.ndarray


def tag_sentence(tagger: Any, text: str) -> Tagging:
    """``text`` read, tagged and its tag probabilities found."""
    sentence = read(tagger, text)
    if sentence.batch is None:
        return Tagging(sentence, [], [], np.zeros((0, len(tagger.tags_))))
    with torch.inference_mode():
        learned = [tagger.tags_[i] for i in tagger.module_.decode(sentence.batch)[0]]
        probabilities = tag_probabilities(tagger, sentence.batch)[0].double().numpy()
    return Tagging(sentence, learned, tagger._given_back(learned), probabilities)


def tokens_to_explain(tagger: Any, tagging: Tagging, tokens: Sequence[int | str] | None
                      ) -> list[int]:
    """The positions of ``tokens`` (positions or words); None: the tokens of the entities
    found (an entity tagger) or every token."""
    if tokens is not None:
        return list(dict.fromkeys(_position(tagging.sentence.tokens, t) for t in tokens))
    if tagger.entities_:
        return [i for i, t in enumerate(tagging.learned) if t != OUTSIDE]
    return list(range(len(tagging.learned)))


def explain_text(tagger: Any, text: str, tokens: Sequence[int | str] | None = None,
                 tag: str | None = None, method: str = "auto", steps: int = DEFAULT_STEPS,
                 window: int = 1) -> TagExplanations:
    """Which words of ``text`` drove the tag of each token in ``tokens`` (positions or
    words; None: the entities' tokens, or every token for a tagger of other tags), for
    ``tag`` (None: the tag the model gives it)."""
    tagger._check_fitted()
    return explain_tagging(tagger, tag_sentence(tagger, text), tokens, tag, method, steps,
                           window)


def explain_tagging(tagger: Any, tagging: Tagging, tokens: Sequence[int | str] | None = None,
                    tag: str | None = None, method: str = "auto",
                    steps: int = DEFAULT_STEPS, window: int = 1) -> TagExplanations:
    """:func:`explain_text` for a sentence :func:`tag_sentence` has tagged already."""
    tagger._check_fitted()
    method = choose_method(method, ALLOWED)
    check_steps_and_window(steps, window)
    sentence = tagging.sentence
    if sentence.batch is None:
        return TagExplanations(sentence.text, [], [], 0, [
            "the text has no tokens, so there is nothing to explain"])
    tagged = [{"token": t.text, "tag": s, "start": t.start, "end": t.end}
              for t, s in zip(sentence.tokens, tagging.shown, strict=True)]
    notes = [f"the tagger was explained on the first {len(sentence.tokens)} tokens: "
             f"{sentence.cut} more were cut"] if sentence.cut else []
    positions = tokens_to_explain(tagger, tagging, tokens)
    if not positions:
        notes.append("no entity was found, so no token was explained by default; name "
                     "tokens to explain (by position or word)")
    targets = [_tag_index(tagger, tag) if tag is not None
               else tagger.tag_index_[tagging.learned[i]] for i in positions]
    found = METHODS.get(method)(tagger, Request(sentence, positions, targets, steps, window)) \
        if positions else []
    explanations = []
    for position, target, result in zip(positions, targets, found, strict=True):
        token, name = sentence.tokens[position], tagger.tags_[target]
        explanations.append(Explanation(
            text=sentence.text, target=name, method=method,
            score=SCORE_NAMES[method].format(tag=name, index=position, token=token.text),
            value=float(result["value"]),
            tokens=[TokenAttribution(t.text, t.start, t.end, float(a))
                    for t, a in zip(sentence.tokens, result["scores"], strict=True)],
            reference=result["reference"], delta=result["delta"], steps=result["steps"],
            tokens_cut=sentence.cut, notes=list(notes),
            extra={"token_index": position, "token": token.text, "tag": name,
                   "probabilities": {t: float(p) for t, p in zip(
                       tagger.tags_, tagging.probabilities[position], strict=True)}}))
    return TagExplanations(sentence.text, tagged, explanations, sentence.cut, notes)
