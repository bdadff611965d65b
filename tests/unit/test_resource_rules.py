"""The resource state machine (every pair), parameter rules and template substitution."""

from __future__ import annotations

import itertools

import pytest

from domain.errors import PreconditionFailed, ValidationFailed
from domain.resources import parameters as p
from domain.resources import states
from domain.resources.model import ResourceState as S
from domain.resources.outputs import looks_secret, without_secrets

ALLOWED = {
    (S.REQUESTED, S.PROVISIONING), (S.REQUESTED, S.READY), (S.REQUESTED, S.FAILED),
    (S.REQUESTED, S.DELETED), (S.WAITING_APPROVAL, S.REQUESTED),
    (S.WAITING_APPROVAL, S.FAILED), (S.WAITING_APPROVAL, S.DELETED),
    (S.PROVISIONING, S.READY), (S.PROVISIONING, S.FAILED), (S.PROVISIONING, S.DELETING),
    (S.READY, S.UPDATING), (S.READY, S.DELETING), (S.UPDATING, S.READY),
    (S.UPDATING, S.FAILED), (S.UPDATING, S.DELETING), (S.FAILED, S.UPDATING),
    (S.FAILED, S.DELETING), (S.FAILED, S.DELETED), (S.DELETING, S.DELETED),
    (S.DELETING, S.FAILED),
}  # fmt: skip


@pytest.mark.parametrize(("source", "target"), list(itertools.product(S, S)))
def test_every_pair_of_states(source: S, target: S) -> None:
    system_only = (source, target) in states.SYSTEM_ONLY
    assert states.allowed(source, target, system=True) is ((source, target) in ALLOWED)
    assert states.allowed(source, target) is ((source, target) in ALLOWED and not system_only)
    if states.allowed(source, target):
        states.check(source, target)
    else:
        with pytest.raises(PreconditionFailed) as refused:
            states.check(source, target)
        assert source.value in refused.value.message
        assert target.value in refused.value.message


def test_only_the_platform_leaves_waiting_approval_and_deleted_is_final() -> None:
    assert not states.allowed(S.WAITING_APPROVAL, S.REQUESTED)
    assert states.allowed(S.WAITING_APPROVAL, S.REQUESTED, system=True)
    assert not any(states.allowed(S.DELETED, target, system=True) for target in S)
    assert S.WAITING_APPROVAL not in states.REPORTABLE
    assert S.REQUESTED not in states.REPORTABLE


SCHEMA = {
    "type": "object",
    "properties": {"size": {"enum": ["S", "M"]}, "replicas": {"type": "integer", "minimum": 1}},
    "required": ["size"],
}


def test_violations_name_their_parameters() -> None:
    problems = p.validate(SCHEMA, {"replicas": 0, "colour": "red"}, ["input", "parameters"])
    assert sorted(tuple(problem.path or ()) for problem in problems) == [
        ("input", "parameters", "colour"),
        ("input", "parameters", "replicas"),
        ("input", "parameters", "size"),
    ]
    assert p.validate(SCHEMA, {"size": "S"}, ["x"]) == []
    open_schema = SCHEMA | {"additionalProperties": True}
    assert p.validate(open_schema, {"size": "S", "colour": "red"}, ["x"]) == []


def test_defaults_come_first_and_a_given_value_wins() -> None:
    assert p.with_defaults({"size": "S", "replicas": 1}, {"size": "M"}) == {
        "size": "M", "replicas": 1,
    }  # fmt: skip


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": 7},
        {"type": "string"},
        [],
        {"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}},
        {"type": "object", "properties": {"a": {"$ref": "file:///etc/passwd"}}},
    ],
)
def test_schemas_that_are_refused(schema: object) -> None:
    with pytest.raises(ValidationFailed) as refused:
        p.check_schema(schema, ["input", "parametersSchema"])  # type: ignore[arg-type]
    assert refused.value.path == ("input", "parametersSchema")


def test_a_local_ref_is_fine() -> None:
    schema = {
        "type": "object",
        "$defs": {"size": {"enum": ["S"]}},
        "properties": {"size": {"$ref": "#/$defs/size"}},
    }
    p.check_schema(schema, ["x"])
    assert [problem.path for problem in p.validate(schema, {"size": "L"}, ["x"])] == [("x", "size")]


def test_substitution_keeps_types_and_writes_inside_text() -> None:
    values = {"size": "M", "tier": 2, "ha": True}
    assert p.substitute({"size": "${size}", "tier": "${tier}", "n": [1, "${ha}"]}, values) == {
        "size": "M", "tier": 2, "n": [1, True],
    }  # fmt: skip
    assert p.substitute("db-${size}-${tier}-${ha}", values) == "db-M-2-true"
    assert p.substitute("$size {size}", values) == "$size {size}"
    with pytest.raises(KeyError):
        p.substitute("${nope}", values)
    assert p.placeholders({"a": ["${x}", {"b": "${y}-${x}"}]}) == {"x", "y"}


@pytest.mark.parametrize(
    "key", ["password", "db_password", "DB-PASSWORD", "secretKey", "api_key", "token", "privateKey"]
)
def test_outputs_that_look_secret(key: str) -> None:
    assert looks_secret(key)
    assert without_secrets({key: "x", "host": "db"}) == {"host": "db"}


@pytest.mark.parametrize("key", ["host", "port", "bucket", "url", "database"])
def test_outputs_that_do_not(key: str) -> None:
    assert not looks_secret(key)


def test_sizes_are_bounded() -> None:
    huge_schema = {
        "type": "object",
        "properties": {f"p{i}": {"type": "string"} for i in range(4000)},
    }
    with pytest.raises(ValidationFailed, match="at most 64 KiB"):
        p.check_schema(huge_schema, ["input", "parametersSchema"])
    open_schema = {"type": "object", "additionalProperties": True}
    problems = p.validate(open_schema, {"blob": "x" * 20_000}, ["input", "parameters"])
    assert [(problem.path, "16 KiB" in problem.message) for problem in problems] == [
        (("input", "parameters"), True)
    ]
