"""The ``seqlab`` command: thin wrappers that build a config and call the library."""
