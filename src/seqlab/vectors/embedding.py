"""From word vectors to a model's first layer: the start matrix and its coverage."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from seqlab.config import EmbeddingConfig
from seqlab.data.text_file import read_text
from seqlab.errors import DataError
from seqlab.text.vocab import PAD_ID, UNK_ID, Vocab
from seqlab.vectors.files import read_vectors
from seqlab.vectors.store import WordVectors
from seqlab.vectors.training import train_vectors


@dataclass
class Coverage:
    """How much of the vocabulary (types) and of the training text (tokens) has a vector."""

    source: str
    words_found: int
    vocab_words: int
    tokens_found: int
    tokens: int

    @property
    def word_share(self) -> float:
        return self.words_found / max(self.vocab_words, 1)

    @property
    def token_share(self) -> float:
        return self.tokens_found / max(self.tokens, 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"word_share": self.word_share, "token_share": self.token_share}


def vectors_for(config: EmbeddingConfig, token_lists: Sequence[Sequence[str]],
                words: Collection[str], dim: int, seed: int, corpus: str = "the training split"
                ) -> tuple[WordVectors, str]:
    """The vectors ``config`` asks for (trained on ``token_lists``, which ``corpus`` names,
    or read from a file, keeping ``words``), with a short description of their source."""
    if config.type == "pretrained":
        assert config.path is not None
        return (read_vectors(config.path, config.format, keep=set(words), expected_dim=dim),
                f"pretrained {config.path}")
    vectors = train_vectors(token_lists, config.type, dim=dim,
                            architecture=config.architecture, window=config.window,
                            min_count=config.min_count, epochs=config.epochs, seed=seed)
    return vectors, (f"{config.type} {config.architecture} trained on {corpus} "
                     f"({dim}-d, window {config.window}, min count {config.min_count}, "
                     f"{config.epochs} epochs)")


def start_matrix(vocab: Vocab, vectors: WordVectors, token_lists: Iterable[Sequence[str]],
                 source: str, seed: int) -> tuple[np.ndarray, Coverage]:
    """An embedding matrix for ``vocab``: the word's vector where there is one (FastText
    makes one for every word), else a random row of the vectors' own scale; ``<pad>`` is 0.

    A vocabulary with no word among the vectors is an error: the file is for another
    language, or another preprocessing (e.g. cased vectors and lowercased text).
    """
    rng = np.random.default_rng(seed)
    scale = float(vectors.matrix.std()) if len(vectors) else 0.1
    matrix = rng.normal(0.0, scale or 0.1, (len(vocab), vectors.dim)).astype(np.float32)
    found = np.zeros(len(vocab), dtype=bool)
    for i, word in enumerate(vocab.itos):
        if i in (PAD_ID, UNK_ID) or not vectors.has_vector(word):
            continue
        matrix[i] = vectors.vector(word)
        found[i] = True
    matrix[PAD_ID] = 0.0
    counts = Counter(t for tokens in token_lists for t in tokens)
    words = vocab.itos[2:]
    coverage = Coverage(
        source=source,
        words_found=int(found[2:].sum()),
        vocab_words=len(words),
        tokens_found=sum(c for t, c in counts.items() if t in vocab.stoi and
                         found[vocab.stoi[t]]),
        tokens=sum(counts.values()),
    )
    if coverage.words_found == 0:
        examples = ", ".join(repr(w) for w in words[:5])
        raise DataError(
            f"{source}: none of the {len(words):,} vocabulary words (e.g. {examples}) has a "
            "vector. The vectors are for other text: check the language, and that the "
            "preprocessing matches them (lowercased text with cased vectors, stemmed words)")
    return matrix, coverage


def with_vector_words(vocab: Vocab, vectors: WordVectors, candidates: Iterable[str]) -> Vocab:
    """``vocab`` followed by the ``candidates`` (in their order) it lacks that have a
    vector: words of unlabelled text, which then start from their vector, not ``<unk>``."""
    known = set(vocab.itos)
    added = []
    for word in candidates:
        if word not in known and vectors.has_vector(word):
            known.add(word)
            added.append(word)
    return Vocab([*vocab.itos, *added]) if added else vocab


def read_unlabelled(paths: Sequence[str], tokenize: Callable[[str], list[str]],
                    encoding: str = "utf-8") -> list[list[str]]:
    """The tokens of each non-empty line of the text files ``paths`` (``.gz`` too), for
    word vectors to train on beside the labelled data; read as every data file is
    (:func:`seqlab.data.text_file.read_text`: errors name the file and the line)."""
    sentences: list[list[str]] = []
    interned: dict[str, str] = {}  # one string per word type keeps large corpora small
    for path in paths:
        count = 0
        for line in read_text(path, encoding).splitlines():
            tokens = [interned.setdefault(t, t) for t in tokenize(line)]
            if tokens:
                sentences.append(tokens)
                count += 1
        if not count:
            raise DataError(f"{path}: no text in this unlabelled text file")
    return sentences


def train_embedding_in(weight: Any, config: EmbeddingConfig, epoch: int) -> None:
    """Let the embedding ``weight`` train in ``epoch`` (counted from 1) or not: start
    vectors fine-tuned after their frozen first ``freeze_epochs``, never when frozen.
    Called before training too (for epoch 1), so that distributed training starts with
    the weights that will train."""
    weight.requires_grad_(config.update == "fine-tune" and epoch > config.freeze_epochs)
