"""Explanations: which input tokens drove a model's output (see :mod:`.explanation`)."""
