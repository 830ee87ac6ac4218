"""Language models: token levels, corpus split, training with truncated backpropagation
through time, generation, autocomplete and the Kneser-Ney baseline."""
