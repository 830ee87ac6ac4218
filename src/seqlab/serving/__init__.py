"""The HTTP server: FastAPI app, limits, and the page to try a model."""
