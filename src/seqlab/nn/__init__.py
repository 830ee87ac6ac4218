"""Neural building blocks: the recurrent encoder, sequence pooling and the CRF; the
names a config may use for them are in :mod:`seqlab.nn.catalog` (no torch needed)."""
