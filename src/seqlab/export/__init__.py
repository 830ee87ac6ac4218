"""Exporting models to run without PyTorch (ONNX)."""
