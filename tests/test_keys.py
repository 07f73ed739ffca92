"""Feature and field keys: the accepted forms, value semantics and every rejected form."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

import metaxy_orm as mx

KeyClass = type[mx.FeatureKey] | type[mx.FieldKey]
KEY_CLASSES: list[KeyClass] = [mx.FeatureKey, mx.FieldKey]


@pytest.mark.parametrize("key_cls", KEY_CLASSES)
@pytest.mark.parametrize(
    "given",
    ["example/video", ["example", "video"], ("example", "video")],
    ids=["slash-text", "list", "tuple"],
)
def test_accepted_forms_give_the_same_key(key_cls: KeyClass, given: str | Sequence[str]) -> None:
    key = key_cls(given)
    assert key.parts == ("example", "video")
    assert key.to_string() == "example/video"
    assert str(key) == "example/video"
    assert key == key_cls("example/video")
    assert hash(key) == hash(key_cls(["example", "video"]))


@pytest.mark.parametrize("key_cls", KEY_CLASSES)
def test_key_object_is_accepted(key_cls: KeyClass) -> None:
    original = key_cls("a/b_c/d1")
    copy = key_cls(original)
    assert copy == original
    assert copy.parts == ("a", "b_c", "d1")


@pytest.mark.parametrize("key_cls", KEY_CLASSES)
def test_single_part_key(key_cls: KeyClass) -> None:
    key = key_cls("video")
    assert key.parts == ("video",)
    assert key == key_cls(["video"])
    assert repr(key) == f"{key_cls.__name__}('video')"


def test_equality_and_hash_distinguish_keys() -> None:
    assert mx.FeatureKey("a/b") != mx.FeatureKey("a/c")
    assert mx.FeatureKey("a/b") != mx.FeatureKey("a")
    # A feature key and a field key with the same text are different things.
    assert mx.FeatureKey("audio") != mx.FieldKey("audio")
    assert len({mx.FeatureKey("audio"), mx.FieldKey("audio")}) == 2
    # Keys are not strings: equality with text would break hash consistency.
    assert mx.FeatureKey("audio") != "audio"
    as_dict = {mx.FeatureKey("a/b"): 1}
    assert as_dict[mx.FeatureKey(["a", "b"])] == 1


def test_keys_sort_by_text() -> None:
    keys = [mx.FeatureKey("b"), mx.FeatureKey("a/z"), mx.FeatureKey("a")]
    assert [str(k) for k in sorted(keys)] == ["a", "a/z", "b"]


def test_keys_are_immutable() -> None:
    key = mx.FeatureKey("video")
    with pytest.raises(AttributeError, match="immutable"):
        key._parts = ("other",)
    assert key.parts == ("video",)


def test_table_name_and_column_suffix_join_parts_with_double_underscore() -> None:
    assert mx.FeatureKey("example/video").table_name == "example__video"
    assert mx.FeatureKey("video").table_name == "video"
    assert mx.FieldKey("frames/left_eye").column_suffix == "frames__left_eye"
    assert mx.FieldKey("audio").column_suffix == "audio"


def test_table_names_are_injective() -> None:
    # 'a/b_c' and 'a_b/c' must not share a table name (this is why '__' is banned in parts).
    assert mx.FeatureKey("a/b_c").table_name != mx.FeatureKey("a_b/c").table_name


@pytest.mark.parametrize("key_cls", KEY_CLASSES)
@pytest.mark.parametrize(
    ("given", "named", "reason"),
    [
        ("Video", "Video", "lowercase"),
        ("example/Video", "example/Video", "lowercase"),
        (["example", "a/b"], "example/a/b", "contains '/'"),
        ("a__b", "a__b", "contains '__'"),
        ("ex/a__b", "ex/a__b", "contains '__'"),
        ("_video", "_video", "starting and ending with a letter or digit"),
        ("video_", "video_", "starting and ending with a letter or digit"),
        ("vid-eo", "vid-eo", "lowercase letters, digits"),
        ("vid eo", "vid eo", "lowercase letters, digits"),
        ("vidéo", "vidéo", "lowercase letters, digits"),
        ("a.b", "a.b", "lowercase letters, digits"),
        ("a//b", "a//b", "empty part"),
        ("/video", "/video", "empty part"),
        ("video/", "video/", "empty part"),
        (["a", ""], "a/", "lowercase letters, digits"),
        (["a", 1], "a/1", "must be strings"),
        (["a", None], "a/None", "must be strings"),
    ],
)
def test_invalid_keys_are_rejected_naming_the_key(
    key_cls: KeyClass, given: object, named: str, reason: str
) -> None:
    with pytest.raises(mx.KeyValidationError) as info:
        key_cls(given)  # type: ignore[arg-type]
    message = str(info.value)
    assert repr(named) in message
    assert reason in message
    assert ("feature" if key_cls is mx.FeatureKey else "field") in message


@pytest.mark.parametrize("key_cls", KEY_CLASSES)
@pytest.mark.parametrize(("given", "reason"), [("", "empty"), ([], "no parts")])
def test_empty_keys_are_rejected(key_cls: KeyClass, given: object, reason: str) -> None:
    with pytest.raises(mx.KeyValidationError, match=reason):
        key_cls(given)  # type: ignore[arg-type]


@pytest.mark.parametrize("key_cls", KEY_CLASSES)
@pytest.mark.parametrize("given", [42, None, 1.5, {"a": "b"}])
def test_non_key_values_are_rejected_naming_their_type(key_cls: KeyClass, given: object) -> None:
    with pytest.raises(mx.KeyValidationError, match=type(given).__name__):
        key_cls(given)  # type: ignore[arg-type]


def test_bytes_are_rejected_as_a_whole() -> None:
    # bytes is a Sequence (of ints): it must not be read as a list of parts 97/98/99.
    with pytest.raises(mx.KeyValidationError) as info:
        mx.FeatureKey(b"abc")  # type: ignore[arg-type]
    assert "97/98/99" not in str(info.value)
    assert "bytes" in str(info.value)


def test_uppercase_key_suggests_a_valid_spelling() -> None:
    with pytest.raises(mx.KeyValidationError, match="Did you mean 'my_video'"):
        mx.FeatureKey("My-Video")


def test_key_validation_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Video"):
        mx.FieldKey("Video")
