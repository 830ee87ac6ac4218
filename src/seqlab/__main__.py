"""``python -m seqlab`` (and ``torchrun … -m seqlab``): the ``seqlab`` command."""

from seqlab.cli.main import main

main()
