"""The data-aware settings: each rule against values worked out by hand."""

from seqlab.tasks.classify.auto import LARGE_CORPUS_TOKENS, auto_max_length, auto_min_freq


def test_max_length_is_the_99th_percentile_rounded_up_and_bounded():
    lengths = list(range(1, 301))  # the 99th percentile of 1..300 is 297 → 304
    assert auto_max_length(lengths)[0] == 304
    value, why = auto_max_length([10] * 99 + [1000])
    assert value == 200 and "1 of 100 are cut" in why  # at least 200
    assert auto_max_length([5000] * 10)[0] == 2_000  # at most 2,000
    assert auto_max_length([241] * 50)[0] == 248


def test_min_freq_drops_words_seen_once_in_large_corpora_only():
    assert auto_min_freq(LARGE_CORPUS_TOKENS - 1)[0] == 1
    assert auto_min_freq(LARGE_CORPUS_TOKENS)[0] == 2
