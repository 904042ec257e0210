"""``sim.config.keys``: one dotted-key walk for scenarios (pydantic) and plain YAML trees."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from conftest import SMALL
from hypothesis import given
from hypothesis import strategies as st

from sim.config import keys
from sim.scenario import Scenario

IDENT = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
LEAF = st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=3) | st.none()
TREES = st.recursive(
    LEAF,
    lambda kids: (
        st.lists(kids, min_size=1, max_size=3)
        | st.dictionaries(IDENT, kids, min_size=1, max_size=3)
    ),
    max_leaves=12,
)


def _paths(tree: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path of a tree (to leaves and to inner nodes)."""
    out = [prefix] if prefix else []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, (*prefix, str(k)))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, (*prefix, str(i)))
    return out


def _scenario() -> Scenario:
    return Scenario.model_validate(copy.deepcopy(SMALL))


@given(TREES, st.data(), LEAF)
def test_set_then_get_returns_the_value(tree: Any, data: st.DataObject, value: Any) -> None:
    paths = _paths(tree)
    if not paths:
        return
    path = data.draw(st.sampled_from(paths))
    key = keys.join(path)
    keys.set(tree, key, value)
    assert keys.get(tree, key) == value or value != value
    assert keys.get(tree, list(path)) is keys.get(tree, key)


@given(TREES, st.data(), IDENT)
def test_an_unknown_part_raises_with_its_position(tree: Any, data: st.DataObject, bad: str) -> None:
    inner = [p for p in _paths(tree) if isinstance(keys.get(tree, keys.join(p)), dict)]
    path = data.draw(st.sampled_from(inner)) if inner else ()
    node = keys.get(tree, keys.join(path)) if path else tree
    if not isinstance(node, dict) or bad in node:
        return
    key = keys.join((*path, bad, "x"))
    with pytest.raises(keys.KeyPathError) as err:
        keys.get(tree, key)
    assert err.value.position == len(path)
    assert err.value.part == bad
    assert err.value.parent == keys.join(path)
    assert not keys.has(tree, key)


def test_scenario_models_dict_sections_and_list_items() -> None:
    sc = _scenario()
    assert keys.get(sc, "moderation.twitter.intensity") == sc.moderation["twitter"].intensity
    assert keys.get(sc, "platforms.twitter.kind") == "open"
    parent, slot = keys.resolve_parent(sc, "moderation.twitter.intensity")
    assert parent is sc.moderation["twitter"] and slot == "intensity"
    keys.set(sc, "moderation.twitter.intensity", 0.25)
    assert sc.moderation["twitter"].intensity == 0.25
    dumped = sc.model_dump(mode="json")
    assert keys.get(dumped, "moderation.twitter.intensity") == 0.25


def test_dict_keys_with_dots_take_the_rest_of_the_path() -> None:
    tree = {"timeline": [{"date": "2015-01-01"}, {"values": {"moderation.twitter.intensity": 1}}]}
    key = "timeline.1.values.moderation.twitter.intensity"
    parent, slot = keys.resolve_parent(tree, key)
    assert slot == "moderation.twitter.intensity" and parent is tree["timeline"][1]["values"]
    keys.set(tree, key, 2)
    assert tree["timeline"][1]["values"] == {"moderation.twitter.intensity": 2}


def test_messages_name_the_part_and_what_exists() -> None:
    sc = _scenario()
    with pytest.raises(keys.KeyPathError, match="unknown key 'intensty' in moderation.twitter; "
                       "did you mean 'intensity'") as err:  # fmt: skip
        keys.get(sc, "moderation.twitter.intensty")
    assert err.value.position == 2 and isinstance(err.value, KeyError)
    with pytest.raises(keys.KeyPathError, match="unknown key 'facebook' in moderation") as err:
        keys.get(sc, "moderation.facebook.intensity")
    assert err.value.position == 1 and "twitter" in err.value.choices
    with pytest.raises(keys.KeyPathError, match=r"'7' is not a position in timeline"):
        keys.get({"timeline": [1, 2]}, "timeline.7")
    with pytest.raises(keys.KeyPathError, match="scale is a value, it has no key 'x'"):
        keys.get(sc, "scale.x")
    with pytest.raises(keys.KeyPathError, match="not a dotted key"):
        keys.split("a..b")


def test_get_default_and_set_create() -> None:
    assert keys.get({"a": {}}, "a.b.c", None) is None
    tree: dict[str, Any] = {}
    keys.set(tree, "population.pro_effect", 0.1, create=True)
    keys.set(tree, "population.relaxation", 0.2, create=True)
    assert tree == {"population": {"pro_effect": 0.1, "relaxation": 0.2}}
    with pytest.raises(keys.KeyPathError):
        keys.set({"a": 1}, "a.b", 2, create=True)  # a value has no keys, even with create
    with pytest.raises(keys.KeyPathError):
        keys.set({"a": {}}, "a.b", 2)  # without create the key must exist


def test_parts_given_as_a_sequence_and_the_empty_path() -> None:
    tree = {"timeline": [{"platform": "twitter"}], "platforms": {"twitter": {}}}
    assert keys.get(tree, ["timeline", 0, "platform"]) == "twitter"
    assert keys.get(tree, []) is tree
    assert keys.get(tree, ["timeline", 3], None) is None
    with pytest.raises(keys.KeyPathError, match="empty key"):
        keys.resolve_parent(tree, [])
