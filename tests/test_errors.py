"""The error hierarchy: every error raised on purpose is a ``MetaxyError`` that says what to do."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest

import metaxy_orm as mx

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("metaxy_orm", "alembic_ext")

#: Builtin exceptions that are part of a Python protocol, not an error of ours: a module's
#: ``__getattr__`` must raise AttributeError, an abstract method NotImplementedError.
PROTOCOL = {"AttributeError": "__getattr__", "NotImplementedError": None}


def builtin_raises(path: Path) -> list[str]:
    """``raise ValueError(...)`` and friends in a module, outside the protocol cases."""
    tree = ast.parse(path.read_text(), filename=str(path))
    enclosing: dict[ast.AST, str] = {}
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                enclosing[node] = func.name  # inner functions are walked later and win
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Raise) or not isinstance(node.exc, ast.Call):
            continue
        name = getattr(node.exc.func, "id", None)
        if not isinstance(name, str) or not hasattr(builtins, name):
            continue
        if name in PROTOCOL and PROTOCOL[name] in (None, enclosing.get(node)):
            continue
        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: raise {name}")
    return sorted(found)


def test_no_builtin_exception_is_raised_on_purpose() -> None:
    offenders = [
        line
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for line in builtin_raises(path)
    ]
    assert offenders == [], "raise a metaxy_orm.exceptions class instead:\n" + "\n".join(offenders)


def test_every_exported_error_derives_from_metaxy_error() -> None:
    errors = [
        value
        for name, value in vars(mx).items()
        if isinstance(value, type) and issubclass(value, Exception)
    ]
    assert len(errors) >= 8
    assert all(issubclass(e, mx.MetaxyError) for e in errors)


def test_feature_not_found_suggests_the_nearest_key(graph: mx.FeatureGraph) -> None:
    class Video(mx.Feature, spec=mx.FeatureSpec(key="video", id_columns=["uid"], fields=["a"])):
        uid: str

    with pytest.raises(mx.FeatureNotFoundError, match=r"Did you mean 'video'\?") as caught:
        graph.get_feature("vidoe")
    assert "Known features: video" in str(caught.value)
    with pytest.raises(mx.FeatureNotFoundError, match="Known features") as caught:
        graph.get_feature("zzz")
    assert "Did you mean" not in str(caught.value)


def test_unknown_upstream_feature_suggests_the_nearest_key(graph: mx.FeatureGraph) -> None:
    class Video(mx.Feature, spec=mx.FeatureSpec(key="video", id_columns=["uid"], fields=["a"])):
        uid: str

    with pytest.raises(mx.FeatureSpecError, match=r"'vidoe' is not defined.*Did you mean 'video'"):

        class Crop(
            mx.Feature,
            spec=mx.FeatureSpec(
                key="crop", id_columns=["uid"], deps=[mx.FeatureDep(feature="vidoe")]
            ),
        ):
            uid: str


def test_empty_graph_says_to_import_the_features() -> None:
    with mx.FeatureGraph() as empty, pytest.raises(mx.FeatureNotFoundError, match="import"):
        empty.get_feature("video")
