"""seqlab: learn from sequences with recurrent networks.

The public entry points are :class:`TextClassifier` (a scikit-learn style estimator) and
the ``seqlab`` command. See the README for a tour. ``TextClassifier`` is imported on
first use, so the parts that need no PyTorch (preprocessing, the ONNX predictor) load
without it.
"""

from typing import Any

from seqlab.errors import BundleError, ConfigError, DataError, SeqlabError

__version__ = "0.1.0"
__all__ = ["BundleError", "ConfigError", "DataError", "SeqlabError", "TextClassifier",
           "__version__"]


def __getattr__(name: str) -> Any:
    if name == "TextClassifier":
        from seqlab.tasks.classify.classifier import TextClassifier

        return TextClassifier
    raise AttributeError(f"module 'seqlab' has no attribute {name!r}")
