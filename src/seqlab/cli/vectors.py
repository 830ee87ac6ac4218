"""``seqlab vectors``: train Word2Vec/FastText on a corpus, and look inside vector files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from seqlab.cli.common import console, user_errors

vectors_app = typer.Typer(no_args_is_help=True,
                          help="Train word vectors and inspect them (neighbours, analogies).")


def _corpus(path: str, fmt: str | None, text_column: str | None, encoding: str,
            separator: str) -> list[str]:
    from seqlab.data.readers import TEXT_COLUMN_NAMES, pick_column, read_table
    from seqlab.data.text_file import read_text

    if fmt == "text":  # plain text, one document per line
        return [line for line in read_text(path, encoding).splitlines() if line.strip()]
    frame = read_table(path, fmt, encoding, separator)
    column = pick_column(frame, text_column, TEXT_COLUMN_NAMES, "text", Path(path))
    return ["" if v is None or v != v else str(v) for v in frame[column].tolist()]


@vectors_app.command("train")
@user_errors
def train(
    data: Annotated[str, typer.Argument(help="texts: a data file, or plain text (--format text)")],
    out: Annotated[str, typer.Option(help="file to write (.bin)")] = "vectors.bin",
    algorithm: Annotated[str, typer.Option(help="word2vec|fasttext")] = "word2vec",
    architecture: Annotated[str, typer.Option(help="cbow|skipgram")] = "cbow",
    dim: Annotated[int, typer.Option(help="vector size")] = 100,
    window: Annotated[int, typer.Option(help="context words on each side")] = 5,
    min_count: Annotated[int, typer.Option(help="ignore rarer words")] = 2,
    epochs: Annotated[int, typer.Option(help="passes over the corpus")] = 5,
    preprocessing: Annotated[str, typer.Option(
        help="preset: default|minimal|none|aggressive (as in train)")] = "default",
    fmt: Annotated[str | None, typer.Option(
        "--format", help="csv|tsv|jsonl|parquet|lines|text (text: one document per line)")
    ] = None,
    text_column: Annotated[str | None, typer.Option(help="column holding the text")] = None,
    encoding: Annotated[str, typer.Option()] = "utf-8",
    separator: Annotated[str, typer.Option(help="separator of `lines` files")] = ";",
    seed: Annotated[int, typer.Option()] = 13,
) -> None:
    """Train Word2Vec or FastText on DATA's texts, preprocessed as `seqlab train` would.

    Word2Vec is saved in the word2vec binary format, FastText as a fastText .bin model
    (which gives vectors to unseen words); both load in gensim and in `seqlab train`
    (model.embedding: {type: pretrained, path: ...}).
    """
    import time

    from seqlab.config import EmbeddingConfig
    from seqlab.errors import ConfigError
    from seqlab.text.preprocess import Pipeline
    from seqlab.vectors.training import as_word_vectors, fit_gensim, save_trained

    try:  # the same checks as the config's embedding section
        EmbeddingConfig(architecture=architecture, window=window, min_count=min_count,
                        epochs=epochs)
    except ValueError as err:
        raise ConfigError(f"options: {err}") from None
    texts = _corpus(data, fmt, text_column, encoding, separator)
    tokens = Pipeline(preprocessing).process_many(texts)
    began = time.perf_counter()
    model = fit_gensim(tokens, algorithm, dim=dim, architecture=architecture, window=window,
                       min_count=min_count, epochs=epochs, seed=seed)
    seconds = time.perf_counter() - began
    path = save_trained(model, out)
    vectors = as_word_vectors(model)
    console.print(f"{algorithm} {architecture}: {len(vectors):,} words × {dim} from "
                  f"{len(texts):,} texts ({sum(map(len, tokens)):,} tokens) in {seconds:.1f}s")
    console.print(f"written to {path}; try `seqlab vectors neighbors {path} WORD`")


@vectors_app.command("neighbors")
@user_errors
def neighbors(
    vectors: Annotated[str, typer.Argument(help="vector file (word2vec, GloVe, fastText)")],
    query: Annotated[str, typer.Argument(
        help="a word, or an analogy such as 'king - man + woman'")],
    k: Annotated[int, typer.Option("--k", "-k", help="how many words to show")] = 10,
    fmt: Annotated[str, typer.Option(
        "--format", help="auto|word2vec|word2vec-binary|glove|fasttext-vec|fasttext-bin")
    ] = "auto",
) -> None:
    """The words nearest to a word (cosine similarity), or the answers of an analogy."""
    from seqlab.vectors.files import read_vectors
    from seqlab.vectors.store import parse_analogy

    table_vectors = read_vectors(vectors, fmt)
    positive, negative = parse_analogy(query)
    if len(positive) == 1 and not negative:
        found = table_vectors.neighbors(positive[0], k)
        title = f"nearest to {positive[0]!r}"
        if positive[0] not in table_vectors:
            title += " (not in the vocabulary: vector from its sub-words)"
    else:
        found = table_vectors.analogy(positive, negative, k)
        title = query
    table = Table("word", "cosine", title=title)
    for word, score in found:
        table.add_row(word, f"{score:.3f}")
    console.print(table)
