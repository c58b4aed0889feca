"""HTTP side: FastAPI app with JSON API and operator pages."""
