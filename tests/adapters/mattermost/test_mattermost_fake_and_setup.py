"""The fake Mattermost answers like the real one (and checks requests against the API reference);
``mattermost-setup`` creates or updates the slash command through it; the REST client retries 429."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from bot.adapters.mattermost.api import MattermostApi, driver_options
from bot.adapters.mattermost.setup import TRIGGER, setup_command
from bot.config import load_settings
from bot.errors import ConfigError, PlatformError
from tests.fakes.mattermost_api import FakeMattermost, SpecChecker


@pytest.fixture
def fake() -> Iterator[FakeMattermost]:
    with FakeMattermost() as server:
        yield server
    assert server.violations == []


def api_for(fake: FakeMattermost, **kw: object) -> MattermostApi:
    return MattermostApi(fake.url, fake.token, **kw)  # type: ignore[arg-type]


# --- URL splitting --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://chat.example.com", ("https", "chat.example.com", 443, "/api/v4")),
        ("http://localhost:8065", ("http", "localhost", 8065, "/api/v4")),
        ("https://example.com/mattermost/", ("https", "example.com", 443, "/mattermost/api/v4")),
        ("http://[::1]:8065/mm", ("http", "[::1]", 8065, "/mm/api/v4")),
    ],
)
def test_driver_options(url: str, expected: tuple[str, str, int, str]) -> None:
    opts = driver_options(url, "tok")
    assert (opts["scheme"], opts["url"], opts["port"], opts["basepath"]) == expected
    assert isinstance(opts["port"], int)


def test_driver_options_refuses_garbage() -> None:
    with pytest.raises(ConfigError, match="MATTERMOST_URL"):
        driver_options("chat.example.com", "tok")


# --- the fake itself ------------------------------------------------------------------------


def test_fake_speaks_like_mattermost(fake: FakeMattermost) -> None:
    base = fake.url + "/api/v4"
    auth = {"Authorization": f"Bearer {fake.token}"}
    r = requests.get(base + "/users/me", headers=auth, timeout=5)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    r = requests.get(base + "/users/me", headers={"Authorization": "Bearer wrong"}, timeout=5)
    assert r.status_code == 401 and set(r.json()) == {
        "id",
        "message",
        "request_id",
        "status_code",
        "is_oauth",
    }
    r = requests.post(base + "/posts", json={"channel_id": "c", "message": "m"}, headers=auth, timeout=5)
    assert r.status_code == 201
    fake.rate_limit_next("POST", "/api/v4/posts")
    r = requests.post(base + "/posts", json={"channel_id": "c", "message": "m"}, headers=auth, timeout=5)
    assert r.status_code == 429 and r.text.strip() == "limit exceeded"
    assert r.headers["X-Ratelimit-Reset"] == "1" and r.headers["X-Ratelimit-Remaining"] == "0"
    r = requests.post(
        base + "/actions/dialogs/open",
        json={"trigger_id": "forged", "url": "u", "dialog": {"title": "t", "elements": []}},
        headers=auth,
        timeout=5,
    )
    assert r.status_code == 400


def test_fake_applies_an_integrations_answer_to_a_click_as_the_server_does(fake: FakeMattermost) -> None:
    post = api_for(fake).create_post({"channel_id": "c", "message": "old", "props": {"attachments": [{"text": "a"}]}})
    with fake._cond:
        fake.posts[post["id"]]["props"]["from_webhook"] = "true"  # the server's own: it stays
        fake.posts[post["id"]]["is_pinned"] = True
    fake.integration_answered(post["id"], "u1", {"update": {"message": "new", "props": {"attachments": []}}})
    updated = fake.posts[post["id"]]
    assert updated["message"] == "new" and updated["props"] == {"attachments": [], "from_webhook": "true"}
    assert updated["is_pinned"] and updated["edit_at"] > 0
    fake.integration_answered(post["id"], "u1", {"update": {"message": "props null: kept"}})
    assert fake.posts[post["id"]]["props"] == {"attachments": [], "from_webhook": "true"}
    fake.integration_answered(post["id"], "u2", {"ephemeral_text": "only for u2"})
    assert fake.action_updates == [post["id"], post["id"]] and fake.posts[post["id"]]["message"] == "props null: kept"
    (shown,) = fake.action_ephemerals
    assert shown["user_id_target"] == "u2" and shown["root_id"] == post["id"] and shown["message"] == "only for u2"
    # and the update is held to the body the server turns it into (PUT /posts/{post_id})
    fake.integration_answered(post["id"], "u1", {"update": {"message": 5}})
    assert any("UpdatePost" in v and "body.message" in v for v in fake.violations)
    fake.violations.clear()


def test_fake_records_spec_violations() -> None:
    with FakeMattermost() as server:
        api = api_for(server)
        api.create_post({"channel_id": "c", "message": "ok"})
        with pytest.raises(PlatformError):
            api.create_post({"message": "no channel"})
        api.ephemeral_post("u1", {"channel_id": "c"})  # message missing
        server.wait_for_calls("POST", "/api/v4/posts/ephemeral")
    assert any("body.channel_id is required" in v for v in server.violations)
    assert any("body.post.message is required" in v for v in server.violations)


def test_spec_checker_knows_the_operations() -> None:
    checker = SpecChecker()
    assert checker.check(
        "POST", "/api/v4/commands", {"team_id": "t", "trigger": "x", "url": "u"}, "application/json"
    ) == ["POST /api/v4/commands (CreateCommand): body.method is required"]
    assert checker.check("PUT", "/api/v4/posts/abc", {"message": "m"}, "application/json") == [
        "PUT /api/v4/posts/{post_id} (UpdatePost): body.id is required"
    ]
    # props is an object on the wire, whatever the obsolete reference says
    assert checker.check("PUT", "/api/v4/posts/abc/patch", {"props": {"attachments": []}}, "application/json") == []
    assert checker.check("PUT", "/api/v4/posts/abc/patch", {"file_ids": "x"}, "application/json") == [
        "PUT /api/v4/posts/{post_id}/patch (PatchPost): body.file_ids should be array, got str"
    ]
    assert checker.check("POST", "/api/v4/nonsense", {}, "application/json")


# --- REST client: retries -------------------------------------------------------------------


def test_429_is_retried_after_the_reset(fake: FakeMattermost) -> None:
    waits: list[float] = []
    api = api_for(fake, sleep=waits.append)
    fake.rate_limit_next("POST", "/api/v4/posts", reset=3, times=2)
    post = api.create_post({"channel_id": "c", "message": "hello"})
    assert post["message"] == "hello"
    assert waits == [3.0, 3.0]
    assert [c.status for c in fake.calls_to("POST", "/api/v4/posts")] == [429, 429, 201]


def test_429_gives_up_after_a_bounded_number_of_attempts(fake: FakeMattermost) -> None:
    api = api_for(fake, sleep=lambda s: None, max_attempts=3)
    fake.rate_limit_next("POST", "/api/v4/posts", times=10)
    with pytest.raises(PlatformError, match="429"):
        api.create_post({"channel_id": "c", "message": "hello"})
    assert len(fake.calls_to("POST", "/api/v4/posts")) == 3


def test_the_retry_is_sent_only_once_the_reset_wait_is_over(fake: FakeMattermost) -> None:
    """The wait is held on an event, not slept: while it lasts, Mattermost has seen the 429 only."""
    asked: list[float] = []
    waiting, release = threading.Event(), threading.Event()

    def sleep(seconds: float) -> None:
        asked.append(seconds)
        waiting.set()
        release.wait(10)

    api = api_for(fake, sleep=sleep)
    fake.rate_limit_next("POST", "/api/v4/posts", reset=1)
    with ThreadPoolExecutor(max_workers=1) as pool:
        posted = pool.submit(api.create_post, {"channel_id": "c", "message": "x"})
        assert waiting.wait(10)
        assert asked == [1.0]
        assert [c.status for c in fake.calls_to("POST", "/api/v4/posts")] == [429]
        assert not posted.done()
        release.set()
        assert posted.result(10)["message"] == "x"
    assert [c.status for c in fake.calls_to("POST", "/api/v4/posts")] == [429, 201]


def test_errors_become_platform_errors(fake: FakeMattermost) -> None:
    api = api_for(fake)
    with pytest.raises(PlatformError, match="404"):
        api.patch_post("missing", {"message": "x"})
    with pytest.raises(ConfigError, match="MATTERMOST_BOT_TOKEN"):
        MattermostApi(fake.url, "wrong-token").login()
    assert api.login()["id"] == fake.bot_user_id


# --- mattermost-setup -----------------------------------------------------------------------


def settings_for(fake: FakeMattermost, **extra: str):  # type: ignore[no-untyped-def]
    env = {
        "MATTERMOST_URL": fake.url,
        "MATTERMOST_BOT_TOKEN": fake.token,
        "SMC_PUBLIC_URL": "https://bot.example.com/",
    }
    env.update(extra)
    return load_settings(env)


def test_setup_creates_the_command(fake: FakeMattermost) -> None:
    printed: list[str] = []
    report = setup_command(settings_for(fake), "myteam", echo=printed.append)
    (command,) = fake.commands.values()
    assert command["trigger"] == TRIGGER and command["method"] == "P" and command["team_id"] == "team1"
    assert command["url"] == "https://bot.example.com/mattermost/command"
    assert f"MATTERMOST_COMMAND_TOKEN={command['token']}" in report and printed == [report]
    (listing,) = fake.calls_to("GET", "/api/v4/commands")
    assert listing.query == {"team_id": "team1", "custom_only": "true"}
    assert fake.calls_to("POST", "/api/v4/commands")


def test_setup_updates_an_existing_command(fake: FakeMattermost) -> None:
    old = fake.add_command("team1", TRIGGER, "http://old.example.com/cmd")
    report = setup_command(
        settings_for(fake, MATTERMOST_COMMAND_TOKEN="othertoken"),
        "myteam",
        command_url="https://new.example.com/mattermost/command",
    )
    assert fake.commands[old["id"]]["url"] == "https://new.example.com/mattermost/command"
    assert not fake.calls_to("POST", "/api/v4/commands")
    (put,) = fake.calls_to("PUT", r"/api/v4/commands/.+")
    assert put.body["id"] == old["id"] and put.body["method"] == "P"
    assert f"MATTERMOST_COMMAND_TOKEN=othertoken,{old['token']}" in report
    assert report.startswith("Updated")


def test_setup_unknown_team(fake: FakeMattermost) -> None:
    with pytest.raises(ConfigError, match="nosuchteam"):
        setup_command(settings_for(fake), "nosuchteam")


def test_setup_needs_a_public_url(fake: FakeMattermost) -> None:
    settings = load_settings({"MATTERMOST_URL": fake.url, "MATTERMOST_BOT_TOKEN": fake.token})
    with pytest.raises(ConfigError, match="SMC_PUBLIC_URL"):
        setup_command(settings, "myteam")


def test_the_curl_setup_script_does_the_same(fake: FakeMattermost) -> None:
    missing = [tool for tool in ("jq", "curl") if not shutil.which(tool)]
    if missing:  # `make test` installs them (scripts/ensure-system-deps.sh)
        pytest.fail(f"this test needs {' and '.join(missing)}: apt-get install -y jq curl", pytrace=False)
    script = Path(__file__).resolve().parents[3] / "deploy" / "mattermost" / "mattermost-setup.sh"
    env = dict(os.environ, MATTERMOST_URL=fake.url, TOKEN=fake.token, SMC_PUBLIC_URL="https://bot.example.com")
    outputs = [
        subprocess.run(["sh", str(script), "myteam"], env=env, capture_output=True, text=True, timeout=30)
        for _ in range(2)
    ]
    assert [o.returncode for o in outputs] == [0, 0], [o.stderr for o in outputs]
    (command,) = fake.commands.values()
    assert command["url"] == "https://bot.example.com/mattermost/command" and command["method"] == "P"
    assert outputs[0].stdout.startswith("Created") and outputs[1].stdout.startswith("Updated")
    assert f"MATTERMOST_COMMAND_TOKEN={command['token']}" in outputs[1].stdout
