def setup(plugin: object) -> None:
    """Placeholder until the Alembic extension lands."""
