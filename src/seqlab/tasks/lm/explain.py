"""Which tokens of a prompt drove a language model's next token: ``explain_next``.

The explained score is the probability of the next token, as generation draws it (the
padding and unknown tokens ruled out). The prompt is read as generation reads it: a
prompt the model starts at a line start gets the line-start token first (it has no
place in the text, so its offsets are None), and a prompt longer than ``TOKEN_LIMIT``
tokens keeps its last ones.

- ``occlusion`` (the default): the fall of the probability when a token (or a window of
  tokens) is deleted from the prompt (a prompt left empty is the line start).
- ``ig``: integrated gradients (Captum) on the embedded prompt, from all-zero vectors to
  the tokens' embeddings; the attributions add up to ``p(prompt) − p(zero vectors)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from seqlab.errors import DataError
from seqlab.explain.explanation import Explanation, TokenAttribution
from seqlab.explain.integrated import DEFAULT_STEPS, integrated_gradients
from seqlab.explain.occlusion import occlusion
from seqlab.explain.options import TOKEN_LIMIT, check_steps_and_window, choose_method
from seqlab.registry import Registry
from seqlab.text.levels import NEWLINE
from seqlab.text.vocab import UNK_ID

# occlusion first: deleting what integrated gradients scores lowest lowered the next
# token's probability on tiny-shakespeare, where occlusion's lowest raised it (BENCHMARKS §17)
ALLOWED = ("occlusion", "ig")
# prompt variants per model call (occlusion)
ROWS_PER_CALL = 256
TOP_NEXT = 5
SCORE_NAMES: dict[str, str] = {
    "ig": "probability of the next token {token!r}",
    "occlusion": "fall in the probability of the next token {token!r} when the token is "
                 "deleted from the prompt",
}


@dataclass
class Prompt:
    """The ids a language model reads of a prompt, each token with its place in the text
    (None for the line-start token the model adds), and how many tokens were cut."""

    text: str
    ids: list[int]
    tokens: list[str]
    places: list[tuple[int | None, int | None]]
    cut: int


def _places(text: str, pieces: Sequence[str]) -> list[tuple[int | None, int | None]]:
    """Each token's characters in ``text``, found in order (a word-level token carries
    a ``▁`` where a space came before it)."""
    out: list[tuple[int | None, int | None]] = []
    cursor = 0
    for piece in pieces:
        bare = piece.lstrip("▁") or piece
        at = text.find(bare, cursor)
        if at < 0:
            out.append((None, None))
            continue
        out.append((at, at + len(bare)))
        cursor = at + len(bare)
    return out


def read(lm: Any, text: str) -> Prompt:
    """What ``lm`` reads of the prompt ``text``."""
    text = str(text)
    pieces = lm.tokenize(text)
    ids = lm._start(text)
    added = len(ids) - len(pieces)  # 1 where the model begins at a line start, else 0
    lowered = text.lower() if lm.config.corpus.lowercase else text
    places = [(None, None)] * added + _places(lowered if len(lowered) == len(text) else text,
                                              pieces)
    tokens = [NEWLINE] * added + [lm.vocab_.itos[i] if i != UNK_ID else piece
                                  for i, piece in zip(ids[added:], pieces, strict=True)]
    cut = max(0, len(ids) - TOKEN_LIMIT)
    return Prompt(text, ids[cut:], tokens[cut:], places[cut:], cut)


def next_probabilities(lm: Any, embedded: torch.Tensor) -> torch.Tensor:
    """``[B, vocab]``: the next token's probabilities after embedded prompts ``[B, T, D]``
    (padding and ``<unk>`` ruled out, as in generation)."""
    module = lm.module_
    out, _ = module.encoder.stream(embedded)
    return torch.exp(lm._masked(module.output(out[:, -1])))


def _embedded(lm: Any, ids: Sequence[Sequence[int]]) -> torch.Tensor:
    return lm.module_.embedding(torch.tensor(ids, dtype=torch.long))


# ---- the methods -------------------------------------------------------------------


MethodFn = Callable[[Any, Prompt, int, int, int], dict[str, Any]]
METHODS: Registry[MethodFn] = Registry("language-model explanation method")


@METHODS.register("ig")
def _integrated(lm: Any, prompt: Prompt, target: int, steps: int, window: int
                ) -> dict[str, Any]:
    through = nn.Identity()
    with torch.no_grad():
        embedded = _embedded(lm, [prompt.ids])
    result = integrated_gradients(lambda x: next_probabilities(lm, through(x)), [through],
                                  (embedded,), (torch.zeros_like(embedded),), [target], steps)
    return {"scores": result.layers[0][0].sum(-1).double().numpy(),
            "value": result.values[0], "reference": result.references[0],
            "delta": result.deltas[0], "steps": steps}


@METHODS.register("occlusion")
def _occlusion(lm: Any, prompt: Prompt, target: int, steps: int, window: int
               ) -> dict[str, Any]:
    start = lm.vocab_.stoi.get(NEWLINE, UNK_ID)

    def proba(kept: Sequence[Sequence[int]]) -> np.ndarray:
        variants = [[prompt.ids[i] for i in k] or [start] for k in kept]
        out = np.zeros((len(variants), len(lm.vocab_)))
        by_length: dict[int, list[int]] = {}
        for row, ids in enumerate(variants):
            by_length.setdefault(len(ids), []).append(row)
        with torch.inference_mode():
            for rows in by_length.values():
                for begin in range(0, len(rows), ROWS_PER_CALL):
                    chunk = rows[begin:begin + ROWS_PER_CALL]
                    found = next_probabilities(lm, _embedded(lm, [variants[r] for r in chunk]))
                    out[chunk] = found.double().numpy()
        return out

    scores, value = occlusion(proba, len(prompt.ids), target, window)
    return {"scores": scores, "value": value, "reference": None, "delta": None,
            "steps": None}


def _target(lm: Any, asked: str | None, probabilities: torch.Tensor) -> int:
    if asked is None:
        return int(probabilities.argmax())
    token = asked.lower() if lm.config.corpus.lowercase else asked
    index = lm.vocab_.stoi.get(token)
    if index is None or index <= UNK_ID:
        raise DataError(f"next token {asked!r} is not in the model's vocabulary of "
                        f"{len(lm.vocab_):,} {lm.level.name} tokens; name one it can produce")
    return index


def explain_next(lm: Any, prompts: Sequence[str], next_tokens: Sequence[str | None] | None
                 = None, method: str = "auto", steps: int = DEFAULT_STEPS, window: int = 1
                 ) -> list[Explanation]:
    """Per prompt, which of its tokens drove the next token in ``next_tokens`` (None: the
    most likely one)."""
    lm._check_fitted()
    method = choose_method(method, ALLOWED)
    check_steps_and_window(steps, window)
    asked = list(next_tokens) if next_tokens is not None else [None] * len(prompts)
    if len(asked) != len(prompts):
        raise DataError(f"{len(prompts)} prompts but {len(asked)} next tokens to explain")
    explanations = []
    for text, token in zip(prompts, asked, strict=True):
        prompt = read(lm, text)
        with torch.inference_mode():
            probabilities = next_probabilities(lm, _embedded(lm, [prompt.ids]))[0]
        target = _target(lm, token, probabilities)
        result = METHODS.get(method)(lm, prompt, target, steps, window)
        name = lm.vocab_.itos[target]
        top = torch.topk(probabilities, min(TOP_NEXT, len(probabilities)))
        notes = [f"the model was explained on the prompt's last {len(prompt.ids)} tokens: "
                 f"{prompt.cut} before them were cut"] if prompt.cut else []
        explanations.append(Explanation(
            text=prompt.text, target=name, method=method,
            score=SCORE_NAMES[method].format(token=name), value=float(result["value"]),
            tokens=[TokenAttribution(t, start, end, float(a)) for t, (start, end), a in
                    zip(prompt.tokens, prompt.places, result["scores"], strict=True)],
            reference=result["reference"], delta=result["delta"], steps=result["steps"],
            tokens_cut=prompt.cut, notes=notes,
            extra={"next": name, "probability": float(probabilities[target]),
                   "most_likely": [{"token": lm.vocab_.itos[i], "probability": float(p)}
                                   for p, i in zip(top.values.tolist(), top.indices.tolist(),
                                                   strict=True)]}))
    return explanations
