"""The ``mxo`` commands, one module per concern; :mod:`metaxy_orm.cli.app` wires them."""
