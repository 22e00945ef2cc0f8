"""FastAPI application: ``create_app()``; models are loaded once in the lifespan."""
