"""One trainer for every task."""

from seqlab.training.trainer import TrainCallbacks, Trainer, TrainResult

__all__ = ["TrainCallbacks", "TrainResult", "Trainer"]
