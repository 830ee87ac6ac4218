"""Time-series forecasting: windows, recurrent forecasters, baselines and backtests."""
