"""Slack's Web API spec (OpenAPI 2.0) turned into request validators for the fake Web API.

The spec file is checked with openapi-spec-validator when loaded (after the repairs below); each
method's parameters become a JSON Schema, one for form/query bodies (every value a string, typed
by pattern) and one for JSON bodies (typed values; the parameters Slack documents as JSON-encoded
may also be sent as arrays/objects, as slack_sdk does for ``blocks`` and ``view``), validated with
jsonschema. A method the spec does not have is a violation, never a silent pass.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from openapi_spec_validator import OpenAPIV2SpecValidator

SPEC_ENV = "SLACK_OPENAPI_SPEC"

_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("json-text", raises=ValueError)
def _is_json_text(value: object) -> bool:
    if isinstance(value, str):
        json.loads(value)
    return True


_FORM_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "boolean": {"type": "string", "enum": ["true", "false", "1", "0"]},
    "integer": {"type": "string", "pattern": r"^-?[0-9]+$"},
    "number": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"},
}
_JSON_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
}


def find_spec() -> Path | None:
    """Slack's Web API spec: ``$SLACK_OPENAPI_SPEC``, else the trimmed copy in ``tests/specs``."""
    env = os.environ.get(SPEC_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "specs" / "slack_web_openapi_v2.methods.json"


def _param_schema(param: Mapping[str, Any], *, json_body: bool) -> dict[str, Any]:
    kind = str(param.get("type", "string"))
    json_encoded = kind == "string" and "JSON" in str(param.get("description", ""))
    if json_encoded:
        text = {"type": "string", "format": "json-text"}
        return {"anyOf": [text, {"type": ["array", "object"]}]} if json_body else text
    table = _JSON_TYPES if json_body else _FORM_TYPES
    return dict(table.get(kind, {"type": "string"}))


def _body_schema(params: Iterable[Mapping[str, Any]], *, json_body: bool) -> dict[str, Any]:
    params = [p for p in params if p.get("name") != "token" and p.get("in") != "header"]
    return {
        "type": "object",
        "required": sorted(str(p["name"]) for p in params if p.get("required")),
        "properties": {str(p["name"]): _param_schema(p, json_body=json_body) for p in params},
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class SpecMethod:
    required: frozenset[str]
    known: frozenset[str]
    form: jsonschema.protocols.Validator
    json: jsonschema.protocols.Validator


@dataclass(frozen=True)
class Problem:
    text: str
    rejected: bool  # Slack answers an error; False for what Slack ignores (unknown arguments)


def _repair(node: Any) -> Any:
    """Slack's published spec uses JSON Schema's list form of ``items`` (for "X or null" in response
    schemas), which Swagger 2.0 does not allow; keep the first alternative so the file validates."""
    if isinstance(node, dict):
        out = {k: _repair(v) for k, v in node.items()}
        items = out.get("items")
        if isinstance(items, list) and items:
            out["items"] = items[0]
            out["x-smc-items-alternatives"] = items[1:]
        return out
    if isinstance(node, list):
        return [_repair(v) for v in node]
    return node


_SPEC_CACHE: dict[str, dict[str, SpecMethod]] = {}
_SPEC_LOCK = threading.Lock()


def load_spec(path: Path | None) -> dict[str, SpecMethod]:
    """Per method (``chat.update``): its validators. Raises AssertionError for an invalid spec file."""
    if path is None:
        return {}
    with _SPEC_LOCK:
        key = str(path)
        if key not in _SPEC_CACHE:
            raw = _repair(json.loads(path.read_text(encoding="utf-8")))
            errors = [str(e).splitlines()[0] for e in OpenAPIV2SpecValidator(copy.deepcopy(raw)).iter_errors()]
            if errors:
                raise AssertionError(f"{path} is not a valid OpenAPI 2.0 document: {errors[:5]}")
            methods: dict[str, SpecMethod] = {}
            for route, ops in raw.get("paths", {}).items():
                for op in ops.values():
                    if not isinstance(op, dict):
                        continue
                    params = [p for p in op.get("parameters", []) if p.get("name") != "token"]
                    validators = []
                    for json_body in (False, True):
                        schema = _body_schema(params, json_body=json_body)
                        jsonschema.Draft202012Validator.check_schema(schema)
                        validators.append(jsonschema.Draft202012Validator(schema, format_checker=_FORMATS))
                    methods[route.lstrip("/")] = SpecMethod(
                        required=frozenset(p["name"] for p in params if p.get("required")),
                        known=frozenset(p["name"] for p in params),
                        form=validators[0],
                        json=validators[1],
                    )
            _SPEC_CACHE[key] = methods
        return _SPEC_CACHE[key]


def check_request(
    spec: Mapping[str, SpecMethod], method: str, params: Mapping[str, Any], content_type: str
) -> list[Problem]:
    """What is wrong with a call of ``method`` whose arguments (query + body) are ``params``."""
    found = spec.get(method)
    if found is None:
        return [Problem(f"{method}: not a method of the Slack Web API spec (add it to tests/specs)", True)]
    validator = found.json if content_type.startswith("application/json") else found.form
    instance = {k: v for k, v in params.items() if k != "token"}
    problems: list[Problem] = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        at = ".".join(str(p) for p in error.absolute_path)
        unknown = error.validator == "additionalProperties"
        text = f"{method}: {'parameters not in the spec: ' if unknown else ''}{at + ': ' if at else ''}{error.message}"
        problems.append(Problem(text, rejected=not unknown))
    return problems
