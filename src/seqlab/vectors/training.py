"""Training Word2Vec and FastText (gensim) on a tokenized corpus.

Training is reproducible: one worker thread, a fixed seed and a word hash that does not
change between processes (Python's own ``hash`` of a string does).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from seqlab.errors import DataError
from seqlab.registry import Registry
from seqlab.vectors.files import write_word2vec
from seqlab.vectors.store import WordVectors

FASTTEXT_BUCKETS = 200_000  # sub-word hash buckets; gensim's 2M would take GBs at 300-d

ALGORITHMS: Registry[Callable[..., Any]] = Registry("word-vector algorithm")


def stable_hash(text: str) -> int:
    """A hash of ``text`` that is the same in every process (gensim seeds vectors with it)."""
    return zlib.crc32(text.encode("utf-8"))


@ALGORITHMS.register("word2vec")
def _word2vec(**settings: Any) -> Any:
    from gensim.models import Word2Vec

    return Word2Vec(**settings)


@ALGORITHMS.register("fasttext")
def _fasttext(**settings: Any) -> Any:
    from gensim.models import FastText

    return FastText(bucket=FASTTEXT_BUCKETS, **settings)


def fit_gensim(token_lists: Sequence[Sequence[str]], algorithm: str = "word2vec",
               dim: int = 100, architecture: str = "cbow", window: int = 5,
               min_count: int = 1, epochs: int = 5, seed: int = 13,
               workers: int = 1) -> Any:
    """A trained gensim ``Word2Vec`` or ``FastText`` model."""
    make = ALGORITHMS.get(algorithm)
    sentences = [list(tokens) for tokens in token_lists if tokens]
    if not sentences:
        raise DataError("no text to train word vectors on: every text is empty after "
                        "preprocessing")
    kept = _count_kept(sentences, min_count)
    if kept == 0:
        raise DataError(f"no word occurs {min_count} times, so no word would get a vector; "
                        "lower min_count (embedding.min_count)")
    return make(sentences=sentences, vector_size=dim, sg=int(architecture == "skipgram"),
                window=window, min_count=min_count, epochs=epochs, seed=seed,
                workers=workers, hashfxn=stable_hash)


def _count_kept(sentences: Sequence[Sequence[str]], min_count: int) -> int:
    counts: dict[str, int] = {}
    for tokens in sentences:
        for token in tokens:
            counts[token] = counts.get(token, 0) + 1
    return sum(c >= min_count for c in counts.values())


def as_word_vectors(model: Any) -> WordVectors:
    """The words and vectors of a gensim model; FastText keeps its sub-word vectors."""
    wv = model.wv
    is_fasttext = hasattr(wv, "vectors_ngrams")
    return WordVectors(list(wv.index_to_key), wv.vectors.copy(),
                       oov=(lambda word: wv[word]) if is_fasttext else None)


def train_vectors(token_lists: Sequence[Sequence[str]], algorithm: str = "word2vec",
                  **settings: Any) -> WordVectors:
    """Train ``algorithm`` on ``token_lists``; see :func:`fit_gensim` for the settings."""
    return as_word_vectors(fit_gensim(token_lists, algorithm, **settings))


def save_trained(model: Any, path: str | Path) -> Path:
    """Save a trained model in a standard format: FastText as a fastText ``.bin`` model
    (unseen words keep getting vectors), Word2Vec in the word2vec binary format."""
    path = Path(path)
    if hasattr(model.wv, "vectors_ngrams"):
        from gensim.models.fasttext import save_facebook_model

        tmp = path.with_name(path.name + ".partial")
        save_facebook_model(model, str(tmp))
        tmp.replace(path)
        return path
    return write_word2vec(as_word_vectors(model), path, binary=True)
