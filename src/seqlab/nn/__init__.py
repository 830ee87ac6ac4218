"""Neural building blocks: the recurrent encoder and sequence pooling."""

from seqlab.nn.encoder import CELLS, EncoderOutput, RecurrentEncoder
from seqlab.nn.pooling import POOLINGS, make_pooling

__all__ = ["CELLS", "POOLINGS", "EncoderOutput", "RecurrentEncoder", "make_pooling"]
