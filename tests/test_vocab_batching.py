import numpy as np
import pytest

from seqlab.errors import DataError
from seqlab.text.batching import bucket_batches, pad_batch
from seqlab.text.vocab import PAD, UNK, UNK_ID, Vocab


def test_vocab_orders_by_frequency_and_respects_limits():
    vocab = Vocab.build([["b", "a", "a"], ["c", "a", "b"]])
    assert vocab.itos == [PAD, UNK, "a", "b", "c"]
    assert Vocab.build([["b", "a", "a"], ["c", "a", "b"]], min_freq=2).itos == [PAD, UNK, "a", "b"]
    assert Vocab.build([["b", "a", "a"], ["c", "a", "b"]], max_size=1).itos == [PAD, UNK, "a"]


def test_unknown_tokens_truncation_and_empty_input():
    vocab = Vocab.build([["a", "b"]])
    assert vocab.encode(["a", "zzz", "b"]).tolist() == [2, UNK_ID, 3]
    assert vocab.encode(["a", "b", "a"], max_length=2).tolist() == [2, 3]
    assert vocab.encode([]).tolist() == [UNK_ID]


def test_empty_vocabulary_is_a_clear_error():
    with pytest.raises(DataError, match="vocabulary is empty"):
        Vocab.build([["a"]], min_freq=5)


def test_vocab_round_trips():
    vocab = Vocab.build([["x", "y"]])
    assert Vocab.from_dict(vocab.to_dict()).stoi == vocab.stoi


def test_bucketed_batches_cover_everything_once_with_less_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 60, size=1000)
    batches = bucket_batches(lengths, 32, shuffle=True, seed=1)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(1000))

    def padding(bs):
        return sum(lengths[b].max() * len(b) - lengths[b].sum() for b in bs)

    random_batches = [rng.permutation(1000)[i:i + 32] for i in range(0, 1000, 32)]
    assert padding(batches) < padding(random_batches) / 4
    assert all(np.array_equal(a, b) for a, b in
               zip(batches, bucket_batches(lengths, 32, shuffle=True, seed=1), strict=True))


def test_pad_batch():
    ids, lengths = pad_batch([np.array([5, 6, 7]), np.array([8])])
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert lengths.tolist() == [3, 1]
