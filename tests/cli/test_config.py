"""``metaxy_orm.config``: pyproject.toml, then the environment, then flags; clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaxy_orm.config import ConfigError, load_config
from metaxy_orm.exceptions import MetaxyError
from metaxy_orm.graph import FeatureGraph
from metaxy_orm.hashing import HashAlgorithm


def write(folder: Path, body: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(body)
    return path


def test_precedence_pyproject_then_environment_then_flags(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[tool.metaxy-orm]\nmodules = ["a"]\ndatabase_url = "sqlite:///p.db"\n'
        'hash_algorithm = "sha256"\nhash_truncation_length = 10\n',
    )
    only_file = load_config(pyproject=path, environ={})
    assert only_file.modules == ("a",)
    assert only_file.database_url == "sqlite:///p.db"
    assert only_file.hash_algorithm is HashAlgorithm.SHA256
    assert only_file.hash_truncation_length == 10
    assert only_file.origins["database_url"] == f"pyproject.toml ({path})"

    env = {
        "METAXY_ORM_DATABASE_URL": "sqlite:///e.db",
        "METAXY_ORM_MODULES": "b, c",
        "METAXY_ORM_HASH_TRUNCATION_LENGTH": "12",
    }
    with_env = load_config(pyproject=path, environ=env)
    assert with_env.modules == ("b", "c")
    assert with_env.database_url == "sqlite:///e.db"
    assert with_env.hash_truncation_length == 12
    assert with_env.hash_algorithm is HashAlgorithm.SHA256  # not in the environment
    assert with_env.origins["database_url"] == "environment (METAXY_ORM_DATABASE_URL)"

    flags = load_config(
        pyproject=path,
        environ=env,
        overrides={"database_url": "sqlite:///f.db", "modules": None, "hash_algorithm": "md5"},
    )
    assert flags.database_url == "sqlite:///f.db"
    assert flags.modules == ("b", "c")  # a None flag is "not given"
    assert flags.hash_algorithm is HashAlgorithm.MD5
    assert flags.origins["database_url"] == "flag (--database-url)"


def test_found_from_a_subdirectory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[tool.metaxy-orm]\ndatabase_url = "sqlite:///x.db"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    config = load_config(environ={})
    assert config.pyproject == path.resolve()
    assert config.database_url == "sqlite:///x.db"


def test_missing_url_names_every_source(tmp_path: Path) -> None:
    path = write(tmp_path, '[tool.metaxy-orm]\nmodules = ["a"]\n')
    config = load_config(pyproject=path, environ={})
    with pytest.raises(ConfigError) as info:
        config.require_database_url()
    message = str(info.value)
    assert str(path) in message
    assert "METAXY_ORM_DATABASE_URL" in message
    assert "--database-url" in message
    assert isinstance(info.value, MetaxyError)


def test_missing_modules_names_every_source(tmp_path: Path) -> None:
    config = load_config(pyproject=write(tmp_path, "[project]\nname='x'\n"), environ={})
    with pytest.raises(ConfigError, match=r"METAXY_ORM_MODULES.*--module"):
        config.import_modules()


@pytest.mark.parametrize(
    ("body", "environ", "match"),
    [
        ("hash_truncation_length = 4\n", {}, r"hash_truncation_length \(from pyproject.toml"),
        ("", {"METAXY_ORM_HASH_TRUNCATION_LENGTH": "x"}, "METAXY_ORM_HASH_TRUNCATION_LENGTH"),
        ("", {"METAXY_ORM_HASH_ALGORITHM": "crc"}, r"hash_algorithm \(from environment"),
        ("databse_url = 'x'\n", {}, r"unknown key\(s\) \['databse_url'\]"),
        ("modules = [1]\n", {}, "modules .* must be a list of module names"),
    ],
)
def test_invalid_values_name_their_source(
    tmp_path: Path, body: str, environ: dict[str, str], match: str
) -> None:
    path = write(tmp_path, "[tool.metaxy-orm]\n" + body)
    with pytest.raises(ConfigError, match=match):
        load_config(pyproject=path, environ=environ)


def test_modules_import_from_the_project_folder(tmp_path: Path, graph: FeatureGraph) -> None:
    (tmp_path / "cfg_features_module.py").write_text(
        "from example_app.pipeline import define_video_pipeline\n"
        "def build():\n    define_video_pipeline()\n"
    )
    path = write(tmp_path, '[tool.metaxy-orm]\nmodules = ["cfg_features_module:build"]\n')
    import sys

    saved = list(sys.path)
    try:
        load_config(pyproject=path, environ={}).import_modules()
    finally:
        sys.path[:] = saved
        sys.modules.pop("cfg_features_module", None)
    assert [str(k) for k in graph.topological_order()] == [
        "video",
        "crop",
        "face_detection",
        "stt",
    ]


def test_unimportable_module_says_where_it_was_listed(tmp_path: Path) -> None:
    path = write(tmp_path, '[tool.metaxy-orm]\nmodules = ["no_such_module_xyz"]\n')
    with pytest.raises(ConfigError, match=r"no_such_module_xyz.*pyproject.toml"):
        load_config(pyproject=path, environ={}).import_modules()


def test_mxo_config_shows_values_and_origins(tmp_path: Path) -> None:
    import json

    from .conftest import invoke

    path = write(tmp_path, '[tool.metaxy-orm]\nmodules = ["a"]\nhash_truncation_length = 9\n')
    result = invoke(
        ["--config", str(path), "--database-url", "postgresql://u:secret@h/db", "config", "--json"],
        env={"METAXY_ORM_HASH_ALGORITHM": "sha256"},
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["database_url"] == "postgresql://u:***@h/db"  # never the password
    assert document["origins"] == {
        "modules": f"pyproject.toml ({path.resolve()})",
        "database_url": "flag (--database-url)",
        "hash_algorithm": "environment (METAXY_ORM_HASH_ALGORITHM)",
        "hash_truncation_length": f"pyproject.toml ({path.resolve()})",
    }
    assert document["hash_algorithm"] == "sha256"
    assert "secret" not in invoke(["--config", str(path), "config"]).stdout
    bad = invoke(["--config", str(tmp_path / "missing.toml"), "config"])
    assert bad.exit_code == 2
    assert "does not exist" in bad.stderr
