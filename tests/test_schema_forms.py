"""Forms generated from settings models: every built-in schema round-trips its defaults,
values come back typed, errors land on the field their ``loc`` names."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from server.services import build_registry
from server.settings import Settings
from server.web.schema_forms import (
    general_key,
    model_defaults,
    parse_schema_form,
    schema_fields,
)

REGISTRY = build_registry(Settings())
RULES = {name: REGISTRY.scoring_rules.items[name].Settings
         for name in REGISTRY.scoring_rules.names()}
PLUGINS = {name: REGISTRY.settings_schema(name) for name in REGISTRY.names
           if REGISTRY.settings_schema(name) is not None}


def _posted(fields, out=None) -> dict[str, str]:
    """What a browser posts for these fields as rendered (an unchecked box sends nothing)."""
    out = {} if out is None else out
    for f in fields:
        if f.kind == "object":
            _posted(f.children, out)
        elif f.kind == "boolean":
            if f.checked:
                out[f.name] = "on"
        else:
            out[f.name] = f.value
    return out


def test_there_are_schemas_to_check() -> None:
    assert {"icpc", "ioi", "dynamic", "weighted", "points", "atcoder"} <= set(RULES)
    assert {"medals", "json_snapshot"} <= set(PLUGINS)


@pytest.mark.parametrize("name", sorted(RULES))
def test_scoring_rule_forms_round_trip_their_defaults(name: str) -> None:
    model = RULES[name]
    fields = schema_fields(model, prefix="scoring.")
    settings, errors = parse_schema_form(model, _posted(fields), prefix="scoring.")
    assert errors == {}
    assert settings == model_defaults(model) == model().model_dump(mode="json")


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_plugin_forms_round_trip_their_defaults(name: str) -> None:
    model = PLUGINS[name]
    fields = schema_fields(model, prefix=f"{name}.")
    settings, errors = parse_schema_form(model, _posted(fields), prefix=f"{name}.")
    assert errors == {}
    assert settings == model().model_dump(mode="json")


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "localhost"
    port: int = Field(8080, ge=1, le=65535)


class Everything(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "x"
    count: int = Field(3, ge=0, le=10, description="How many")
    ratio: float = Field(0.5, gt=0)
    enabled: bool = True
    mode: Literal["a", "b"] = "b"
    level: Literal[1, 2, 3] = 2
    tags: list[str] = Field(default_factory=lambda: ["one", "two"])
    weights: dict[str, float] = Field(default_factory=lambda: {"x": 1.5})
    limit: int | None = None
    server: Inner = Field(default_factory=Inner)


def test_every_kind_of_field_renders_and_round_trips() -> None:
    fields = {f.name: f for f in schema_fields(Everything, prefix="e.")}
    assert fields["e.count"].kind == "integer"
    assert fields["e.count"].attrs == {"step": "1", "min": "0", "max": "10"}
    assert "How many" in fields["e.count"].help
    assert fields["e.ratio"].kind == "number" and "> 0" in fields["e.ratio"].help
    assert fields["e.enabled"].checked
    assert fields["e.mode"].options == [("a", "a"), ("b", "b")]
    assert fields["e.tags"].value == "one\ntwo"
    assert fields["e.weights"].value == "x = 1.5"
    assert fields["e.limit"].nullable and fields["e.limit"].value == ""
    assert [c.name for c in fields["e.server"].children] == ["e.server.host", "e.server.port"]
    settings, errors = parse_schema_form(Everything, _posted(fields.values()), prefix="e.")
    assert errors == {}
    assert settings == Everything().model_dump(mode="json")


def test_values_come_back_typed() -> None:
    form = {"e.name": "y", "e.count": "7", "e.ratio": "2.25", "e.mode": "a", "e.level": "3",
            "e.tags": "alpha\n\n beta \n", "e.weights": "p = 2\nq: 3.5", "e.limit": "4",
            "e.server.host": "h", "e.server.port": "99"}  # e.enabled unchecked
    settings, errors = parse_schema_form(Everything, form, prefix="e.")
    assert errors == {}
    assert settings == {"name": "y", "count": 7, "ratio": 2.25, "enabled": False, "mode": "a",
                        "level": 3, "tags": ["alpha", "beta"],
                        "weights": {"p": 2.0, "q": 3.5}, "limit": 4,
                        "server": {"host": "h", "port": 99}}
    # stored values show up again in the form
    fields = {f.name: f for f in schema_fields(Everything, settings, prefix="e.")}
    assert fields["e.level"].value == "3" and fields["e.weights"].value == "p = 2\nq = 3.5"
    assert not fields["e.enabled"].checked
    assert fields["e.server"].children[1].value == "99"


def test_errors_land_on_their_fields() -> None:
    form = {"e.count": "11", "e.ratio": "abc", "e.mode": "z", "e.weights": "p = heavy",
            "e.level": "2", "e.server.port": "0"}
    settings, errors = parse_schema_form(Everything, form, prefix="e.")
    assert settings is None
    assert set(errors) == {"e.count", "e.ratio", "e.mode", "e.weights", "e.server.port"}
    assert "less than or equal to 10" in errors["e.count"]
    bad_line = parse_schema_form(Everything, {"e.weights": "no separator"}, prefix="e.")
    assert bad_line == (None, {"e.weights": "line 1: write key = value"})


def test_model_validator_errors_are_general() -> None:
    medals = PLUGINS["medals"]
    settings, errors = parse_schema_form(
        medals, {"m.bronze": "3", "m.silver": "2", "m.gold": "1"}, prefix="m.")
    assert settings is None
    assert errors == {general_key("m."): "thresholds must increase: bronze < silver < gold"}


def test_posted_values_are_kept_on_error() -> None:
    fields = {f.name: f for f in schema_fields(Everything, prefix="e.",
                                               form={"e.count": "eleven"})}
    assert fields["e.count"].value == "eleven"
    assert not fields["e.enabled"].checked  # the posted form had it unchecked
