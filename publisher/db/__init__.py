"""The SQL index: models, engine/session set-up and Alembic migrations."""
