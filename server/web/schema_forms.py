"""HTML forms generated from a pydantic model's JSON schema (plugin and scoring settings).

:func:`schema_fields` turns a settings model (and the current values) into a list of
:class:`SchemaField` that ``_schema_form.html`` renders; :func:`parse_schema_form` reads the
posted form back into a dict and validates it with the model, returning pydantic's errors
keyed by form field name (found from each error's ``loc``), so every message lands next to its
own field.

Supported: strings, integers and floats (with their bounds), booleans (a checkbox), enums and
``Literal`` (a select), optional values (``X | None``: an empty field is ``None``), lists of
scalars (one item per line), dicts of scalars (``key = value`` per line) and nested models (a
fieldset). Anything else is edited as JSON in a textarea.

Field names are ``{prefix}{path joined by "."}``; the model's own errors (a
``model_validator``) go under ``{prefix}__all__``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = [
    "SchemaField",
    "general_key",
    "model_defaults",
    "parse_schema_form",
    "schema_fields",
]

SCALARS = {"string", "integer", "number", "boolean"}


@dataclass
class SchemaField:
    name: str
    """The form field's name (also the key of its error)."""
    path: tuple[str, ...]
    kind: str
    """string, integer, number, boolean, enum, list, dict, object or json."""
    label: str
    help: str = ""
    required: bool = False
    nullable: bool = False
    value: str = ""
    """The field's value as the form shows it (a checkbox: "on" or "")."""
    options: list[tuple[str, str]] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)
    """Extra attributes of the input: min, max, step, minlength, maxlength, pattern."""
    item_type: str = "string"
    """Lists and dicts: the type of their items / values."""
    children: list[SchemaField] = field(default_factory=list)

    @property
    def checked(self) -> bool:
        return self.value == "on"

    @property
    def dom_id(self) -> str:
        return "sf-" + self.name.replace(".", "-")


def general_key(prefix: str) -> str:
    return f"{prefix}__all__"


def model_defaults(model: type[BaseModel]) -> dict[str, Any]:
    """The model's defaults as JSON data ({} when some field has none)."""
    try:
        return model().model_dump(mode="json")
    except ValidationError:
        return {}


# -- schema helpers ---------------------------------------------------------------------------

def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` (to ``#/$defs/…``), merging the referring node's own keys."""
    node = dict(schema)
    seen = 0
    while "$ref" in node and seen < 32:
        ref = node.pop("$ref")
        target: Any = root
        for part in ref.lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        node = {**target, **node}
        seen += 1
    if "allOf" in node and len(node["allOf"]) == 1:  # pydantic v1-style wrappers
        inner = _resolve(node.pop("allOf")[0], root)
        node = {**inner, **node}
    return node


def _unwrap_optional(schema: dict[str, Any], root: Mapping[str, Any]
                     ) -> tuple[dict[str, Any], bool]:
    """``anyOf: [X, null]`` -> (X, True)."""
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        rest = [o for o in options if o.get("type") != "null"]
        if len(rest) == 1 and len(rest) < len(options):
            inner = _resolve(rest[0], root)
            merged = {**inner, **{k: v for k, v in schema.items() if k not in {"anyOf", "oneOf"}}}
            return merged, True
    if isinstance(schema.get("type"), list) and "null" in schema["type"]:
        types = [t for t in schema["type"] if t != "null"]
        if len(types) == 1:
            return {**schema, "type": types[0]}, True
    return schema, False


def _kind(schema: Mapping[str, Any], root: Mapping[str, Any]) -> tuple[str, str]:
    """(kind, item type)."""
    if "enum" in schema or "const" in schema:
        return "enum", ""
    kind = schema.get("type")
    if kind in SCALARS:
        return str(kind), ""
    if kind == "array":
        items = _resolve(schema.get("items") or {}, root)
        if items.get("type") in SCALARS - {"boolean"} and "enum" not in items:
            return "list", str(items["type"])
        return "json", ""
    if kind == "object" or "properties" in schema:
        if schema.get("properties"):
            return "object", ""
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            extra = _resolve(extra, root)
            if extra.get("type") in SCALARS - {"boolean"} and "enum" not in extra:
                return "dict", str(extra["type"])
        return "json", ""
    return "json", ""


def _text(value: Any, kind: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _attrs(schema: Mapping[str, Any], kind: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    if kind in {"integer", "number"}:
        attrs["step"] = "1" if kind == "integer" else "any"
        if "minimum" in schema:
            attrs["min"] = _text(schema["minimum"])
        if "maximum" in schema:
            attrs["max"] = _text(schema["maximum"])
    elif kind == "string":
        if "minLength" in schema:
            attrs["minlength"] = str(schema["minLength"])
        if "maxLength" in schema:
            attrs["maxlength"] = str(schema["maxLength"])
    return attrs


def _bounds_help(schema: Mapping[str, Any]) -> str:
    parts = []
    for key, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"),
                      ("exclusiveMaximum", "<")):
        if key in schema:
            parts.append(f"{sign} {_text(schema[key])}")
    return ", ".join(parts)


# -- building the fields ----------------------------------------------------------------------

def schema_fields(model: type[BaseModel], values: Mapping[str, Any] | None = None, *,
                  prefix: str = "", form: Mapping[str, Any] | None = None) -> list[SchemaField]:
    """The fields of ``model``'s form, showing ``values`` (stored settings; the model's
    defaults when None) or, when re-rendering after an error, the posted ``form``."""
    root = model.model_json_schema()
    data = model_defaults(model) if values is None else {**model_defaults(model), **values}
    return _fields(root, root, data, (), prefix, form)


def _fields(schema: Mapping[str, Any], root: Mapping[str, Any], values: Mapping[str, Any],
            path: tuple[str, ...], prefix: str,
            form: Mapping[str, Any] | None) -> list[SchemaField]:
    out = []
    required = set(schema.get("required", []))
    for key, raw in (schema.get("properties") or {}).items():
        node, nullable = _unwrap_optional(_resolve(raw, root), root)
        kind, item_type = _kind(node, root)
        sub = (*path, key)
        name = prefix + ".".join(sub)
        value = values.get(key, node.get("default")) if isinstance(values, Mapping) else None
        help_parts = [p for p in (node.get("description") or raw.get("description") or "",
                                  _bounds_help(node)) if p]
        label = str(raw.get("title") or node.get("title") or key.replace("_", " ").capitalize())
        f = SchemaField(
            name=name, path=sub, kind=kind, label=label,
            help=" — ".join(help_parts), required=key in required and not nullable,
            nullable=nullable, attrs=_attrs(node, kind), item_type=item_type)
        if kind == "object" and not nullable:
            f.children = _fields(node, root, value if isinstance(value, Mapping) else {}, sub,
                                 prefix, form)
        elif kind == "object":  # an optional nested model: edit as JSON
            f.kind = "json"
            f.value = "" if value is None else json.dumps(value, indent=2)
        elif kind == "enum":
            choices = node.get("enum", [node.get("const")])
            f.options = ([("", "—")] if nullable else []) + [(_text(c), _text(c))
                                                             for c in choices]
            f.value = _text(value)
        elif kind == "boolean":
            f.value = "on" if value else ""
        elif kind == "list":
            f.value = "\n".join(_text(v) for v in value or [])
        elif kind == "dict":
            f.value = "\n".join(f"{k} = {_text(v)}" for k, v in (value or {}).items())
        elif kind == "json":
            f.value = "" if value is None and nullable else json.dumps(value, indent=2)
        else:
            f.value = _text(value)
        if form is not None and f.kind != "object":
            f.value = ("on" if _flag(form.get(name, "")) else "") if f.kind == "boolean" \
                else str(form.get(name, ""))
        out.append(f)
    return out


# -- reading the form back --------------------------------------------------------------------

def _flag(value: Any) -> bool:
    return str(value).strip().lower() not in {"", "off", "false", "0"}


class _FieldError(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def _parse_fields(fields: list[SchemaField], form: Mapping[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for f in fields:
        key = f.path[-1]
        raw = form.get(f.name, "")
        raw = raw if isinstance(raw, str) else str(raw)
        if f.kind == "object":
            data[key] = _parse_fields(f.children, form)
        elif f.kind == "boolean":
            data[key] = _flag(raw)
        elif f.kind == "list":
            data[key] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif f.kind == "dict":
            items: dict[str, Any] = {}
            for number, line in enumerate(raw.splitlines(), 1):
                if not line.strip():
                    continue
                sep = "=" if "=" in line else ":" if ":" in line else None
                if sep is None:
                    raise _FieldError(f.name, f"line {number}: write key = value")
                k, v = (part.strip() for part in line.split(sep, 1))
                if not k:
                    raise _FieldError(f.name, f"line {number}: the key is empty")
                if k in items:
                    raise _FieldError(f.name, f"line {number}: {k!r} appears twice")
                items[k] = v  # pydantic converts numbers (and says what is wrong)
            data[key] = items
        elif f.kind == "json":
            if not raw.strip():
                if f.nullable:
                    data[key] = None
                continue
            try:
                data[key] = json.loads(raw)
            except ValueError as exc:
                raise _FieldError(f.name, f"not valid JSON: {exc}") from None
        elif f.kind == "enum":
            if raw == "" and f.nullable:
                data[key] = None
                continue
            choices = {text: text for text, _ in f.options}
            data[key] = choices.get(raw, raw)
        else:
            if raw.strip() == "" and f.nullable:
                data[key] = None
            elif raw.strip() == "" and f.kind in {"integer", "number"} and not f.required:
                continue  # the model's default
            else:
                data[key] = raw.strip() if f.kind != "string" else raw
    return data


def _error_key(loc: tuple[Any, ...], names: set[str], prefix: str) -> str:
    parts = [str(p) for p in loc]
    while parts:
        name = prefix + ".".join(parts)
        if name in names:
            return name
        parts.pop()
    return general_key(prefix)


def _all_names(fields: list[SchemaField]) -> set[str]:
    names = set()
    for f in fields:
        names.add(f.name)
        names |= _all_names(f.children)
    return names


def _message(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")


def parse_schema_form(model: type[BaseModel], form: Mapping[str, Any], *, prefix: str = ""
                      ) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """``(settings, {})`` — validated, as JSON data — or ``(None, errors by field name)``."""
    fields = schema_fields(model, prefix=prefix)
    try:
        data = _parse_fields(fields, form)
    except _FieldError as exc:
        return None, {exc.name: exc.message}
    enums = _enum_fields(fields)
    _coerce_enums(data, enums, model)
    try:
        validated = model.model_validate(data)
    except ValidationError as exc:
        names = _all_names(fields)
        errors: dict[str, str] = {}
        for err in exc.errors():
            key = _error_key(tuple(err.get("loc", ())), names, prefix)
            errors.setdefault(key, _message(err))
        return None, errors
    return validated.model_dump(mode="json"), {}


def _enum_fields(fields: list[SchemaField]) -> list[SchemaField]:
    out = []
    for f in fields:
        if f.kind == "enum":
            out.append(f)
        out.extend(_enum_fields(f.children))
    return out


def _coerce_enums(data: dict[str, Any], fields: list[SchemaField], model: type[BaseModel]) -> None:
    """Enum choices of a non-string type (``Literal[1, 2]``) come back as their own type."""
    root = model.model_json_schema()
    for f in fields:
        node: Any = root
        target: Any = data
        for part in f.path[:-1]:
            node = _resolve((node.get("properties") or {}).get(part, {}), root)
            node, _ = _unwrap_optional(node, root)
            target = target.get(part, {}) if isinstance(target, dict) else {}
        raw = _resolve((node.get("properties") or {}).get(f.path[-1], {}), root)
        raw, _ = _unwrap_optional(raw, root)
        choices = raw.get("enum", [raw.get("const")])
        key = f.path[-1]
        if not isinstance(target, dict) or key not in target or target[key] is None:
            continue
        for choice in choices:
            if _text(choice) == target[key]:
                target[key] = choice
                break
