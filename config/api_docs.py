"""The API's reference page: the OpenAPI document rendered on the server in the console's own
layout. Swagger UI's page fails axe (contrast, nested buttons, no landmarks, no lang) and shows
nothing without JavaScript; tools that want to try requests take /api/v1/openapi.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI
from ninja.openapi.docs import DocsBase

REF_PREFIX = "#/components/schemas/"


@dataclass(frozen=True)
class Shape:
    """A value's type as read aloud: "list of " + a linked schema + " or null", or one of
    several ``alternatives`` ("EventIn, or list of EventIn")."""

    before: str = ""
    ref: str = ""
    after: str = ""
    alternatives: tuple[Shape, ...] = ()


@dataclass(frozen=True)
class Field:
    name: str
    shape: Shape
    required: bool
    description: str = ""
    where: str = ""
    rules: str = ""


@dataclass(frozen=True)
class Body:
    """A request body: a linked schema, or an inline object's fields listed in place."""

    shape: Shape
    description: list[tuple[str, bool]]
    fields: list[Field]
    rules: str = ""


@dataclass
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    description: list[tuple[str, bool]]
    parameters: list[Field]
    body: Body | None
    responses: list[tuple[str, str, Shape | None]]


@dataclass
class Section:
    tag: str
    operations: list[Operation] = field(default_factory=list)


def shape_of(schema: dict[str, Any]) -> Shape:
    if "$ref" in schema:
        return Shape(ref=schema["$ref"].removeprefix(REF_PREFIX))
    if "anyOf" in schema or "oneOf" in schema:
        return _choice(schema.get("anyOf") or schema["oneOf"])
    if schema.get("type") == "array":
        inner = shape_of(schema.get("items", {}))
        return Shape("list of " + inner.before, inner.ref, inner.after)
    if "enum" in schema:
        return Shape(before="one of " + ", ".join(str(v) for v in schema["enum"]))
    kind = schema.get("type", "any value")
    detail = schema.get("format")
    return Shape(before=f"{kind} ({detail})" if detail else str(kind))


def _choice(choices: list[dict[str, Any]]) -> Shape:
    """pydantic's Optional[X] is anyOf [X, null]: read as "X or null"."""
    kept = [c for c in choices if c.get("type") != "null"]
    nullable = " or null" if len(kept) < len(choices) else ""
    if len(kept) == 1:
        inner = shape_of(kept[0])
        return Shape(inner.before, inner.ref, inner.after + nullable)
    return Shape(after=nullable, alternatives=tuple(shape_of(c) for c in kept))


def _layers(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema and, for a choice, each of its shapes: where pydantic puts a nullable
    field's description and limits."""
    return [schema, *(schema.get("anyOf") or schema.get("oneOf") or [])]


def description_of(*holders: dict[str, Any]) -> str:
    for holder in holders:
        for layer in _layers(holder):
            if layer.get("description"):
                return str(layer["description"])
    return ""


def _span(low: Any, high: Any, unit: str) -> str:
    if low and high is not None:
        return f"{low:,} to {high:,}{unit}"
    if high is not None:
        return f"at most {high:,}{unit}"
    return f"at least {low:,}{unit}" if low else ""


def rules_of(schema: dict[str, Any]) -> str:
    """The limits a value must keep, in words: "at most 200 characters · default 50"."""
    rules = []
    for layer in _layers(schema):
        rules += [
            _span(layer.get("minLength"), layer.get("maxLength"), " characters"),
            _span(layer.get("minimum"), layer.get("maximum"), ""),
            _span(layer.get("minItems"), layer.get("maxItems"), " items"),
        ]
    if schema.get("default") not in (None, "", [], {}):
        rules.append(f"default {schema['default']}")
    return " · ".join(dict.fromkeys(r for r in rules if r))


def _fields(schema: dict[str, Any]) -> list[Field]:
    required = set(schema.get("required", []))
    return [
        Field(
            name,
            shape_of(prop),
            name in required,
            description_of(prop),
            rules=rules_of(prop),
        )
        for name, prop in schema.get("properties", {}).items()
    ]


def _body(operation: dict[str, Any]) -> Body | None:
    content = operation.get("requestBody", {}).get("content", {})
    media = content.get("application/json") or next(iter(content.values()), None)
    if not media:
        return None
    schema = media["schema"]
    described = code_spans(schema.get("description", ""))
    if "properties" in schema:  # an inline object: its fields here, not a link
        return Body(Shape(before="an object with these fields"), described, _fields(schema))
    return Body(shape_of(schema), described, [], rules_of(schema))


def _responses(operation: dict[str, Any]) -> list[tuple[str, str, Shape | None]]:
    rows = []
    for status, answer in sorted(operation.get("responses", {}).items(), key=lambda r: str(r[0])):
        media = answer.get("content", {}).get("application/json")
        rows.append(
            (str(status), answer.get("description", ""), media and shape_of(media["schema"]))
        )
    return rows


def _operation(method: str, path: str, operation: dict[str, Any]) -> Operation:
    parameters = [
        Field(
            p["name"],
            shape_of(p.get("schema", {})),
            p.get("required", False),
            description_of(p, p.get("schema", {})),
            p["in"],
            rules_of(p.get("schema", {})),
        )
        for p in operation.get("parameters", [])
    ]
    return Operation(
        method=method.upper(),
        path=path,
        anchor=operation["operationId"],
        summary=operation.get("summary", ""),
        description=code_spans(operation.get("description", "")),
        parameters=parameters,
        body=_body(operation),
        responses=_responses(operation),
    )


def _common_responses(operations: list[Operation]) -> list[tuple[str, str, Shape | None]]:
    """The answers every operation can give (authentication, throttling, bad input): listed once
    on the page and left out of each operation's own table."""
    if not operations:
        return []
    common = [r for r in operations[0].responses if all(r in op.responses for op in operations)]
    for op in operations:
        op.responses = [r for r in op.responses if r not in common]
    return common


def code_spans(text: str) -> list[tuple[str, bool]]:
    """Markdown's `code` spans, the only markup our descriptions use: (text, is_code) parts."""
    text = " ".join(text.split())  # docstrings wrap at 100 columns; the page wraps itself
    return [(part, i % 2 == 1) for i, part in enumerate(text.split("`")) if part]


def reference(document: dict[str, Any]) -> dict[str, Any]:
    """The page's content: operations grouped by tag in the document's order, then schemas."""
    sections: dict[str, Section] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            tag = (operation.get("tags") or ["Other"])[0]
            sections.setdefault(tag, Section(tag)).operations.append(
                _operation(method, path, operation)
            )
    common = _common_responses([op for section in sections.values() for op in section.operations])
    schemas = [
        (name, code_spans(schema.get("description", "")), _fields(schema))
        for name, schema in document.get("components", {}).get("schemas", {}).items()
    ]
    return {
        "info": document["info"],
        "description": code_spans(document["info"].get("description", "")),
        "sections": list(sections.values()),
        "common": common,
        "schemas": schemas,
    }


class Reference(DocsBase):
    """django-ninja's docs hook: our page in place of Swagger UI's."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        document = api.get_openapi_schema(path_params=kwargs)
        context = reference(document) | {"openapi_url": self.get_openapi_url(api, kwargs)}
        return render(request, "api/reference.html", context)
