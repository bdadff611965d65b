"""A resource's parameters: the class's defaults applied, then checked against its JSON
Schema (draft 2020-12); a template's `${param}` placeholders filled in.

Parameters the schema does not name are refused unless the schema says otherwise
(`additionalProperties` or `patternProperties` set): a typo never passes silently."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from domain.errors import ValidationFailed

MAX_SCHEMA_BYTES = 64 * 1024
MAX_PARAMETERS_BYTES = 16 * 1024
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def check_schema(schema: Mapping[str, Any], path: Sequence[str]) -> None:
    """VALIDATION at `path` for a schema that is not a valid draft 2020-12 object schema."""
    if not isinstance(schema, Mapping):
        raise ValidationFailed("a parameters schema is a JSON object", list(path))
    if _size(schema) > MAX_SCHEMA_BYTES:
        raise ValidationFailed(
            f"a parameters schema may be at most {MAX_SCHEMA_BYTES // 1024} KiB", list(path)
        )
    if schema.get("type", "object") != "object":
        raise ValidationFailed(
            'a parameters schema describes an object ("type": "object")', list(path)
        )
    try:
        Draft202012Validator.check_schema(dict(schema))
    except SchemaError as invalid:
        where = "/".join(str(part) for part in invalid.path)
        suffix = f" at {where}" if where else ""
        raise ValidationFailed(
            f"not a valid JSON Schema{suffix}: {invalid.message}", list(path)
        ) from None
    if "$ref" in _keys(schema) and _remote_ref(schema):
        raise ValidationFailed(
            "a parameters schema may only refer within itself ($ref '#...')", list(path)
        )


def with_defaults(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """`given` over `defaults` (one level: a given value replaces a default whole)."""
    return {**dict(defaults), **dict(given)}


def validate(
    schema: Mapping[str, Any], parameters: Mapping[str, Any], path: Sequence[str]
) -> list[ValidationFailed]:
    """Every violation, each naming the parameter at fault under `path`."""
    if _size(parameters) > MAX_PARAMETERS_BYTES:
        limit = MAX_PARAMETERS_BYTES // 1024
        return [ValidationFailed(f"parameters may be at most {limit} KiB", list(path))]
    problems: list[ValidationFailed] = []
    if not _allows_unknown(schema):
        known = schema.get("properties", {})
        for name in parameters:
            if name not in known:
                problems.append(ValidationFailed(f"unknown parameter '{name}'", [*path, name]))
    validator = Draft202012Validator(dict(schema))
    for error in sorted(validator.iter_errors(dict(parameters)), key=lambda e: list(e.path)):
        where = [str(part) for part in error.absolute_path]
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = _missing_name(error.message)
            if missing is not None:
                where = [*where, missing]
        if error.validator == "additionalProperties" and not _allows_unknown(schema):
            continue
        problems.append(ValidationFailed(error.message, [*path, *where]))
    return problems


def substitute(value: Any, parameters: Mapping[str, Any]) -> Any:
    """`value` with `${name}` replaced by that parameter: a string that is only a placeholder
    takes the parameter's value as is (a number stays a number); inside a longer string it is
    written out. Unknown names raise `KeyError` with the name."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole is not None:
            return parameters[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: _text(parameters[m.group(1)]), value)
    if isinstance(value, Mapping):
        return {key: substitute(item, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, parameters) for item in value]
    return value


def placeholders(value: Any) -> set[str]:
    """The parameter names `value` refers to."""
    if isinstance(value, str):
        return set(_PLACEHOLDER.findall(value))
    if isinstance(value, Mapping):
        return set().union(*(placeholders(item) for item in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(placeholders(item) for item in value)) if value else set()
    return set()


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _allows_unknown(schema: Mapping[str, Any]) -> bool:
    return (
        "additionalProperties" in schema
        or "patternProperties" in schema
        or ("unevaluatedProperties" in schema)
    )


def _missing_name(message: str) -> str | None:
    found = re.match(r"'([^']+)' is a required property", message)
    return found.group(1) if found else None


def _keys(value: Any) -> set[str]:
    if isinstance(value, Mapping):
        keys = set(value)
        for item in value.values():
            keys |= _keys(item)
        return keys
    if isinstance(value, list):
        return set().union(*(_keys(item) for item in value)) if value else set()
    return set()


def _remote_ref(value: Any) -> bool:
    if isinstance(value, Mapping):
        ref = value.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return True
        return any(_remote_ref(item) for item in value.values())
    if isinstance(value, list):
        return any(_remote_ref(item) for item in value)
    return False


def schema_defaults(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The `default` of each top-level property that declares one."""
    properties = schema.get("properties", {})
    return {
        name: spec["default"]
        for name, spec in properties.items()
        if isinstance(spec, Mapping) and "default" in spec
    }


def resolved(
    schema: Mapping[str, Any],
    defaults: Mapping[str, Any],
    given: Mapping[str, Any],
    path: Sequence[str],
) -> tuple[dict[str, Any], list[ValidationFailed]]:
    """The final parameters (`defaults`, then `given`) and every violation of `schema`."""
    final = with_defaults(defaults, given)
    return final, validate(schema, final, path)


def required_approvals(class_asks: bool, environment_asks: int) -> int:
    """Whichever asks more: the class (one approval) or the environment's protection."""
    return max(1 if class_asks else 0, environment_asks)
