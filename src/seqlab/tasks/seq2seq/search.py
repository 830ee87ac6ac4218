"""Searching for an output: greedy (a batch at once) and beam search (n-best with scores).

Both stop a hypothesis at end-of-sequence and never run past ``max_length`` tokens, so a
model that never says end-of-sequence still ends. A step function takes the last tokens
``[K]`` and the carried state and returns log-probabilities ``[K, V]`` and the new state;
beam search keeps the ``width`` best hypotheses and scores each finished one by its
log-probability divided by ``length ** length_penalty``. The search stops once no live
hypothesis can beat the ``n_best`` finished ones, so it returns the best outputs the beam
reached, not merely the first to finish.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


def beam_search(step: Step, carried: Any, select: Select, bos: int, eos: int, width: int,
                max_length: int, length_penalty: float = 1.0, n_best: int = 1
                ) -> list[Hypothesis]:
    """The ``n_best`` best outputs of one sentence (``carried`` holds one row), best first."""
    beams: list[list[int]] = [[]]
    scores = torch.zeros(1)
    last = torch.full((1,), bos, dtype=torch.long)
    finished: list[Hypothesis] = []
    for length in range(1, max_length + 1):
        log_probs, carried = step(last, carried)
        total = (scores.unsqueeze(1) + log_probs.float()).flatten()
        vocab = log_probs.size(1)
        keep_rows, keep_tokens, keep_scores = [], [], []
        # the best candidates, until `width` live ones; an end-of-sequence candidate
        # ranked above them finishes its hypothesis
        for flat in torch.argsort(total, descending=True)[: 2 * width].tolist():
            if len(keep_rows) == width:
                break
            row, token, value = flat // vocab, flat % vocab, float(total[flat])
            if token == eos:
                finished.append(Hypothesis(beams[row], value,
                                           normalised(value, length, length_penalty), True))
            else:
                keep_rows.append(row)
                keep_tokens.append(token)
                keep_scores.append(value)
        if not keep_rows or _settled(finished, keep_scores, n_best, max_length,
                                     length_penalty):
            break
        index = torch.tensor(keep_rows)
        beams = [beams[r] + [t] for r, t in zip(keep_rows, keep_tokens, strict=True)]
        scores, last = torch.tensor(keep_scores), torch.tensor(keep_tokens)
        carried = select(carried, index)
    else:  # max_length reached: the live hypotheses end there, unfinished
        finished += [Hypothesis(b, float(s), normalised(float(s), len(b), length_penalty),
                                False) for b, s in zip(beams, scores, strict=True)]
    return sorted(finished, key=lambda h: -h.score)[:n_best]
