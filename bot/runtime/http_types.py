"""Neutral HTTP values: adapters expose routes with these; bot.runtime.web serves them (bot.runtime.wsgi routes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    body: bytes
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: object) -> HttpResponse:
        import json

        return cls(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})


Handler = Callable[[HttpRequest], HttpResponse]


@dataclass(frozen=True)
class Route:
    path: str
    methods: tuple[str, ...]
    handler: Handler
