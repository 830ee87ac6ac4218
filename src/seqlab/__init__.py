"""seqlab: learn from sequences with recurrent networks.

The public entry points are :class:`TextClassifier` (a scikit-learn style estimator) and
the ``seqlab`` command. See the README for a tour.
"""

from seqlab.classifier import TextClassifier
from seqlab.errors import BundleError, ConfigError, DataError, SeqlabError

__version__ = "0.1.0"
__all__ = ["BundleError", "ConfigError", "DataError", "SeqlabError", "TextClassifier",
           "__version__"]
