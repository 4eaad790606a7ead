"""Filling a template: Creatomate-style modifications first, then `{{placeholders}}`, then the
same validation as a hand-written spec. Pure, so every rule is unit-tested.

Values are data, never template syntax. Placeholders are looked for in the template's own strings
only, in one pass: a merge value is spliced into its string (or, when the string is nothing but
the placeholder, put there with its own type) and is never scanned again, so a value holding
"{{x}}" stays those five characters. A modification's value is set as it is and never scanned.
What comes out is validated by `VideoSpec` like any spec a client writes, so a value that does
not fit its field is a 400 naming the field and the placeholder the value came from; text stays
text (drawn from a file, never part of the FFmpeg graph) and URLs meet the fetch stage's rules.

Filling is bounded: a value is copied wherever its placeholder is used, so a short template and
one long value could make gigabytes; the filled text may hold at most `max_text` characters
(callers pass KAFKA_MAX_MESSAGE_BYTES, which a job's message could not outgrow anyway), and a
modification's key at most MAX_MODIFICATION_FIELDS dotted fields.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import JsonValue, ValidationError

from api.compositions import field_problem, refuse
from schemas.errors import ErrorCode
from schemas.spec import VideoSpec
from schemas.templates import MergeValue

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_\-]{0,63})\s*\}\}")
SHOWN = 10  # names listed in a message
MAX_MODIFICATION_FIELDS = 16  # dotted fields after the element id: 'title.stroke.color' is 2
MAX_SHOWN_KEY = 100  # characters of a modification's key quoted in an error
DEFAULT_MAX_TEXT = 1_000_000  # KAFKA_MAX_MESSAGE_BYTES' default

Path = tuple[str | int, ...]
Rename = Callable[[Path], Path]


@dataclass(frozen=True)
class _Data:
    """A modification's value in the template being filled: set as is, never scanned."""

    value: JsonValue


@dataclass
class Merged:
    """A filled template and, per dotted path, the placeholders whose values went there and those
    left as written (no value)."""

    document: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, list[str]] = field(default_factory=dict)
    unfilled: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Budget:
    """The characters of text a fill has made so far; PAYLOAD_TOO_LARGE, naming the values, past `limit`."""

    limit: int
    values_field: str
    spent: int = 0

    def spend(self, text: str) -> None:
        self.spent += len(text)
        if self.spent > self.limit:
            message = (
                f"the filled template would hold more than {self.limit} characters of text "
                "(KAFKA_MAX_MESSAGE_BYTES): a value is copied wherever its placeholder is used; "
                "shorten the values or use their placeholders less"
            )
            raise refuse(
                ErrorCode.PAYLOAD_TOO_LARGE, "template too large", [field_problem(self.values_field, message)]
            )


def dotted(path: Path) -> str:
    return ".".join(map(str, path))


def _strings(node: object, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every string value of a JSON document with its path (a modification's value is skipped)."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, index))


def placeholder_uses(template: object) -> dict[str, list[str]]:
    """Each placeholder, in order of first use, with the paths of the strings that hold it."""
    uses: dict[str, list[str]] = {}
    for path, text in _strings(template):
        for match in PLACEHOLDER.finditer(text):
            uses.setdefault(match.group(1), []).append(dotted(path))
    return uses


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN]) + (", …" if len(names) > SHOWN else "")
    return shown or "none"


def _as_text(value: MergeValue) -> str:
    """A value spliced into a longer string: strings as they are, others as JSON writes them
    (integers by Python, as orjson stops at 64 bits)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return orjson.dumps(value).decode()


def _fill_text(
    text: str, values: Mapping[str, MergeValue], path: Path, merged: Merged, budget: _Budget
) -> Any:
    whole = PLACEHOLDER.fullmatch(text)
    if whole is not None and whole.group(1) in values:
        merged.origins[dotted(path)] = [whole.group(1)]
        value = values[whole.group(1)]
        budget.spend(_as_text(value))
        return value
    used: list[str] = []
    left: list[str] = []

    def splice(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            left.append(name)
            return match.group(0)
        used.append(name)
        return _as_text(values[name])

    filled = PLACEHOLDER.sub(splice, text)  # one pass: what a value brings in is not scanned
    budget.spend(filled)
    if used:
        merged.origins[dotted(path)] = used
    if left:
        merged.unfilled[dotted(path)] = left
    return filled


def _fill(node: Any, values: Mapping[str, MergeValue], path: Path, merged: Merged, budget: _Budget) -> Any:
    if isinstance(node, _Data):
        return node.value
    if isinstance(node, str):
        return _fill_text(node, values, path, merged, budget)
    if isinstance(node, dict):
        return {key: _fill(value, values, (*path, key), merged, budget) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, values, (*path, n), merged, budget) for n, value in enumerate(node)]
    return node


def fill(
    document: dict[str, Any],
    values: Mapping[str, MergeValue],
    *,
    max_text: int = DEFAULT_MAX_TEXT,
    values_field: str = "merge",
) -> Merged:
    """Every placeholder that has a value filled in, in one pass; the others left as written.
    PAYLOAD_TOO_LARGE under `values_field` once the text passes `max_text` characters."""
    merged = Merged()
    merged.document = _fill(document, values, (), merged, _Budget(max_text, values_field))
    return merged


def _set(node: dict[str, Any], fields: list[str], value: _Data) -> bool:
    for name in fields[:-1]:
        child = node.setdefault(name, {})
        if child is None:
            child = node[name] = {}
        if not isinstance(child, dict):
            return False
        node = child
    node[fields[-1]] = value
    return True


def _shown(key: str) -> str:
    return key if len(key) <= MAX_SHOWN_KEY else key[:MAX_SHOWN_KEY] + "…"


def _modified(template: dict[str, Any], modifications: Mapping[str, JsonValue]) -> dict[str, Any]:
    """A copy of the template with each '<element id>.<field>' set (the longest matching id wins,
    so ids may hold dots; every element with that id is changed)."""
    document = copy.deepcopy(template)
    elements = [e for e in document.get("elements") or [] if isinstance(e, dict)]
    ids = sorted({e["id"] for e in elements if isinstance(e.get("id"), str)}, key=len, reverse=True)
    problems = []
    for key, value in modifications.items():
        target = next((i for i in ids if key.startswith(f"{i}.") and len(key) > len(i) + 1), None)
        fields = key[len(target) + 1 :].split(".") if target is not None else []
        field = f"modifications.{_shown(key)}"
        if target is None or "" in fields:
            problems.append(
                field_problem(
                    field, f"names no element field: use '<element id>.<field>'; element ids: {_listed(ids)}"
                )
            )
            continue
        if len(fields) > MAX_MODIFICATION_FIELDS:
            problems.append(
                field_problem(field, f"at most {MAX_MODIFICATION_FIELDS} dotted fields after the element id")
            )
            continue
        for element in elements:
            if element.get("id") == target and not _set(element, fields, _Data(value)):
                parent = ".".join(fields[:-1])
                problems.append(field_problem(field, f"{parent} is not an object"))
    if problems:
        raise refuse(ErrorCode.INVALID_INPUT, "invalid modifications", problems)
    return document


def merge(
    template: dict[str, Any],
    values: Mapping[str, MergeValue],
    *,
    modifications: Mapping[str, JsonValue] | None = None,
    values_field: str = "merge",
    max_text: int = DEFAULT_MAX_TEXT,
) -> Merged:
    """The template with `modifications` set and every placeholder filled from `values`.
    INVALID_INPUT when a value names no placeholder of the template or a placeholder still used
    has no value, each problem under `values_field` ('merge.photo'); PAYLOAD_TOO_LARGE past
    `max_text` characters of text."""
    uses = placeholder_uses(template)
    problems = [
        field_problem(
            f"{values_field}.{name}",
            f"the template has no {{{{{name}}}}}; its placeholders: {_listed(list(uses))}",
        )
        for name in values
        if name not in uses
    ]
    document = _modified(template, modifications or {})
    problems += [
        field_problem(
            f"{values_field}.{name}",
            f"no value for {{{{{name}}}}} (used at {_listed(paths)}) and the template has no default",
        )
        for name, paths in placeholder_uses(document).items()
        if name not in values
    ]
    if problems:
        raise refuse(ErrorCode.INVALID_INPUT, "cannot fill the template", problems)
    return fill(document, values, max_text=max_text, values_field=values_field)


def problems_of(
    exc: ValidationError, merged: Merged, prefix: str = "", rename: Rename | None = None
) -> list[dict[str, str]]:
    """Pydantic's errors as field problems (`prefix` + dotted path, after `rename` maps a path of
    what was validated back to the document the caller wrote), each saying which placeholder the
    value came from, or that a placeholder left as written needs a default."""
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        path = dotted(rename(loc) if rename is not None else loc)
        message = error["msg"]
        if path in merged.origins:
            message += " (merged from " + ", ".join(f"{{{{{n}}}}}" for n in merged.origins[path]) + ")"
        if path in merged.unfilled:
            name = merged.unfilled[path][0]
            message += f" ({{{{{name}}}}} has no default: give one so the template can be checked)"
        problems.append(field_problem(f"{prefix}{path}" if path else prefix.rstrip(".") or "body", message))
    return problems


def validated(merged: Merged, prefix: str = "") -> VideoSpec:
    """The merged document as a spec, checked like a hand-written one."""
    try:
        return VideoSpec.model_validate(merged.document)
    except ValidationError as exc:
        raise refuse(ErrorCode.INVALID_INPUT, "invalid spec", problems_of(exc, merged, prefix)) from exc


def check_template(
    spec: dict[str, Any], defaults: Mapping[str, MergeValue], *, max_text: int = DEFAULT_MAX_TEXT
) -> list[str]:
    """A template being saved: its placeholders, once the spec with its defaults filled in (at
    most `max_text` characters of text) has passed as a spec (placeholders without a default stay
    as they are written); INVALID_INPUT naming `spec.…` or `defaults.…` otherwise."""
    uses = placeholder_uses(spec)
    unknown = [
        field_problem(
            f"defaults.{name}", f"the spec has no {{{{{name}}}}}; its placeholders: {_listed(list(uses))}"
        )
        for name in defaults
        if name not in uses
    ]
    if unknown:
        raise refuse(ErrorCode.INVALID_INPUT, "invalid defaults", unknown)
    validated(fill(spec, defaults, max_text=max_text, values_field="defaults"), "spec.")
    return list(uses)


def render(
    spec: dict[str, Any],
    defaults: Mapping[str, MergeValue],
    values: Mapping[str, MergeValue],
    modifications: Mapping[str, JsonValue] | None = None,
    *,
    values_field: str = "merge",
    max_text: int = DEFAULT_MAX_TEXT,
) -> VideoSpec:
    """A saved template filled for one render: values over the defaults (which name only the
    template's placeholders, so an unknown name is the caller's)."""
    merged = merge(
        spec,
        {**defaults, **values},
        modifications=modifications,
        values_field=values_field,
        max_text=max_text,
    )
    return validated(merged)
