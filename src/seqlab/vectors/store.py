"""``WordVectors``: words, their vectors, and the questions people ask of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from seqlab.errors import DataError

OovFunction = Callable[[str], np.ndarray]


class WordVectors:
    """A word → vector table (``matrix[i]`` is the vector of ``words[i]``).

    ``oov``, when given (FastText), makes a vector for a word not in the table from its
    character n-grams; without it an unknown word has no vector.
    """

    def __init__(self, words: Sequence[str], matrix: np.ndarray,
                 oov: OovFunction | None = None) -> None:
        if matrix.ndim != 2 or len(words) != matrix.shape[0]:
            raise ValueError(f"{len(words)} words but a matrix of shape {matrix.shape}")
        self.words = list(words)
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.oov = oov
        self._unit: np.ndarray | None = None

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    def has_vector(self, word: str) -> bool:
        """True if the table holds ``word`` or can make its vector from sub-words."""
        return word in self.index or self.oov is not None

    def vector(self, word: str) -> np.ndarray:
        """The word's vector; FastText makes one for unseen words, others raise DataError."""
        if word in self.index:
            return self.matrix[self.index[word]]
        if self.oov is not None:
            return np.asarray(self.oov(word), dtype=np.float32)
        raise DataError(f"{word!r} is not in the vectors ({len(self)} words); only FastText "
                        "vectors give a vector for a word they never saw")

    def _unit_matrix(self) -> np.ndarray:
        if self._unit is None:
            norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)
            self._unit = self.matrix / np.maximum(norms, 1e-12)
        return self._unit

    def nearest(self, query: np.ndarray, k: int = 10,
                exclude: Sequence[str] = ()) -> list[tuple[str, float]]:
        """The ``k`` words whose vectors have the highest cosine similarity to ``query``."""
        unit = self._unit_matrix()
        scores = unit @ (query / max(float(np.linalg.norm(query)), 1e-12))
        skip = {self.index[w] for w in exclude if w in self.index}
        order = np.argsort(-scores)
        out: list[tuple[str, float]] = []
        for i in order:
            if int(i) in skip:
                continue
            out.append((self.words[int(i)], float(scores[i])))
            if len(out) == k:
                break
        return out

    def neighbors(self, word: str, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` nearest words to ``word`` by cosine similarity, itself left out."""
        return self.nearest(self.vector(word), k, exclude=[word])

    def analogy(self, positive: Sequence[str], negative: Sequence[str] = (),
                k: int = 10) -> list[tuple[str, float]]:
        """``king - man + woman``: the words nearest to the sum of unit vectors of
        ``positive`` minus those of ``negative``; the question's words are left out."""
        if not positive:
            raise DataError("an analogy needs at least one word to add")
        unit = self._unit_matrix()

        def unit_vector(word: str) -> np.ndarray:
            if word in self.index:
                return unit[self.index[word]]
            v = self.vector(word)
            return v / max(float(np.linalg.norm(v)), 1e-12)

        query = sum(unit_vector(w) for w in positive) - sum(
            (unit_vector(w) for w in negative), np.zeros(self.dim, dtype=np.float32))
        return self.nearest(np.asarray(query), k, exclude=[*positive, *negative])


def parse_analogy(expression: str) -> tuple[list[str], list[str]]:
    """``"king - man + woman"`` (or ``"king -man +woman"``) → ``(["king", "woman"], ["man"])``.

    Operators stand apart from words, so hyphenated words such as ``well-known`` stay whole.
    """
    positive: list[str] = []
    negative: list[str] = []
    sign = "+"
    for part in expression.split():
        if part in ("+", "-"):
            sign = part
            continue
        if part[0] in "+-" and len(part) > 1:
            sign, part = part[0], part[1:]
        (positive if sign == "+" else negative).append(part)
        sign = "+"
    return positive, negative
