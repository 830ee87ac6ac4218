"""Multi-label classification: texts with any number of labels each."""
