"""Safe loading of faculty-written YAML into pydantic models, with FILE:LINE errors.

Only PyYAML's safe loader is used; anchors/aliases, duplicate keys, empty files and absurd sizes are
refused. Validation errors are mapped back to the line of the offending key and phrased with the fix.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from vpatient.errors import FileProblemError, PathError, Problem
from vpatient.files import read_text

MAX_BYTES = 1_000_000
"""Faculty files larger than this are refused (a persona is a few tens of kilobytes)."""
MAX_DEPTH = 40
"""Deepest nesting of mappings and lists accepted (a persona needs about six levels)."""
_OPEN = (
    yaml.BlockMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.FlowSequenceStartToken,
)
_CLOSE = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]


def _positions(node: yaml.Node, loc: Loc, out: dict[Loc, int], problems: list[tuple[int, Loc, str]]) -> None:
    """Record the 1-based line of every mapping key and sequence item, and flag duplicate keys."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append((line, (*loc, key), f"duplicate key (first at line {seen[key]}); keep only one"))
            seen[key] = line
            out[(*loc, key)] = line
            _positions(value_node, (*loc, key), out, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*loc, i)] = item.start_mark.line + 1
            _positions(item, (*loc, i), out, problems)


def dotted(loc: Loc) -> str:
    """('facts', 3, 'tier') -> 'facts[3].tier'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_for(loc: Loc, lines: dict[Loc, int]) -> int:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return 1


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The pydantic model class that holds the field at `loc` (for 'did you mean' hints)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = _unwrap(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """list[X] / X | None / dict[str, X] -> X (the first model class found)."""
    origin = get_origin(annotation)
    if origin in (list, tuple, set, dict, Union, types.UnionType, typing.Annotated):
        for arg in get_args(annotation):
            inner = _unwrap(arg)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
        return None
    return annotation


def _phrase(model: type[BaseModel], err: Any) -> str:
    kind = err["type"]
    loc: Loc = tuple(err["loc"])
    name = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        holder = _model_at(model, loc)
        allowed = sorted(holder.model_fields) if holder else []
        close = difflib.get_close_matches(str(name), allowed, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return f"unknown key '{name}'; {hint}allowed keys: {', '.join(allowed)}"
    if kind == "missing":
        holder = _model_at(model, loc)
        desc = ""
        if holder and name in holder.model_fields:
            desc = holder.model_fields[str(name)].description or ""
        return f"missing required field; add '{name}:'" + (f" ({desc})" if desc else "")
    if kind in ("literal_error", "enum"):
        expected = str(err.get("ctx", {}).get("expected", "")).replace("'", "")
        return f"{err.get('input')!r} is not one of {expected}; use one of those"
    value = err.get("input")
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return f"{err['msg']} (got {shown})"


Check = Callable[[Any], list[tuple[Loc, str]]]


def load_model(path: str | Path, model: type[M], *, what: str = "file", check: Check | None = None) -> M:
    """Load a YAML file into `model`; raise FileProblemError listing every problem with its line."""
    name = str(path)
    try:
        text = read_text(path, what=what, limit=MAX_BYTES)
    except PathError as exc:
        message = str(exc).removeprefix(f"{name}: ")
        raise FileProblemError([Problem(name, 0, "", message)]) from exc
    return parse_model(text, model, name=name, what=what, check=check)


def parse_model(
    text: str, model: type[M], *, name: str = "<string>", what: str = "file", check: Check | None = None
) -> M:
    """Parse YAML text into `model`; see load_model. `check` finds cross-field problems (loc, message)."""
    if not text.strip():
        raise FileProblemError([Problem(name, 1, "", f"{what} is empty; start from an example in personas/")])
    try:
        depth = 0
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            depth += isinstance(token, _OPEN) - isinstance(token, _CLOSE)
            if depth > MAX_DEPTH:
                line = token.start_mark.line + 1
                raise FileProblemError(
                    [Problem(name, line, "", f"nested more than {MAX_DEPTH} levels deep; flatten the structure")]
                )
            if isinstance(token, (yaml.AliasToken, yaml.AnchorToken)):
                line = token.start_mark.line + 1
                raise FileProblemError(
                    [
                        Problem(
                            name,
                            line,
                            "",
                            "YAML anchors and aliases (&name, *name) are not allowed; write the value out",
                        )
                    ]
                )
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        reason = exc.problem or "invalid YAML"
        raise FileProblemError(
            [Problem(name, line, "", f"YAML syntax error: {reason}; check indentation and quoting on this line")]
        ) from exc
    except yaml.YAMLError as exc:
        raise FileProblemError([Problem(name, 0, "", f"YAML error: {exc}")]) from exc
    except RecursionError as exc:
        raise FileProblemError([Problem(name, 0, "", "nested too deeply; flatten the structure")]) from exc
    if data is None or root is None:
        raise FileProblemError([Problem(name, 1, "", f"{what} holds no data (only comments?)")])
    if not isinstance(data, dict):
        raise FileProblemError(
            [Problem(name, 1, "", f"{what} must be a mapping of keys (got a {type(data).__name__})")]
        )
    lines: dict[Loc, int] = {}
    dupes: list[tuple[int, Loc, str]] = []
    _positions(root, (), lines, dupes)
    problems = [Problem(name, line, dotted(loc), msg) for line, loc, msg in dupes]
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.append(Problem(name, _line_for(loc, lines), dotted(loc), _phrase(model, err)))
        raise FileProblemError(sorted(problems, key=lambda p: p.line)) from exc
    if check is not None:
        problems += [Problem(name, _line_for(loc, lines), dotted(loc), msg) for loc, msg in check(result)]
    if problems:
        raise FileProblemError(sorted(problems, key=lambda p: p.line))
    return result
