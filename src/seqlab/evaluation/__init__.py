"""Metrics, plots and reports."""

from seqlab.evaluation.metrics import classification_metrics

__all__ = ["classification_metrics"]
