"""Sequence to sequence: parallel text, the encoder–decoder with attention, greedy and
beam search, BLEU and chrF, the copy baseline and the no-attention ablation."""
