"""Searching for an output: greedy (a batch at once) and beam search (n-best with scores).

Both stop a hypothesis at end-of-sequence and never run past ``max_length`` tokens, so a
model that never says end-of-sequence still ends. A step function takes the last tokens
``[K]`` and the carried state and returns log-probabilities ``[K, V]`` and the new state;
beam search keeps the ``width`` best hypotheses and scores each finished one by its
log-probability divided by ``length ** length_penalty``. The search stops once no live
hypothesis can beat the ``n_best`` finished ones, so it returns the best outputs the beam
reached, not merely the first to finish. A batch of sentences is searched together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

Step = Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]
Select = Callable[[Any, torch.Tensor], Any]


@dataclass
class Hypothesis:
    """An output: its token ids (end-of-sequence left out), log-probability and score."""

    tokens: list[int]
    log_probability: float
    score: float
    finished: bool


def normalised(log_probability: float, length: int, length_penalty: float) -> float:
    return log_probability / max(length, 1) ** length_penalty


def _settled(finished: list[Hypothesis], live: list[float], n_best: int, max_length: int,
             length_penalty: float) -> bool:
    """Whether no live hypothesis can still beat the ``n_best`` finished ones: a live one
    can at best keep its log-probability (the rest of its tokens certain) over the longest
    allowed length."""
    if len(finished) < n_best:
        return False
    nth = sorted((h.score for h in finished), reverse=True)[n_best - 1]
    return nth >= max(live) / max_length ** length_penalty


def greedy(step: Step, carried: Any, batch: int, bos: int, eos: int, max_length: int
           ) -> list[list[int]]:
    """The most likely next token, step by step, for ``batch`` sentences at once."""
    tokens = torch.full((batch,), bos, dtype=torch.long)
    done = torch.zeros(batch, dtype=torch.bool)
    out: list[list[int]] = [[] for _ in range(batch)]
    for _ in range(max_length):
        log_probs, carried = step(tokens, carried)
        tokens = log_probs.argmax(dim=-1)
        for i in torch.nonzero(~done).flatten().tolist():
            if int(tokens[i]) != eos:
                out[i].append(int(tokens[i]))
        done |= tokens == eos
        if bool(done.all()):
            break
    return out


@dataclass
class _Beams:
    """One sentence's live hypotheses (tokens and log-probabilities) and finished ones."""

    tokens: list[list[int]]
    scores: list[float]
    max_length: int
    finished: list[Hypothesis] = field(default_factory=list)


def _advance(beams: _Beams, log_probs: torch.Tensor, eos: int, width: int, length: int,
             length_penalty: float, n_best: int) -> list[tuple[int, int]]:
    """Extend one sentence's beams by one token; return the (row, token) pairs that stay
    live (none once the sentence is settled or at its length limit)."""
    total = (torch.tensor(beams.scores).unsqueeze(1) + log_probs).flatten()
    vocab = log_probs.size(1)
    kept: list[tuple[int, int, float]] = []
    # the best candidates, until `width` live ones; an end-of-sequence candidate ranked
    # above them finishes its hypothesis
    for flat in torch.argsort(total, descending=True)[: 2 * width].tolist():
        if len(kept) == width:
            break
        row, token, value = flat // vocab, flat % vocab, float(total[flat])
        if token == eos:
            beams.finished.append(Hypothesis(beams.tokens[row], value,
                                             normalised(value, length, length_penalty), True))
        else:
            kept.append((row, token, value))
    if not kept or _settled(beams.finished, [v for _, _, v in kept], n_best,
                            beams.max_length, length_penalty):
        return []
    beams.tokens = [beams.tokens[r] + [t] for r, t, _ in kept]
    beams.scores = [v for _, _, v in kept]
    if length == beams.max_length:  # the live hypotheses end here, unfinished
        beams.finished += [Hypothesis(b, s, normalised(s, len(b), length_penalty), False)
                           for b, s in zip(beams.tokens, beams.scores, strict=True)]
        return []
    return [(r, t) for r, t, _ in kept]


def beam_search(step: Step, carried: Any, select: Select, bos: int, eos: int, width: int,
                max_lengths: list[int], length_penalty: float = 1.0, n_best: int = 1
                ) -> list[list[Hypothesis]]:
    """The ``n_best`` best outputs of each sentence, best first. ``carried`` holds one row
    per sentence; every live hypothesis of every sentence runs in the same step."""
    searches = [_Beams([[]], [0.0], limit) for limit in max_lengths]
    owners = list(range(len(searches)))  # the sentence of each carried row, in order
    last = torch.full((len(owners),), bos, dtype=torch.long)
    length = 0
    while owners:
        length += 1
        log_probs, carried = step(last, carried)
        log_probs = log_probs.float()
        index, tokens, next_owners, row = [], [], [], 0
        for sentence in dict.fromkeys(owners):
            beams = searches[sentence]
            count = len(beams.tokens)
            for r, token in _advance(beams, log_probs[row:row + count], eos, width, length,
                                     length_penalty, n_best):
                index.append(row + r)
                tokens.append(token)
                next_owners.append(sentence)
            row += count
        owners = next_owners
        if owners:
            carried = select(carried, torch.tensor(index))
            last = torch.tensor(tokens)
    return [sorted(s.finished, key=lambda h: -h.score)[:n_best] for s in searches]
