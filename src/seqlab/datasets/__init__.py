"""Known public datasets in one command: ``seqlab datasets list|info|download NAME``, and
a registered name wherever a task's ``train`` takes a file (``seqlab train emotion``)."""

from seqlab.datasets.catalog import DATASETS, Dataset, Prepared, Source
from seqlab.datasets.store import Fetched, data_home, fetch, train_overrides

__all__ = ["DATASETS", "Dataset", "Fetched", "Prepared", "Source", "data_home", "fetch",
           "train_overrides"]
