"""Text classification: the recurrent classifier, the default ensemble, the baselines, and
the train / evaluate / predict workflow."""
