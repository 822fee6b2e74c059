"""Faculty reference generated from the pydantic models' field descriptions."""

from __future__ import annotations

from pydantic import BaseModel

from vpatient.yamlfile import _unwrap


def reference(model: type[BaseModel], indent: int = 0, seen: frozenset[type] = frozenset()) -> str:
    lines: list[str] = []
    pad = "  " * indent
    for name, field in model.model_fields.items():
        req = "required" if field.is_required() else "optional"
        lines.append(f"{pad}{name} ({req}): {field.description or ''}".rstrip())
        inner = _unwrap(field.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel) and inner not in seen:
            lines.append(reference(inner, indent + 1, seen | {inner}))
    return "\n".join(lines)
