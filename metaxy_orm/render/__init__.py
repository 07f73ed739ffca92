"""Renderers of the feature graph and of graph diffs: text, Mermaid, Graphviz DOT, JSON.

Pure functions over :class:`~metaxy_orm.snapshots.GraphSnapshot` literals (no database, no
terminal): the ``mxo`` CLI, the docs and the web app draw with the same code.
"""

from metaxy_orm.render.as_json import diff_document as diff_document
from metaxy_orm.render.as_json import graph_document as graph_document
from metaxy_orm.render.dot import diff_dot as diff_dot
from metaxy_orm.render.dot import graph_dot as graph_dot
from metaxy_orm.render.impact import DiffView as DiffView
from metaxy_orm.render.mermaid import diff_mermaid as diff_mermaid
from metaxy_orm.render.mermaid import graph_mermaid as graph_mermaid
from metaxy_orm.render.model import GraphView as GraphView
from metaxy_orm.render.text import diff_lines as diff_lines
from metaxy_orm.render.text import graph_lines as graph_lines
from metaxy_orm.render.text import plain as plain
