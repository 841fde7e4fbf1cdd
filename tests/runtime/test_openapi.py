"""The published OpenAPI description (bot/runtime/openapi.yaml) is valid and matches the served routes."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from bot.adapters.mattermost.routes import build_mattermost_adapter
from bot.adapters.slack.app import build_slack_adapter
from bot.app import build_service
from bot.config import load_settings
from bot.runtime.web import create_web_app
from bot.store.store import Store
from tests.fakes.mattermost_api import FakeMattermost
from tests.fakes.slack_api import FakeSlackApi
from tests.runtime.wsgi_client import call

METHODS = {"get", "put", "post", "delete", "patch"}


def spec() -> dict[str, Any]:
    text = (files("bot.runtime") / "openapi.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def test_the_description_is_valid_openapi_3_1() -> None:
    document = spec()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on any error


def test_the_description_lists_exactly_the_routes_the_app_serves(store: Store) -> None:
    with FakeSlackApi() as slack, FakeMattermost() as mattermost:
        settings = load_settings(
            {
                "SLACK_BOT_TOKEN": "xoxb-test-token",
                "SLACK_SIGNING_SECRET": "openapi-test-secret-0123456789",
                "SLACK_API_URL": slack.url,
                "MATTERMOST_URL": mattermost.url,
                "MATTERMOST_BOT_TOKEN": mattermost.token,
                "MATTERMOST_COMMAND_TOKEN": "openapicommandtoken",
                "SMC_SECRET": "openapi-secret-for-mattermost-0123456789",
                "SMC_PUBLIC_URL": "http://127.0.0.1:9",
            }
        )
        service = build_service(settings, store)
        slack_adapter = build_slack_adapter(settings, service, store)
        mm_adapter = build_mattermost_adapter(settings, service, store)
        try:
            app = create_web_app([*slack_adapter.routes(), *mm_adapter.routes()], ready=lambda: True)
            served = {
                (path, method.lower())
                for path, methods in app.routes.items()
                for method in methods
                if method.lower() in METHODS
            }
            described = {
                (path, method) for path, item in spec()["paths"].items() for method in item if method in METHODS
            }
            assert served == described

            for path, method in sorted(described):  # every documented status of an empty call is documented
                reply = call(app, method, path)
                responses = spec()["paths"][path][method]["responses"]
                assert str(reply.status_code) in responses or "default" in responses, (path, reply.status_code)
                assert reply.is_json or reply.status_code == 200, (path, reply.data[:200])
            missing = call(app, "GET", "/no/such/route")
            assert missing.status_code == 404 and json.loads(missing.data)["status"] == 404
        finally:
            slack_adapter.close()
            mm_adapter.close()


@pytest.mark.parametrize("method", ["put", "delete"])
def test_wrong_methods_answer_json_405(method: str) -> None:
    app = create_web_app([], ready=lambda: True)
    reply = call(app, method, "/healthz")
    assert reply.status_code == 405 and reply.is_json and "<html" not in reply.text().lower()
    assert reply.headers["allow"] == "GET, HEAD, OPTIONS"
