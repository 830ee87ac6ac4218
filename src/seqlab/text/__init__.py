"""Text preprocessing, vocabulary and batching."""

from seqlab.text.preprocess import PRESETS, STEPS, Pipeline
from seqlab.text.vocab import PAD, UNK, Vocab

__all__ = ["PAD", "PRESETS", "STEPS", "UNK", "Pipeline", "Vocab"]
