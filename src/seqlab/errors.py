"""Errors a user can act on.

Everything seqlab raises on purpose derives from :class:`SeqlabError`. Its message is
meant to be shown as is: it names the file, row or key at fault and says what to do.
The command line prints it on one line and exits with a non-zero code, no traceback.
"""


class SeqlabError(Exception):
    """An error the user can fix; the message says what is wrong and how to fix it."""


class DataError(SeqlabError):
    """A data file is missing, unreadable or not of the expected shape."""


class ConfigError(SeqlabError):
    """A configuration key or value is unknown or impossible."""


class BundleError(SeqlabError):
    """A model bundle or checkpoint is missing, damaged or of an unknown format."""


class NotFittedError(SeqlabError, ValueError, AttributeError):
    """A model was used before ``fit`` or ``load`` (a ValueError and an AttributeError
    too, as scikit-learn's own, so its checks recognise it)."""
