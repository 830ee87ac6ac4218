"""Reading, checking and splitting labeled data."""

from seqlab.data.checks import DataSummary, clean_labeled
from seqlab.data.readers import LabeledData, read_labeled, read_table
from seqlab.data.split import stratified_split

__all__ = [
    "DataSummary",
    "LabeledData",
    "clean_labeled",
    "read_labeled",
    "read_table",
    "stratified_split",
]
