"""Persistence: SQLAlchemy models, Alembic migrations and one module of queries per resource."""
