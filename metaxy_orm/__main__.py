"""``python -m metaxy_orm``: the ``mxo`` command line."""

from __future__ import annotations

import sys


def _run() -> None:
    try:
        from metaxy_orm.cli import main
    except ImportError as exc:  # typer/rich are the `cli` extra
        sys.stderr.write(
            f"mxo needs the cli extra ({exc.name} is missing): pip install 'metaxy-orm[cli]'\n"
        )
        raise SystemExit(2) from exc
    main()


if __name__ == "__main__":
    _run()
