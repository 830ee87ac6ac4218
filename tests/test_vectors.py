"""Word vectors: files in every format, Word2Vec/FastText training, embedding start,
freezing, coverage, and the `seqlab vectors` commands."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.errors import DataError
from seqlab.tasks.classify.classifier import TextClassifier
from seqlab.text.vocab import Vocab
from seqlab.vectors.embedding import start_matrix
from seqlab.vectors.files import FORMATS, detect_format, read_vectors, write_word2vec
from seqlab.vectors.store import WordVectors, parse_analogy
from seqlab.vectors.training import fit_gensim, save_trained, train_vectors

from conftest import SAMPLE, TINY

WORDS = ["happy", "sad", "day", "great", "awful", "i", "love", "hate", "this", "what"]


def toy_vectors(dim: int = 8, words: list[str] = WORDS) -> WordVectors:
    rng = np.random.default_rng(0)
    return WordVectors(words, rng.normal(size=(len(words), dim)).astype(np.float32))


def write_glove(vectors: WordVectors, path):
    path.write_text("".join(f"{w} {' '.join(f'{v:.6g}' for v in row)}\n"
                            for w, row in zip(vectors.words, vectors.matrix, strict=True)),
                    encoding="utf-8")
    return path


@pytest.fixture
def vector_files(tmp_path):
    vectors = toy_vectors()
    return vectors, {
        "word2vec": write_word2vec(vectors, tmp_path / "v.txt"),
        "fasttext-vec": write_word2vec(vectors, tmp_path / "v.vec"),
        "word2vec-binary": write_word2vec(vectors, tmp_path / "v.bin", binary=True),
        "glove": write_glove(vectors, tmp_path / "glove.txt"),
    }


def test_every_file_format_reads_back_the_same_vectors_and_is_detected(vector_files):
    vectors, paths = vector_files
    for fmt, path in paths.items():
        assert detect_format(path) == fmt.replace("fasttext-vec", "word2vec")
        back = read_vectors(path)
        assert back.words == vectors.words
        np.testing.assert_allclose(back.matrix, vectors.matrix, rtol=1e-5, atol=1e-6)
        kept = read_vectors(path, fmt, keep={"sad", "this", "absent"})
        assert kept.words == ["sad", "this"]
        np.testing.assert_allclose(kept.matrix[1], vectors.vector("this"), rtol=1e-5,
                                   atol=1e-6)
    assert set(paths) <= set(FORMATS.names())


@pytest.mark.parametrize("damage, fragments", [
    (lambda text: text.rsplit("\n", 4)[0] + "\n", ["promises 10 vectors", "holds 7"]),
    (lambda text: text.replace("day ", "day 1.0 ", 1), ["line 4", "'day'", "9 values"]),
    (lambda text: text.replace("awful ", "awful x", 1), ["line 6", "not a number"]),
    (lambda text: "", ["empty"]),
])
def test_damaged_text_files_name_the_line(tmp_path, damage, fragments):
    path = write_word2vec(toy_vectors(), tmp_path / "v.txt")
    path.write_text(damage(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_vectors(path)
    for fragment in fragments:
        assert fragment in str(err.value)
    assert str(path) in str(err.value)


def test_a_truncated_binary_file_says_where_it_ends(tmp_path):
    path = write_word2vec(toy_vectors(), tmp_path / "v.bin", binary=True)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match="ends inside vector 10 of 10"):
        read_vectors(path)


def test_a_glove_file_read_as_word2vec_says_which_format_to_use(tmp_path):
    path = write_glove(toy_vectors(), tmp_path / "glove.txt")
    with pytest.raises(DataError, match="--format glove"):
        read_vectors(path, "word2vec")


def test_wrong_dimension_names_the_setting_to_change(vector_files, toy_texts):
    _, paths = vector_files
    clf = TextClassifier(**TINY | {"max_epochs": 1},
                         embedding={"type": "pretrained", "path": str(paths["glove"])})
    with pytest.raises(DataError, match=r"8-dimensional.*embedding size is 16.*embedding_dim: 8"):
        clf.fit(*toy_texts)


def test_vectors_with_no_word_of_the_vocabulary_are_refused(tmp_path, toy_texts):
    path = write_glove(toy_vectors(16, ["der", "die", "das"]), tmp_path / "de.txt")
    clf = TextClassifier(**TINY, embedding={"type": "pretrained", "path": str(path)})
    with pytest.raises(DataError, match=r"none of the .* vocabulary words"):
        clf.fit(*toy_texts)


def test_start_matrix_copies_found_words_and_counts_coverage():
    vocab = Vocab(["<pad>", "<unk>", "happy", "sad", "zebra"])
    vectors = toy_vectors(4)
    tokens = [["happy", "happy", "zebra"], ["sad", "unseen"]]
    matrix, coverage = start_matrix(vocab, vectors, tokens, "toy", seed=0)
    np.testing.assert_array_equal(matrix[0], np.zeros(4))
    np.testing.assert_array_equal(matrix[2], vectors.vector("happy"))
    np.testing.assert_array_equal(matrix[3], vectors.vector("sad"))
    assert (coverage.words_found, coverage.vocab_words) == (2, 3)
    assert (coverage.tokens_found, coverage.tokens) == (3, 5)  # happy ×2, sad; of 5 tokens
    assert coverage.word_share == pytest.approx(2 / 3)


def test_analogy_and_neighbors_on_hand_made_vectors():
    words = ["king", "queen", "man", "woman", "apple"]
    matrix = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1], [-1, -1, -1]],
                      dtype=np.float32) + 0.01 * np.arange(15, dtype=np.float32).reshape(5, 3)
    vectors = WordVectors(words, matrix)
    assert vectors.analogy(*parse_analogy("king - man + woman"), k=1)[0][0] == "queen"
    assert parse_analogy("king -man +woman") == (["king", "woman"], ["man"])
    assert parse_analogy("well-known + x") == (["well-known", "x"], [])
    nearest = vectors.neighbors("king", 4)
    assert [w for w, _ in nearest][-1] == "apple" and "king" not in dict(nearest)
    assert [s for _, s in nearest] == sorted((s for _, s in nearest), reverse=True)
    with pytest.raises(DataError, match="only FastText"):
        vectors.vector("prince")


def test_word2vec_training_is_reproducible_and_learns_co_occurrence():
    corpus = [["cats", "purr", "softly"], ["dogs", "bark", "loudly"]] * 200
    first = train_vectors(corpus, "word2vec", dim=16, window=2, epochs=20, seed=3)
    second = train_vectors(corpus, "word2vec", dim=16, window=2, epochs=20, seed=3)
    np.testing.assert_array_equal(first.matrix, second.matrix)
    assert first.neighbors("cats", 1)[0][0] in {"purr", "softly"}


def test_fasttext_gives_a_vector_for_a_word_it_never_saw_and_keeps_it_when_saved(tmp_path):
    corpus = [["happiness", "joyful", "cheerful"], ["sadness", "gloomy", "tearful"]] * 100
    model = fit_gensim(corpus, "fasttext", dim=16, window=2, epochs=10, seed=1)
    path = save_trained(model, tmp_path / "ft.bin")
    for vectors in (train_vectors(corpus, "fasttext", dim=16, window=2, epochs=10, seed=1),
                    read_vectors(path)):
        assert "joyfulness" not in vectors and vectors.has_vector("joyfulness")
        unseen = vectors.vector("joyfulness")
        assert unseen.shape == (16,) and np.abs(unseen).sum() > 0
    np.testing.assert_allclose(read_vectors(path).vector("joyfulness"),
                               model.wv["joyfulness"], rtol=1e-5)
    assert detect_format(path) == "fasttext-bin"


@pytest.mark.parametrize("embedding, kind", [
    ({"type": "learned"}, "recurrent"),
    ({"type": "word2vec", "min_count": 1}, "recurrent"),
    ({"type": "fasttext", "architecture": "skipgram"}, "recurrent"),
    ({"type": "pretrained"}, "recurrent"),
    ({"type": "word2vec"}, "averaged"),
    ({"type": "word2vec", "update": "frozen"}, "averaged-mlp"),
])
def test_each_embedding_type_trains_and_round_trips(tmp_path, sample, embedding, kind):
    if embedding["type"] == "pretrained":
        tokens = [t.split() for t in sample.texts]
        path = write_word2vec(train_vectors(tokens, "word2vec", dim=16), tmp_path / "p.bin",
                              binary=True)
        embedding = embedding | {"path": str(path)}
    clf = TextClassifier(**TINY | {"max_epochs": 2}, kind=kind, embedding=embedding)
    clf.fit(sample.texts, sample.labels)
    assert clf.history_[-1]["train_loss"] < clf.history_[0]["train_loss"] * 1.5
    coverage = clf.fit_info_["embedding"]
    if embedding["type"] != "learned":
        assert coverage["word_share"] > 0.5
    back = TextClassifier.load(clf.save(tmp_path / "m.safetensors"))
    np.testing.assert_allclose(back.predict_proba(sample.texts[:30]),
                               clf.predict_proba(sample.texts[:30]), rtol=1e-5, atol=1e-6)


class EmbeddingSnapshots:
    """Callbacks that copy the embedding weights at the end of every epoch."""

    def __init__(self) -> None:
        self.clf: TextClassifier | None = None
        self.after_epoch: list[np.ndarray] = []

    def on_train_start(self, *args):
        pass

    def on_batch_end(self, *args):
        pass

    def on_epoch_end(self, record):
        assert self.clf is not None
        self.after_epoch.append(self.clf.module_.embedding.weight.detach().numpy().copy())


def start_and_epochs(sample, embedding, epochs):
    """The Word2Vec start matrix and the embedding after each epoch."""
    train_texts, val_texts = sample.texts[0::2], sample.texts[1::2]
    clf = TextClassifier(**TINY | {"max_epochs": epochs, "patience": 10}, embedding=embedding)
    snapshots = EmbeddingSnapshots()
    snapshots.clf = clf
    clf.fit(train_texts, sample.labels[0::2], val_texts, sample.labels[1::2],
            callbacks=snapshots)
    vectors = train_vectors(clf.pipeline_.process_many(train_texts), "word2vec",
                            dim=16, seed=clf.random_state)
    start, _ = start_matrix(clf.vocab_, vectors, [], "w2v", clf.random_state)
    return start, snapshots.after_epoch


def test_frozen_vectors_stay_and_thawed_ones_move(sample):
    start, after = start_and_epochs(sample, {"type": "word2vec", "update": "frozen"}, 2)
    for weights in after:
        np.testing.assert_array_equal(weights, start)
    start, after = start_and_epochs(sample, {"type": "word2vec", "freeze_epochs": 1}, 2)
    np.testing.assert_array_equal(after[0], start)
    assert not np.allclose(after[1], start)
    start, after = start_and_epochs(sample, {"type": "word2vec"}, 1)
    assert not np.allclose(after[0], start)


def test_vectors_commands(tmp_path):
    runner = CliRunner()
    out = tmp_path / "v.bin"
    result = runner.invoke(app, ["vectors", "train", str(SAMPLE), "--out", str(out), "--dim",
                                 "16", "--min-count", "1", "--epochs", "3"])
    assert result.exit_code == 0, result.output
    assert "16" in result.output and out.exists()
    result = runner.invoke(app, ["vectors", "neighbors", str(out), "feel", "-k", "3"])
    assert result.exit_code == 0, result.output
    assert "nearest to 'feel'" in result.output
    rows = [line for line in result.output.splitlines() if line.startswith("│")]
    assert len(rows) == 3
    result = runner.invoke(app, ["vectors", "neighbors", str(out), "i - feel + am"])
    assert result.exit_code == 0 and "i - feel + am" in result.output
    result = runner.invoke(app, ["vectors", "neighbors", str(out), "qwertyuiop"])
    assert result.exit_code == 2 and "only FastText" in result.output
    assert "Traceback" not in result.output


def test_train_command_with_vectors_reports_coverage_and_checks_the_file(tmp_path):
    runner = CliRunner()
    fast = ["--embedding-dim", "16", "--hidden-size", "16", "--epochs", "1", "--threads", "1",
            "--quiet", "--output-dir", str(tmp_path)]
    result = runner.invoke(app, ["train", str(SAMPLE), "--embedding", "word2vec",
                                 "--freeze-embeddings", "--kind", "averaged", "--name", "w2v",
                                 *fast])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "w2v" / "report.md").read_text(encoding="utf-8")
    assert "word2vec cbow trained on the training split" in report
    assert "of the training tokens" in report and "averaged vectors" in report
    vectors = write_glove(toy_vectors(8), tmp_path / "glove.txt")
    result = runner.invoke(app, ["train", str(SAMPLE), "--vectors", str(vectors), "--name",
                                 "glove", *fast])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--embedding-dim 8" in result.output


def test_a_header_shorter_than_four_bytes_is_still_a_header(tmp_path):
    """``2 3`` and its newline fit in the bytes read to spot a fastText binary."""
    path = tmp_path / "short.txt"
    path.write_text("2 3\nthe 1 2 3\nof 4 5 6\n", encoding="utf-8")
    assert detect_format(path) == "word2vec"
    vectors = read_vectors(path)
    assert vectors.words == ["the", "of"]
    np.testing.assert_array_equal(vectors.matrix, [[1, 2, 3], [4, 5, 6]])
