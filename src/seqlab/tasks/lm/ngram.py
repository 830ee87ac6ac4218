"""The baseline a recurrent language model must beat: interpolated Kneser-Ney n-grams.

Written here, small and exact. The highest order uses raw counts; each lower order uses
continuation counts (in how many different contexts a token follows its shorter
context), so a token that is frequent only inside one phrase gets little weight on its
own. Every order subtracts a discount ``D = n1 / (n1 + 2 n2)`` from each count and gives
the freed mass to the next lower order; the lowest order is mixed with a uniform
distribution over the vocabulary, so every token has a probability above zero and the
probabilities of all tokens after any context sum to one.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

Context = tuple[int, ...]


class KneserNey:
    """An interpolated Kneser-Ney model of ``order`` over token ids ``0..vocab_size-1``."""

    def __init__(self, order: int, vocab_size: int) -> None:
        if order < 1:
            raise ValueError("an n-gram model needs order >= 1")
        self.order = order
        self.vocab_size = vocab_size
        # per n-gram length k: context (k-1 ids) → {next id: count}, with totals and types
        self.tables: dict[int, dict[Context, dict[int, int]]] = {}
        self.totals: dict[int, dict[Context, int]] = {}
        self.types: dict[int, dict[Context, int]] = {}
        self.discounts: dict[int, float] = {}

    def fit(self, ids: Sequence[int]) -> KneserNey:
        """Count the n-grams of a token stream."""
        ids = list(ids)
        counts = Counter(zip(*(ids[i:] for i in range(self.order)), strict=False))
        for k in range(self.order, 0, -1):
            self._store(k, counts)
            if k > 1:  # continuation counts: distinct tokens seen before each (k-1)-gram
                counts = Counter(gram[1:] for gram in counts)
        return self

    def _store(self, k: int, counts: Counter[tuple[int, ...]]) -> None:
        table: dict[Context, dict[int, int]] = {}
        for gram, count in counts.items():
            table.setdefault(gram[:-1], {})[gram[-1]] = count
        self.tables[k] = table
        self.totals[k] = {ctx: sum(nexts.values()) for ctx, nexts in table.items()}
        self.types[k] = {ctx: len(nexts) for ctx, nexts in table.items()}
        histogram = Counter(counts.values())
        n1, n2 = histogram.get(1, 0), histogram.get(2, 0)
        self.discounts[k] = n1 / (n1 + 2 * n2) if n1 else 0.5

    @property
    def size(self) -> int:
        """How many n-grams (of every order) the model stores: its size, as parameters
        are a network's."""
        return sum(len(nexts) for table in self.tables.values() for nexts in table.values())

    def prob(self, context: Sequence[int], token: int) -> float:
        """P(token | the last ``order - 1`` ids of context)."""
        context = tuple(context[len(context) - self.order + 1:]) if self.order > 1 else ()
        p = 1.0 / self.vocab_size
        for k in range(1, self.order + 1):
            if k - 1 > len(context):
                break
            ctx = context[len(context) - k + 1:] if k > 1 else ()
            nexts = self.tables[k].get(ctx)
            if nexts is None:  # context never seen at this order: keep the lower estimate
                continue
            total, discount = self.totals[k][ctx], self.discounts[k]
            p = (max(nexts.get(token, 0) - discount, 0.0) / total
                 + discount * self.types[k][ctx] / total * p)
        return p

    def nats(self, ids: Sequence[int]) -> float:
        """Mean negative log-likelihood, in nats per token, of ``ids[1:]`` given what
        precedes each (the first token is context only, as for the recurrent model)."""
        ids = list(ids)
        history = self.order - 1
        total = 0.0
        for i in range(1, len(ids)):
            total -= math.log(self.prob(ids[max(0, i - history):i], ids[i]))
        return total / max(len(ids) - 1, 1)
