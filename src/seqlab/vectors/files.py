"""Reading and writing word-vector files: word2vec text and binary, GloVe, fastText.

Every reader streams the file and can keep only the words a vocabulary needs, so a
multi-gigabyte GloVe file costs the memory of the words used. A row with the wrong
number of values, a file that ends early or a byte that is not UTF-8 is a
:class:`~seqlab.errors.DataError` naming the file and the line (or the vector number).

| format            | looks like                                  |
|-------------------|---------------------------------------------|
| ``word2vec``      | text; first line ``COUNT DIM``; ``word v1 … vD`` |
| ``fasttext-vec``  | the same (fastText's ``.vec``)                |
| ``glove``         | text without the header line                  |
| ``word2vec-binary`` | ``COUNT DIM`` line, then ``word`` + D float32 |
| ``fasttext-bin``  | a fastText model (sub-words: unseen words get vectors) |
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import IO

import numpy as np

from seqlab.errors import DataError
from seqlab.registry import Registry
from seqlab.vectors.store import WordVectors

FASTTEXT_MAGIC = 793712314  # the int32 a fastText .bin model starts with

Reader = Callable[[Path, Collection[str] | None], WordVectors]
FORMATS: Registry[Reader] = Registry("vector file format")


def _open(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _decode(raw: bytes, path: Path, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path}: {where} is not valid UTF-8; word-vector files are UTF-8 "
                        "(re-save the file as UTF-8)") from None


def _header(line: str) -> tuple[int, int] | None:
    parts = line.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def _finish(path: Path, words: list[str], rows: list[np.ndarray],
            dim: int | None) -> WordVectors:
    if dim is None:
        raise DataError(f"{path}: the file holds no vectors")
    matrix = np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)
    return WordVectors(words, matrix)


def _read_text(path: Path, keep: Collection[str] | None, with_header: bool) -> WordVectors:
    words: list[str] = []
    rows: list[np.ndarray] = []
    dim: int | None = None
    declared: int | None = None
    seen = 0
    with _open(path) as handle:
        for number, raw in enumerate(handle, start=1):
            line = _decode(raw, path, f"line {number}").rstrip("\r\n")
            if not line.strip():
                continue
            if number == 1 and with_header:
                header = _header(line)
                if header is None:
                    raise DataError(
                        f"{path}: line 1 should be the header `COUNT DIM` of the word2vec "
                        f"format, got {line[:60]!r}; for a GloVe file pass --format glove")
                declared, dim = header
                continue
            word, _, rest = line.partition(" ")
            if dim is None:
                dim = len(rest.split())
                if dim == 0:
                    raise DataError(f"{path}: line {number} has a word and no vector")
            seen += 1
            if keep is not None and word not in keep:
                continue
            try:
                values = np.array(rest.split(), dtype=np.float32)
            except ValueError:
                raise DataError(f"{path}: line {number} ({word!r}) holds a value that is not "
                                "a number") from None
            if len(values) != dim:
                raise DataError(
                    f"{path}: line {number} ({word!r}) has {len(values)} values but the "
                    f"vectors are {dim}-dimensional; the file is damaged or cut short")
            words.append(word)
            rows.append(values)
    if declared is not None and seen < declared:
        raise DataError(f"{path}: the header promises {declared} vectors but the file holds "
                        f"{seen}; it was cut short (download it again)")
    return _finish(path, words, rows, dim)


@FORMATS.register("word2vec")
def read_word2vec_text(path: Path, keep: Collection[str] | None = None) -> WordVectors:
    """word2vec text format (header line ``COUNT DIM``)."""
    return _read_text(path, keep, with_header=True)


@FORMATS.register("fasttext-vec")
def read_fasttext_vec(path: Path, keep: Collection[str] | None = None) -> WordVectors:
    """fastText ``.vec``: the word2vec text format."""
    return _read_text(path, keep, with_header=True)


@FORMATS.register("glove")
def read_glove(path: Path, keep: Collection[str] | None = None) -> WordVectors:
    """GloVe ``.txt``: ``word v1 … vD`` per line, no header."""
    return _read_text(path, keep, with_header=False)


def _binary_records(handle: IO[bytes], path: Path, count: int,
                    dim: int) -> Iterator[tuple[int, bytes, bytes]]:
    size = 4 * dim
    for number in range(1, count + 1):
        word = bytearray()
        while True:
            char = handle.read(1)
            if not char:
                raise DataError(f"{path}: the file ends at vector {number} of {count}; it was "
                                "cut short (download it again)")
            if char == b" ":
                break
            if char != b"\n" or word:
                word += char
        data = handle.read(size)
        if len(data) != size:
            raise DataError(f"{path}: the file ends inside vector {number} of {count}; it was "
                            "cut short (download it again)")
        yield number, bytes(word), data


@FORMATS.register("word2vec-binary")
def read_word2vec_binary(path: Path, keep: Collection[str] | None = None) -> WordVectors:
    """word2vec binary format: a ``COUNT DIM`` text line, then words and float32 vectors."""
    words: list[str] = []
    rows: list[np.ndarray] = []
    with _open(path) as handle:
        header = _header(_decode(handle.readline(), path, "the header"))
        if header is None:
            raise DataError(f"{path}: not a word2vec binary file (no `COUNT DIM` header); "
                            "pass --format to name the file's format")
        count, dim = header
        for number, raw_word, data in _binary_records(handle, path, count, dim):
            word = _decode(raw_word, path, f"the word of vector {number}")
            if keep is None or word in keep:
                words.append(word)
                rows.append(np.frombuffer(data, dtype="<f4").astype(np.float32))
    return _finish(path, words, rows, dim)


@FORMATS.register("fasttext-bin")
def read_fasttext_bin(path: Path, keep: Collection[str] | None = None) -> WordVectors:
    """A fastText ``.bin`` model: its words, plus vectors for unseen words from sub-words."""
    from gensim.models.fasttext import load_facebook_vectors

    try:
        vectors = load_facebook_vectors(str(path))
    except (OSError, EOFError, ValueError, AssertionError, MemoryError) as err:
        raise DataError(f"{path}: not a readable fastText .bin model ({err}); it may be cut "
                        "short") from None
    words = [w for w in vectors.index_to_key if keep is None or w in keep]
    matrix = (np.stack([vectors[w] for w in words]) if words
              else np.zeros((0, vectors.vector_size), dtype=np.float32))
    return WordVectors(words, matrix, oov=lambda word: vectors[word])


def detect_format(path: Path) -> str:
    """The format of a vector file from its first bytes (and ``.bin`` suffix)."""
    with _open(path) as handle:
        head = handle.read(4)
        if len(head) == 4 and int.from_bytes(head, "little") == FASTTEXT_MAGIC:
            return "fasttext-bin"
        # the first line only: a header as short as "2 8\n" fits in the 4 bytes read
        first = (head + handle.readline()).split(b"\n", 1)[0]
    if path.suffix == ".bin" or path.name.endswith(".bin.gz"):
        return "word2vec-binary"
    try:
        line = first.decode("utf-8")
    except UnicodeDecodeError:
        return "word2vec-binary"
    return "word2vec" if _header(line) is not None else "glove"


def read_vectors(path: str | Path, fmt: str = "auto", keep: Collection[str] | None = None,
                 expected_dim: int | None = None) -> WordVectors:
    """Read a vector file (``fmt="auto"`` detects it), keeping only ``keep`` if given.

    ``expected_dim`` checks the vectors' dimension against the model's embedding size.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such vector file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give a vector file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the vector file is empty")
    name = detect_format(path) if fmt == "auto" else fmt
    vectors = FORMATS.get(name)(path, keep)
    if expected_dim is not None and vectors.dim != expected_dim:
        raise DataError(
            f"{path}: the vectors are {vectors.dim}-dimensional but the model's embedding "
            f"size is {expected_dim}; set model.embedding_dim: {vectors.dim} "
            f"(--embedding-dim {vectors.dim})")
    return vectors


def write_word2vec(vectors: WordVectors, path: str | Path, binary: bool = False) -> Path:
    """Write the word2vec format (text, or binary) that every word-vector tool reads."""
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "wb") as out:
        out.write(f"{len(vectors)} {vectors.dim}\n".encode())
        for word, row in zip(vectors.words, vectors.matrix, strict=True):
            if binary:
                out.write(word.encode("utf-8") + b" " + row.astype("<f4").tobytes() + b"\n")
            else:
                values = " ".join(f"{v:.6g}" for v in row)
                out.write(f"{word} {values}\n".encode())
    tmp.replace(path)
    return path
