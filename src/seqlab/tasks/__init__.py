"""The tasks, side by side, each one package of the same shape: ``classify``, ``tag``,
``lm`` and ``forecast``. Each registers one :class:`seqlab.engine.task.Task`."""
