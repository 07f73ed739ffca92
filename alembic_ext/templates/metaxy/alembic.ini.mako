# Alembic with metaxy-orm (`alembic init -t metaxy`).
#
# The feature modules and the database URL are metaxy-orm's settings, shared with `mxo`:
# [tool.metaxy-orm] in pyproject.toml (modules = [...], database_url = "...") or the
# environment (METAXY_ORM_MODULES, METAXY_ORM_DATABASE_URL). sqlalchemy.url below is used only
# when neither gives a database URL.

[alembic]
# path to migration scripts, relative to this file's directory (%(here)s)
script_location = ${script_location}

# revision file names: <revision id>_<slug of the message>
file_template = %%(rev)s_%%(slug)s

# sys.path entries prepended when Alembic runs, so that env.py imports the project's modules
prepend_sys_path = .
path_separator = os

# sqlalchemy.url = duckdb:///metaxy.duckdb


[post_write_hooks]
# Formats each new revision with `ruff format` (with the project's ruff settings) when ruff is
# installed, and does nothing otherwise: the revision template already writes sorted, used-only
# imports and modern typing, and formatting wraps the long lines Alembic writes.
hooks = ruff_format
ruff_format.type = metaxy_orm_ruff_format


# Logging configuration: INFO for Alembic (and metaxy-orm's `alembic.metaxy_orm` progress).
[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
