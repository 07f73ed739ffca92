"""``mxo``, the metaxy-orm command line (``pip install 'metaxy-orm[cli]'``).

Commands: ``list``, ``graph render|diff|push|history``, ``status``, ``lookup``, ``check``,
``cleanup``, ``config``. See ``docs/cli.md`` (generated from this package by
:mod:`example_app.cli_docs`).
"""

from metaxy_orm.cli.app import app as app


def main() -> None:
    """The console script entry point."""
    app(prog_name="mxo")
