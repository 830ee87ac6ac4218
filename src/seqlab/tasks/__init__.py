"""One module per task: its model head, batches, loss and prediction."""
