"""Pydantic's validation errors, said in plain words with a fix.

Pydantic's own text ("Input should be a valid integer, unable to parse string as an integer")
is written for programmers. People editing syncwell.yaml get the field, what was wrong with what
they wrote, and what to write instead; unknown fields get the closest known name.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from syncwell.workspace.problems import KeyPath, Problem, did_you_mean

__all__ = ["explain", "fields_of", "unknown_field"]

# What to write for a required field, where an example says more than its name.
_REQUIRED_HINTS: Mapping[str, str] = {
    "source": "name the system records come from",
    "destination": "name the system records go to",
    "stream": "name the table or stream to read, e.g. `stream: contacts`",
    "key": "name the column(s) that identify a record, e.g. `key: id` or `key: [org, id]`",
    "flows": "list the flow names in order, e.g. `flows: [contacts, deals]`",
    "dsn": "e.g. `dsn: postgresql://${PGUSER}@127.0.0.1/app`",
    "path": "the database file, e.g. `path: crm.db` (relative to the workspace folder)",
    "per_second": "the sustained requests per second the system allows, e.g. `per_second: 10`",
}


def explain(
    error: ValidationError,
    at: KeyPath,
    model: type[BaseModel],
    *,
    hidden: Collection[str] = (),
    also: Collection[str] = (),
) -> list[Problem]:
    """One problem per error of validating `model` from the value at key path `at`.

    Args:
        error: what pydantic raised.
        at: where the validated value sits in the file.
        model: the model validated; its fields are the names "did you mean" picks from.
        hidden: fields the loader fills in, which the file must not name.
        also: more names the file may use at the top of this value.
    """
    return [_problem(detail, at, model, hidden, also) for detail in error.errors()]


def fields_of(model: type[BaseModel], hidden: Collection[str] = ()) -> list[str]:
    """The names a file may use for `model`'s fields (aliases where a field has one)."""
    names = [info.alias or name for name, info in model.model_fields.items()]
    return [name for name in names if name not in hidden]


def _problem(
    detail: ErrorDetails,
    at: KeyPath,
    model: type[BaseModel],
    hidden: Collection[str],
    also: Collection[str],
) -> Problem:
    loc = tuple(part for part in detail["loc"] if part != "[key]")
    if detail["type"] == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        known = fields_of(parent, hidden) if parent else []
        if not loc[:-1]:
            known += list(also)
        return Problem((*at, *loc), unknown_field(str(loc[-1]), known))
    return Problem((*at, *loc), _message(detail, str(loc[-1]) if loc else ""))


def unknown_field(name: str, known: Collection[str]) -> str:
    """``unknown field 'intervall'; did you mean 'interval'?``, or the known fields."""
    guess = did_you_mean(name, known)
    if guess:
        return f"unknown field '{name}'{guess}"
    if not known:  # never an empty list: say where the fields are told
        return f"unknown field '{name}'; docs/workspace.md lists the fields of this section"
    return f"unknown field '{name}'; the fields here are: {', '.join(known)}"


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    current: type[BaseModel] | None = model
    members: list[type[BaseModel]] = []
    keyed = False
    for part in loc:
        if keyed:  # a name the file chose, under a mapping of models (`streams.contacts`)
            keyed = False
            continue
        # Pydantic names the member of a union tagged by `kind` in the path (`auth.hmac.x`).
        tagged = next((m for m in members if part in _kinds(m)), None)
        if tagged is not None:
            current, members = tagged, []
            continue
        if current is None or isinstance(part, int):
            return None
        by_alias = {info.alias or name: info for name, info in current.model_fields.items()}
        info = by_alias.get(part)
        annotation = info.annotation if info else None
        members = _models(annotation)
        keyed = _is_mapping(annotation)
        current = members[0] if members else None
    return current


def _is_mapping(annotation: object) -> bool:
    """Whether the annotation is a mapping (through `| None` and `Annotated`)."""
    origin = get_origin(annotation)
    if isinstance(origin, type) and issubclass(origin, Mapping):
        return True
    return any(_is_mapping(arg) for arg in get_args(annotation))


def _models(annotation: object) -> list[type[BaseModel]]:
    """The models an annotation holds, through unions, `| None` and `Annotated`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models(arg)]


def _kinds(model: type[BaseModel]) -> tuple[object, ...]:
    """The `kind` values that select `model` in a union tagged by `kind`."""
    info = model.model_fields.get("kind")
    return get_args(info.annotation) if info is not None else ()


def _message(detail: ErrorDetails, field: str) -> str:
    kind, ctx, given = detail["type"], detail.get("ctx", {}), _show(detail["input"])
    if kind == "missing":
        hint = _REQUIRED_HINTS.get(field)
        return f"'{field}' is required; add it" + (f": {hint}" if hint else "")
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", detail["msg"]))
    if kind in ("enum", "literal_error"):
        return f"{given} is not allowed here; use {ctx.get('expected', '')}"
    if kind == "string_type" and not isinstance(detail["input"], dict | list | tuple):
        return f"expected text, got {given}; put it in quotes if it is meant as text"
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    simple = _SIMPLE.get(kind)
    if simple:
        return simple.format(given=given, **{k: _number(v) for k, v in ctx.items()})
    return f"{detail['msg']} (got {given})"


_SIMPLE: Mapping[str, str] = {
    "int_parsing": "expected a whole number, got {given}",
    "int_type": "expected a whole number, got {given}",
    "int_from_float": "expected a whole number, got {given}",
    "float_parsing": "expected a number, got {given}",
    "float_type": "expected a number, got {given}",
    "bool_parsing": "expected true or false, got {given}",
    "bool_type": "expected true or false, got {given}",
    "string_type": "expected text, got {given}",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "{given} must match the pattern {pattern}",
    "dict_type": "expected a mapping (`name: value` lines), got {given}",
    "model_type": "expected a mapping (`name: value` lines), got {given}",
    "model_attributes_type": "expected a mapping (`name: value` lines), got {given}",
    "mapping_type": "expected a mapping (`name: value` lines), got {given}",
    "list_type": "expected a list, got {given}",
    "tuple_type": "expected a list, got {given}",
    "too_short": "needs at least {min_length} items",
    "greater_than": "must be more than {gt}, got {given}",
    "greater_than_equal": "must be at least {ge}, got {given}",
    "less_than": "must be less than {lt}, got {given}",
    "less_than_equal": "must be at most {le}, got {given}",
}


def _number(value: object) -> object:
    # Pydantic reports bounds of float fields as 0.0 and 1.0; the file says 0 and 1.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _show(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value)
