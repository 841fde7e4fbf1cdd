"""Call a WSGI application in-process, the way waitress would, and read back its answer."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any
from wsgiref.util import setup_testing_defaults

from bot.runtime.wsgi import Wsgi


@dataclass
class Reply:
    status_code: int
    headers: dict[str, str]
    data: bytes

    @property
    def is_json(self) -> bool:
        return self.headers.get("content-type", "").startswith("application/json")

    def json(self) -> Any:
        return json.loads(self.data)

    def text(self) -> str:
        return self.data.decode()


def call(app: Wsgi, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Reply:
    path, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method.upper(),
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    setup_testing_defaults(environ)
    started: list[Any] = []

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        started[:] = [int(status.split()[0]), {k.lower(): v for k, v in response_headers}]

    data = b"".join(app(environ, start_response))
    return Reply(started[0], started[1], data)
