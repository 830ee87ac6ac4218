"""The tasks, side by side, each one package of the same shape: ``classify``,
``multilabel``, ``tag``, ``lm``, ``forecast`` and ``seq2seq``. Each holds its config,
network, estimator, workflow, CLI and server routes, and registers one
:class:`seqlab.engine.task.Task` (in its ``task`` module, imported here).
"""

from seqlab.tasks.classify import task as _classify  # noqa: F401
from seqlab.tasks.forecast import task as _forecast  # noqa: F401
from seqlab.tasks.lm import task as _lm  # noqa: F401
from seqlab.tasks.multilabel import task as _multilabel  # noqa: F401
from seqlab.tasks.seq2seq import task as _seq2seq  # noqa: F401
from seqlab.tasks.tag import task as _tag  # noqa: F401
