"""Choosing the next token from a language model's logits: greedy, temperature, top-k, top-p."""

from __future__ import annotations

import torch

from seqlab.errors import SeqlabError


def check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Refuse impossible sampling settings with a message that says the allowed range."""
    if temperature < 0:
        raise SeqlabError(f"temperature {temperature} is negative; use 0 (greedy) or more")
    if top_k is not None and top_k < 1:
        raise SeqlabError(f"top-k {top_k}: keep at least 1 token")
    if top_p is not None and not 0 < top_p <= 1:
        raise SeqlabError(f"top-p {top_p}: give a probability in (0, 1]")


def next_token(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
               top_p: float | None = None, generator: torch.Generator | None = None) -> int:
    """One token id drawn from ``logits`` ``[vocab]`` (masked entries are ``-inf``).

    Temperature 0 takes the most likely token. Otherwise the logits are divided by the
    temperature, cut to the ``top_k`` most likely tokens and to the smallest set whose
    probability reaches ``top_p`` (nucleus sampling), and one token is drawn.
    """
    if temperature == 0:
        return int(logits.argmax())
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.numel():
        threshold = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < threshold, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if top_p is not None and top_p < 1:
        sorted_probs, order = torch.sort(probs, descending=True)
        before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs  # mass above each token
        sorted_probs = sorted_probs.masked_fill(before >= top_p, 0.0)
        probs = torch.zeros_like(probs).scatter(0, order, sorted_probs)
    return int(torch.multinomial(probs, 1, generator=generator))
