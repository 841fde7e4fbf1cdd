"""The spec checks of the platform fakes check what they claim: the vendored specs are valid OpenAPI
(openapi-spec-validator), request bodies are validated with jsonschema, and a wrong-typed or missing
field and an unknown method are caught, never passed silently."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.runtime.clock import ManualClock
from tests.fakes.mattermost_api import SPEC_DIR, FakeMattermost, SpecChecker, load_document
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_spec import check_request, find_spec, load_spec

# --- the spec files themselves --------------------------------------------------------------


def test_the_vendored_slack_spec_is_valid_openapi_2_and_has_every_method_the_bot_calls() -> None:
    path = find_spec()
    assert path is not None
    spec = load_spec(path)  # runs openapi-spec-validator; raises on an invalid document
    for method in (
        "auth.test",
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "views.open",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
        "apps.connections.open",
    ):
        assert method in spec, method
    assert spec["files.getUploadURLExternal"].required == {"filename", "length"}
    assert spec["files.completeUploadExternal"].required == {"files"}


def test_an_invalid_slack_spec_is_refused(tmp_path: Path) -> None:
    path = find_spec()
    assert path is not None
    raw = json.loads(path.read_text(encoding="utf-8"))
    del raw["paths"]["/chat.update"]["post"]["responses"]  # an operation must have responses
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(AssertionError, match="not a valid OpenAPI 2.0 document"):
        load_spec(broken)


def test_the_vendored_mattermost_spec_assembles_into_valid_openapi_3() -> None:
    doc = load_document(SPEC_DIR)  # runs openapi-spec-validator; raises on an invalid document
    assert "/api/v4/posts" in doc["paths"]
    assert "/api/v4/teams/name/{name}" in doc["paths"]


def test_an_invalid_mattermost_spec_is_refused(tmp_path: Path) -> None:
    for source in SPEC_DIR.glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    teams = tmp_path / "teams.yaml"
    teams.write_text(teams.read_text().replace("in: path", "in: nowhere"))
    with pytest.raises(AssertionError, match="not valid OpenAPI 3.0"):
        load_document(tmp_path)


# --- Slack: request bodies --------------------------------------------------------------------


def test_slack_check_request_types_requires_and_rejects_unknown_methods() -> None:
    path = find_spec()
    spec = load_spec(path)
    form, js = "application/x-www-form-urlencoded", "application/json"
    assert check_request(spec, "files.getUploadURLExternal", {"filename": "c.png", "length": "12"}, form) == []
    [wrong] = check_request(spec, "files.getUploadURLExternal", {"filename": "c.png", "length": "twelve"}, form)
    assert wrong.rejected and "length" in wrong.text
    [missing] = check_request(spec, "files.getUploadURLExternal", {"filename": "c.png"}, form)
    assert missing.rejected and "'length' is a required property" in missing.text
    [not_json] = check_request(spec, "files.completeUploadExternal", {"files": "[{oops"}, form)
    assert not_json.rejected and "json-text" in not_json.text
    [typed] = check_request(spec, "chat.postMessage", {"channel": "C1", "unfurl_links": "no"}, js)
    assert typed.rejected and "unfurl_links" in typed.text
    assert check_request(spec, "chat.postMessage", {"channel": "C1", "blocks": [], "unfurl_links": False}, js) == []
    [unknown] = check_request(spec, "chat.postMessage", {"channel": "C1", "bogus": "1"}, js)
    assert not unknown.rejected and "bogus" in unknown.text, "Slack ignores unknown arguments: recorded only"
    [method] = check_request(spec, "conversations.nonsense", {}, form)
    assert method.rejected and "not a method of the Slack Web API spec" in method.text


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as api:
        yield api


def _client(fake: FakeSlackApi) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.url)


def test_the_slack_fake_rejects_a_method_missing_from_the_spec(slack: FakeSlackApi) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        _client(slack).api_call("conversations.info", params={"channel": "C1"})
    assert excinfo.value.response["error"] == "unknown_method"
    assert any("conversations.info: not a method" in v for v in slack.violations)


def test_the_slack_fake_rejects_a_missing_required_argument(slack: FakeSlackApi) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        _client(slack).api_call("chat.update", json={"channel": "C1", "text": "no ts"})
    assert excinfo.value.response["error"] == "invalid_arguments"
    assert any("'ts' is a required property" in v for v in slack.violations)


def test_the_slack_fake_rejects_a_wrong_typed_argument(slack: FakeSlackApi) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        _client(slack).api_call("files.getUploadURLExternal", params={"filename": "c.png", "length": "big"})
    assert excinfo.value.response["error"] == "invalid_arguments"
    assert any("files.getUploadURLExternal: length" in v for v in slack.violations)


def test_the_slack_fake_accepts_the_sdks_upload_v2(slack: FakeSlackApi) -> None:
    _client(slack).files_upload_v2(channel="C1", file=b"\x89PNG", filename="c.png", title="Chart", alt_txt="a chart")
    assert [c.method for c in slack.calls()] == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    assert slack.violations == []


# --- Mattermost: request bodies -------------------------------------------------------------


def test_mattermost_bodies_are_validated_with_the_specs_schemas() -> None:
    checker = SpecChecker()
    post = "POST /api/v4/posts (CreatePost)"
    assert checker.check("POST", "/api/v4/posts", {"channel_id": "c", "message": "m"}, "application/json") == []
    assert checker.check("POST", "/api/v4/posts", {"channel_id": 7, "message": "m"}, "application/json") == [
        f"{post}: body.channel_id should be string, got int"
    ]
    assert checker.check("POST", "/api/v4/posts", {"message": "m"}, "application/json") == [
        f"{post}: body.channel_id is required"
    ]
    nested = checker.check(
        "POST", "/api/v4/posts/ephemeral", {"user_id": "u", "post": {"channel_id": 1}}, "application/json"
    )
    assert any("body.post.message is required" in p for p in nested), nested
    assert any("body.post.channel_id should be string" in p for p in nested), nested
    assert checker.check("GET", "/api/v4/teams/name/myteam", None, "") == []
    assert checker.check("POST", "/api/v4/nonsense", {}, "application/json") == [
        "POST /api/v4/nonsense: no such operation in the Mattermost API reference"
    ]


def test_the_mattermost_fake_records_wrong_bodies_and_unknown_paths() -> None:
    with FakeMattermost() as server:
        auth = {"Authorization": f"Bearer {server.token}"}
        base = server.url.rstrip("/")
        requests.post(f"{base}/api/v4/posts", json={"channel_id": ["c"], "message": "m"}, headers=auth, timeout=5)
        requests.post(f"{base}/api/v4/no/such/thing", json={}, headers=auth, timeout=5)
    assert any("body.channel_id should be string, got list" in v for v in server.violations), server.violations
    assert any("no such operation" in v for v in server.violations), server.violations


def test_the_slack_fake_ages_trigger_ids_on_its_injected_clock() -> None:
    """No 3-second wait to prove an expired trigger is refused: the fake's clock is moved instead."""
    clock = ManualClock()
    view = {"type": "modal", "title": {"type": "plain_text", "text": "t"}, "blocks": []}
    with FakeSlackApi(clock=clock.now) as fake:
        c = _client(fake)
        fresh = fake.trigger_id()
        assert c.views_open(trigger_id=fresh, view=view)["ok"]
        stale = fake.trigger_id()
        clock.advance(3.5)
        with pytest.raises(SlackApiError) as excinfo:
            c.views_open(trigger_id=stale, view=view)
        assert excinfo.value.response["error"] == "expired_trigger_id"
        assert fake.violations == []
