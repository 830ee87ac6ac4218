"""Compare configurations (a grid → a leaderboard) and tune them (an Optuna study)."""
