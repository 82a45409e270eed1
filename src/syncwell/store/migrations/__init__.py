"""Alembic migrations of the state store; they run on SQLite and PostgreSQL alike."""
