"""What every task shares: the task registry, the run folder and the estimator base."""
