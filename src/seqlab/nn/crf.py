"""A linear-chain conditional random field over per-token tag scores.

The score of a tag path ``y`` for emissions ``e`` (``[T, tags]``) is

    start[y_0] + sum_t e[t, y_t] + sum_t trans[y_{t-1}, y_t] + end[y_last]

and the model's probability of ``y`` is ``exp(score(y)) / Z`` with ``Z`` the sum over
every path (the forward algorithm computes ``log Z``; Viterbi the best path). Transitions
a tag scheme forbids (``I-PER`` after ``O`` in IOB2) get a fixed, very low score, so
the best path is always a valid one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

FORBIDDEN = -10_000.0


def _penalty(allowed: Sequence[bool] | Sequence[Sequence[bool]] | None, shape: tuple[int, ...]
             ) -> torch.Tensor:
    if allowed is None:
        return torch.zeros(shape)
    return torch.where(torch.tensor(allowed, dtype=torch.bool), 0.0, FORBIDDEN)


class CRF(nn.Module):
    """Learned start, end and transition scores with forbidden moves masked out.

    ``allowed[i][j]``: tag ``j`` may follow tag ``i``; ``allowed_start``/``allowed_end``:
    which tags may begin and end a sentence. None allows everything.
    """

    def __init__(self, num_tags: int, allowed: Sequence[Sequence[bool]] | None = None,
                 allowed_start: Sequence[bool] | None = None,
                 allowed_end: Sequence[bool] | None = None) -> None:
        super().__init__()
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))
        self.register_buffer("transition_penalty", _penalty(allowed, (num_tags, num_tags)))
        self.register_buffer("start_penalty", _penalty(allowed_start, (num_tags,)))
        self.register_buffer("end_penalty", _penalty(allowed_end, (num_tags,)))

    def _scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (self.transitions + self.transition_penalty, self.start + self.start_penalty,
                self.end + self.end_penalty)

    def path_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
                   ) -> torch.Tensor:
        """``[B]`` scores of the given paths; ``emissions [B, T, tags]``, ``tags [B, T]``,
        ``mask [B, T]`` (real tokens, each sentence's first position real)."""
        trans, start, end = self._scores()
        maskf = mask.to(emissions.dtype)
        emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)
        score = start[tags[:, 0]] + (emitted * maskf).sum(1)
        score = score + (trans[tags[:, :-1], tags[:, 1:]] * maskf[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
        return score + end[last]

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[B]`` log of the summed exp-score of every path (the forward algorithm)."""
        trans, start, end = self._scores()
        alpha = start + emissions[:, 0]
        for t in range(1, emissions.size(1)):
            step = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)
        return torch.logsumexp(alpha + end, dim=1)

    def marginals(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[B, T, tags]``: each token's probability of each tag, summed over every path
        (forward–backward); rows past a sentence's length are meaningless."""
        trans, start, end = self._scores()
        steps = emissions.size(1)
        alphas = [start + emissions[:, 0]]
        for t in range(1, steps):
            step = torch.logsumexp(alphas[-1].unsqueeze(2) + trans, dim=1) + emissions[:, t]
            alphas.append(torch.where(mask[:, t].unsqueeze(1), step, alphas[-1]))
        betas = [end.expand_as(alphas[-1])]
        for t in range(steps - 2, -1, -1):  # beta_t: log-sum of the paths after t
            step = torch.logsumexp(trans + (emissions[:, t + 1] + betas[0]).unsqueeze(1), dim=2)
            betas.insert(0, torch.where(mask[:, t + 1].unsqueeze(1), step, betas[0]))
        joint = torch.stack(alphas, 1) + torch.stack(betas, 1)
        return torch.softmax(joint, dim=-1)

    def neg_log_likelihood(self, emissions: torch.Tensor, tags: torch.Tensor,
                           mask: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of ``log Z - score(gold path)``."""
        return (self.log_partition(emissions, mask)
                - self.path_score(emissions, tags, mask)).mean()

    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """The best path of each sentence (Viterbi), as many tags as it has tokens."""
        trans, start, end = self._scores()
        score = start + emissions[:, 0]
        back = []
        for t in range(1, emissions.size(1)):
            best, index = (score.unsqueeze(2) + trans).max(dim=1)
            score = torch.where(mask[:, t].unsqueeze(1), best + emissions[:, t], score)
            back.append(index)  # only the first length - 1 are followed back
        score = score + end
        lengths = mask.sum(1).tolist()
        paths = []
        for row in range(emissions.size(0)):
            tag = int(score[row].argmax())
            path = [tag]
            for pointers in reversed(back[: lengths[row] - 1]):
                tag = int(pointers[row, tag])
                path.append(tag)
            paths.append(path[::-1])
        return paths
