"""Token tagging: CoNLL reading, entity schemes, the recurrent tagger with a CRF, scoring."""
