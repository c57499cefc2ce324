"""`/schema/openapi.json` documents every body: each request and 2xx response has a named schema
with its fields, so a script (or a newcomer) can read the API from the document alone."""

from __future__ import annotations

from typing import Any

import msgspec

from notifier.api.blocks import AgendaOut

# Downloads: not JSON, so they declare their media type instead of a schema.
DOWNLOADS = {
    ("get", "/api/backup"): "application/zip",
    ("get", "/api/calendar.ics"): "text/calendar; charset=utf-8",
    ("get", "/ca/study-notifier-ca.crt"): "application/x-x509-ca-cert",
}
# Bodies that are not JSON: the .ics upload is the file itself.
UPLOADS = {("post", "/api/import/ics"): "text/calendar"}
# The launcher's sign-in link answers with a redirect (or a page saying what to do instead).
PAGES = {("get", "/login"): "text/html"}
METHODS = ("get", "put", "post", "patch", "delete")


def problems_in(document: dict[str, Any]) -> list[str]:
    """Every operation whose request body or 2xx response is untyped, as `METHOD path: why`."""
    components = document.get("components", {}).get("schemas", {})
    found: list[str] = []

    def resolve(schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        ref = schema.get("$ref")
        if ref is None:
            return None, schema
        name = ref.rsplit("/", 1)[-1]
        return name, components.get(name, {})

    def check(where: str, schema: dict[str, Any] | None, seen: set[str], top: bool) -> None:
        """A body's schema: named at the top (or a list of named ones), objects with their fields."""
        if not schema:
            found.append(f"{where}: no schema")
            return
        if "oneOf" in schema or "anyOf" in schema:
            for part in schema.get("oneOf", schema.get("anyOf")):
                if part.get("type") != "null":
                    check(where, part, seen, top)
            return
        name, body = resolve(schema)
        if body.get("type") == "array":
            check(f"{where}[]", body.get("items"), seen, top)
            return
        if top and name is None:
            found.append(f"{where}: not a named schema")
        if name is not None:
            if name in seen:
                return
            seen = seen | {name}
        if not body:
            found.append(f"{where}: empty schema")
        elif body.get("type") == "object" or "properties" in body:
            properties = body.get("properties")
            values = body.get("additionalProperties")  # a map: its values' schema
            if not properties and not (isinstance(values, dict) and values):
                found.append(f"{where}: an object without properties")
            for field, sub in (properties or {}).items():
                if sub.get("type") == "object" or "$ref" in sub or "oneOf" in sub:
                    check(f"{where}.{field}", sub, seen, top=False)

    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            here = f"{method.upper()} {path}"
            body = operation.get("requestBody")
            if (method, path) in UPLOADS:
                if UPLOADS[method, path] not in (body or {}).get("content", {}):
                    found.append(f"{here}: the upload does not declare {UPLOADS[method, path]}")
            elif body is not None:
                content = body.get("content", {})
                if not content:
                    found.append(f"{here} request: no content")
                for media, spec in content.items():
                    check(f"{here} request ({media})", spec.get("schema"), set(), top=True)
            answers = {c: r for c, r in operation.get("responses", {}).items() if c.startswith("2")}
            if not answers:
                found.append(f"{here}: no 2xx response")
            for code, response in answers.items():
                content = response.get("content", {})
                if code == "204":
                    if content:
                        found.append(f"{here} 204: has content")
                    continue
                declared = DOWNLOADS.get((method, path)) or PAGES.get((method, path))
                if declared is not None:
                    if declared not in content:
                        found.append(f"{here} {code}: does not declare {declared}")
                    continue
                if list(content) != ["application/json"]:
                    found.append(f"{here} {code}: not JSON ({', '.join(content) or 'no content'})")
                for media, spec in content.items():
                    check(f"{here} {code} ({media})", spec.get("schema"), set(), top=True)
    return found


async def test_every_body_in_the_openapi_document_is_typed(api) -> None:
    response = await api.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert problems_in(document) == []
    listed = {(m, p) for p, item in document["paths"].items() for m in item if m in METHODS}
    errors = document["components"]["schemas"]["ErrorOut"]
    assert set(errors["properties"]) == {"error", "detail"}
    documented_400 = [
        (method, path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
        for code, answer in operation["responses"].items()
        if code == "400"
        and answer["content"]["application/json"]["schema"]
        != {"$ref": "#/components/schemas/ErrorOut"}
    ]
    assert documented_400 == []  # the app's error shape, not Litestar's own
    assert set(DOWNLOADS) | set(UPLOADS) | set(PAGES) <= listed  # no stale exception


async def test_the_agenda_answers_what_its_schema_says(api) -> None:
    """The agenda is encoded once and kept as bytes: its documented `AgendaOut` must still fit."""
    block = {"title": "Chemistry", "start": "2026-12-01T18:00", "duration_minutes": 45}
    block["rrule"] = "FREQ=WEEKLY;BYDAY=TU,TH"
    assert (await api.post("/api/blocks", json=block)).status_code == 201
    response = await api.get(
        "/api/agenda", params={"from": "2026-11-30T00:00", "to": "2026-12-14T00:00"}
    )
    agenda = msgspec.json.decode(response.content, type=AgendaOut)  # strict: no unknown fields
    assert len(agenda.occurrences) == 4
    assert msgspec.to_builtins(agenda) == response.json()  # and nothing is left out


def test_the_walk_finds_untyped_bodies() -> None:
    """The checker itself: each kind of untyped body is reported."""
    named = {"$ref": "#/components/schemas/Thing"}
    document = {
        "components": {
            "schemas": {
                "Thing": {"type": "object", "properties": {"a": {"type": "integer"}}},
                "Loose": {"type": "object"},
                "AnyMap": {"type": "object", "additionalProperties": {}},
                "Outer": {"type": "object", "properties": {"inner": {"type": "object"}}},
            }
        },
        "paths": {
            "/ok": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": named}}},
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {"schema": {"type": "array", "items": named}}
                            }
                        }
                    },
                }
            },
            "/dict": {
                "get": {
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"type": "object"}}}}
                    }
                }
            },
            "/empty": {
                "put": {
                    "requestBody": {"content": {"application/json": {"schema": {}}}},
                    "responses": {"204": {}},
                }
            },
            "/loose": {
                "get": {
                    "responses": {
                        "201": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Loose"}
                                }
                            }
                        }
                    }
                }
            },
            "/nested": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Outer"}
                                }
                            }
                        }
                    }
                }
            },
            "/map": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/AnyMap"}
                                }
                            }
                        }
                    }
                }
            },
            "/bytes": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {"application/octet-stream": {"schema": {"type": "string"}}}
                        }
                    }
                }
            },
        },
    }
    assert problems_in(document) == [
        "GET /dict 200 (application/json): not a named schema",
        "GET /dict 200 (application/json): an object without properties",
        "PUT /empty request (application/json): no schema",
        "GET /loose 201 (application/json): an object without properties",
        "GET /nested 200 (application/json).inner: an object without properties",
        "GET /map 200 (application/json): an object without properties",
        "GET /bytes 200: not JSON (application/octet-stream)",
        "GET /bytes 200 (application/octet-stream): not a named schema",
    ]
