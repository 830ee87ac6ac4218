"""Word vectors in the tagger: pretrained files, Word2Vec/FastText trained on the training
sentences and on unlabelled text, whose words join the vocabulary with their vector."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.config import apply_overrides
from seqlab.errors import ConfigError, DataError
from seqlab.tasks.tag.config import TagConfig
from seqlab.tasks.tag.conll import read_tagged
from seqlab.tasks.tag.tagger import Tagger
from seqlab.tasks.tag.tokenize import tokenize
from seqlab.text.vocab import UNK_ID
from seqlab.vectors.training import train_vectors

NEWS = Path(str(files("seqlab") / "samples" / "news_entities.conll"))
DIM = 8
FAST = {"model.hidden_size": 16, "model.embedding_dim": DIM, "model.char_dim": 4,
        "model.char_hidden": 4, "training.max_epochs": 2, "training.threads": 1,
        "training.batch_size": 8}
UNLABELLED = ["Zorblax met Quentavia in Vexmoor .", "Vexmoor is far from Quentavia ,",
              "and Zorblax stayed in Vexmoor ."]


@pytest.fixture(scope="module")
def news():
    sentences = read_tagged(NEWS).sentences
    return sentences[:30], sentences[30:40]


def config(**overrides) -> TagConfig:
    return apply_overrides(TagConfig(), {**FAST, **overrides})


def write_vectors(path: Path, words: list[str], seed: int = 0) -> dict[str, np.ndarray]:
    """A word2vec text file: a header, then one word and its vector per line."""
    rng = np.random.default_rng(seed)
    table = {w: rng.normal(size=DIM).astype(np.float32) for w in words}
    lines = [f"{len(table)} {DIM}"] + [w + " " + " ".join(f"{x:.6f}" for x in v)
                                      for w, v in table.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {w: np.array([float(f"{x:.6f}") for x in v], dtype=np.float32)
            for w, v in table.items()}


def test_frozen_pretrained_vectors_start_every_covered_word_and_stay(tmp_path, news):
    train, val = news
    text = tmp_path / "unlabelled.txt"
    text.write_text("\n".join(UNLABELLED) + "\n\n", encoding="utf-8")
    train_words = sorted({w.lower() for s in train for w in s.tokens})
    table = write_vectors(tmp_path / "v.txt", [*train_words[::2], "zorblax",
                                                       "vexmoor", "never-seen"])
    tagger = Tagger(config(**{"model.embedding.type": "pretrained",
                              "model.embedding.path": str(tmp_path / "v.txt"),
                              "model.embedding.update": "frozen",
                              "data.vectors_text": [str(text)]})).fit(train, val)
    vocab, weight = tagger.vocab_, tagger.module_.embedding.weight.detach().numpy()
    # the unlabelled words with a vector joined the vocabulary; the one without did not
    assert "zorblax" in vocab.stoi and "vexmoor" in vocab.stoi
    assert "quentavia" not in vocab.stoi and "never-seen" not in vocab.stoi
    for word, vector in table.items():
        if word in vocab.stoi:  # frozen: after training, still the file's vector
            np.testing.assert_allclose(weight[vocab.stoi[word]], vector, atol=1e-6)
    assert tagger._encode(["Zorblax"]).words[0] == vocab.stoi["zorblax"] != UNK_ID
    info = tagger.fit_info_["embedding"]
    assert info["unlabelled_texts"] == 3 and info["words_from_unlabelled_text"] == 2
    training_vocab = [w for w in vocab.itos[2:] if w in train_words]
    assert info["words_found"] == sum(w in table for w in vocab.itos[2:])
    assert info["vocab_words"] == len(training_vocab) + 2
    tokens = [w.lower() for s in train for w in s.tokens]
    assert info["tokens_found"] == sum(t in table for t in tokens)
    assert info["tokens"] == len(tokens)
    back = Tagger.load(tagger.save(tmp_path / "t.safetensors"))
    assert back.vocab_.itos == vocab.itos
    sentences = [s.tokens for s in val] + [[t.text for t in tokenize(UNLABELLED[0])]]
    assert back.predict(sentences) == tagger.predict(sentences)


def test_word2vec_trains_on_the_sentences_and_the_unlabelled_text(tmp_path, news):
    train, val = news
    text = tmp_path / "more.txt"
    text.write_text("\n".join(UNLABELLED * 2), encoding="utf-8")
    tagger = Tagger(config(**{"model.embedding.type": "word2vec",
                              "model.embedding.update": "frozen",
                              "model.embedding.min_count": 2,
                              "data.vectors_text": [str(text)]})).fit(train, val)
    # the oracle: the same gensim training on the same corpus, called directly
    corpus = [[w.lower() for w in s.tokens] for s in train] + \
        [[t.text.lower() for t in tokenize(line)] for line in UNLABELLED * 2]
    vectors = train_vectors(corpus, "word2vec", dim=DIM, architecture="cbow", window=5,
                            min_count=2, epochs=5, seed=tagger.config.seed)
    weight = tagger.module_.embedding.weight.detach().numpy()
    for word, i in tagger.vocab_.stoi.items():
        if word in vectors:
            np.testing.assert_allclose(weight[i], vectors.vector(word), atol=1e-6)
    assert {"zorblax", "vexmoor", "quentavia"} <= set(tagger.vocab_.stoi)
    assert "trained on the training sentences and 6 unlabelled texts" in \
        tagger.fit_info_["embedding"]["source"]


def test_fine_tuned_vectors_move(news):
    train, val = news
    tagger = Tagger(config(**{"model.embedding.type": "word2vec"}))
    tagger.fit(train, val)
    corpus = [[w.lower() for w in s.tokens] for s in train]
    vectors = train_vectors(corpus, "word2vec", dim=DIM, seed=tagger.config.seed)
    the = tagger.vocab_.stoi["the"]
    weight = tagger.module_.embedding.weight.detach().numpy()
    assert not np.allclose(weight[the], vectors.vector("the"), atol=1e-4)


def test_bad_vector_input_is_one_clear_error(tmp_path, news):
    train, val = news
    with pytest.raises(ConfigError, match="vectors_text is text for word vectors") as err:
        config(**{"data.vectors_text": ["x.txt"]})
    assert "{" not in str(err.value)  # the message, not the whole config echoed back
    missing = config(**{"model.embedding.type": "word2vec",
                        "data.vectors_text": [str(tmp_path / "absent.txt")]})
    with pytest.raises(DataError, match=r"absent.txt: no such file"):
        Tagger(missing).fit(train, val)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    with pytest.raises(DataError, match=r"empty.txt: no text"):
        Tagger(config(**{"model.embedding.type": "word2vec",
                         "data.vectors_text": [str(empty)]})).fit(train, val)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("fine line\nna\xefve caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.txt, line 2: the file is not valid utf-8"):
        Tagger(config(**{"model.embedding.type": "word2vec",
                         "data.vectors_text": [str(latin)]})).fit(train, val)
    write_vectors(tmp_path / "v.txt", ["the", "of"])
    with pytest.raises(DataError, match=r"8-dimensional.*embedding size is 12"):
        Tagger(config(**{"model.embedding.type": "pretrained", "model.embedding_dim": 12,
                         "model.embedding.path": str(tmp_path / "v.txt")})).fit(train, val)
    write_vectors(tmp_path / "other.txt", ["zzz", "yyy"])
    with pytest.raises(DataError, match=r"none of the .* vocabulary words"):
        Tagger(config(**{"model.embedding.type": "pretrained",
                         "model.embedding.path": str(tmp_path / "other.txt")})).fit(train, val)


def test_cli_trains_a_tagger_from_vectors_and_unlabelled_text(tmp_path):
    text = tmp_path / "unlabelled.txt"
    text.write_text("\n".join(UNLABELLED), encoding="utf-8")
    sets = [f"--set={k}={v}" for k, v in FAST.items()]
    result = CliRunner().invoke(app, [
        "tag", "train", str(NEWS), "--embedding", "fasttext", "--vectors-text", str(text),
        "--freeze-embeddings", "--output-dir", str(tmp_path), "--name", "ft", "--quiet",
        *sets])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "ft" / "report.md").read_text(encoding="utf-8")
    assert "from fasttext cbow trained on the training sentences and 3 unlabelled texts" \
        in report
    config_text = (tmp_path / "ft" / "config.yaml").read_text(encoding="utf-8")
    assert "vectors_text" in config_text and "unlabelled.txt" in config_text


# ---- the character encoders -------------------------------------------------------------


def test_char_cnn_is_the_windowed_product_max_pooled_over_the_word():
    """Oracle: each filter's window sums written out by hand, max over the real
    positions; padding the word (a longer word in the batch) changes nothing."""
    import torch

    from seqlab.tasks.tag.network import CharCNN

    torch.manual_seed(0)
    cnn = CharCNN(char_vocab_size=12, char_dim=5, hidden=3)
    word = [4, 7, 2, 9]
    chars = torch.tensor([[[*word, 0, 0], [1, 2, 3, 4, 5, 6]]])
    lengths = torch.tensor([[4, 6]])
    mask = torch.tensor([[True, True]])
    with torch.no_grad():
        out = cnn(chars, lengths, mask)[0, 0]
        alone = cnn(torch.tensor([[word]]), torch.tensor([[4]]), mask[:, :1])[0, 0]
        x = cnn.embedding.weight[word]  # [4, 5]
        padded = torch.cat([torch.zeros(1, 5), x, torch.zeros(1, 5)])
        w, b = cnn.conv.weight, cnn.conv.bias  # [6, 5, 3], [6]
        windows = [[float((w[f] * padded[p:p + 3].T).sum() + b[f]) for p in range(4)]
                   for f in range(6)]
        expected = torch.tensor([max(row) for row in windows])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(alone, out, atol=1e-6, rtol=1e-6)
    assert cnn.output_size == 6


def test_every_character_encoder_is_a_config_choice_and_trains(tmp_path, news):
    from typing import get_args

    from seqlab.tasks.tag.config import TaggerModelConfig
    from seqlab.tasks.tag.network import CHAR_ENCODERS

    allowed = get_args(TaggerModelConfig.model_fields["char_encoder"].annotation)
    assert set(allowed) == set(CHAR_ENCODERS.names())
    train, val = news
    tagger = Tagger(config(**{"model.char_encoder": "cnn"})).fit(train, val)
    assert type(tagger.module_.chars).__name__ == "CharCNN"
    back = Tagger.load(tagger.save(tmp_path / "cnn.safetensors"))
    sentences = [s.tokens for s in val]
    assert back.predict(sentences) == tagger.predict(sentences)
