"""`export` on Slack over real HTTP: signed slash commands into the real adapter, service and Redis;
the real slack_sdk client uploads through the files v2 flow (getUploadURLExternal, the bytes,
completeUploadExternal) to the fake Web API, which validates every request against the spec.
Privately, the file goes to the asker's direct message with the bot (conversations.open)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.core.dialogue.load import packaged_ui
from bot.store.store import Store
from tests.adapters.slack.test_slack_http import CHANNEL, FACILITATOR, NAMES, USERS, Env, make_env
from tests.fakes.slack_api import TEAM_ID, FakeSlackApi


@pytest.fixture
def env(store: Store) -> Iterator[Env]:
    with FakeSlackApi() as api:
        yield from make_env(api, store)
    assert api.violations == []
    assert api.mentions() == []


def start_and_answer(env: Env, start: str = "start") -> None:
    assert env.slash(FACILITATOR, start) == 200
    env.wait_questions(1)
    for i, user in enumerate(USERS[:3]):
        assert env.slash(user, f"answer {1 + i % 3}") == 200
    key = f"slack:{TEAM_ID}:{CHANNEL}"

    def answered(_: FakeSlackApi) -> bool:
        record = env.store.load_running(key)
        return record is not None and len(record.answers_to(record.meta.state)) == 3

    env.fake.wait_until(answered, 10, poll=0.05)


def uploaded(env: Env, count: int = 1) -> tuple[dict[str, Any], bytes, dict[str, Any]]:
    """The ``count``-th completed upload: its completeUploadExternal call, the bytes, and what Slack shows."""
    done = env.fake.wait_for("files.completeUploadExternal", count, timeout=15)[count - 1]
    [entry] = json.loads(done.params["files"])
    shown = next(f for f in env.fake.completed_files if f["id"] == entry["id"])
    return done.params, env.fake.uploads[entry["id"]], shown


def test_an_export_is_uploaded_to_the_channel(env: Env) -> None:
    start_and_answer(env)
    assert env.slash(USERS[1], "export md") == 200
    params, content, shown = uploaded(env)
    assert params["channel_id"] == CHANNEL and "thread_ts" not in params  # the channel itself
    assert params["initial_comment"].startswith("Social media check — decision record of")
    assert shown["name"].startswith("socialmedia-check-") and shown["name"].endswith(".md")
    assert shown["title"] == params["initial_comment"]
    text = content.decode("utf-8")
    assert text.startswith("# Social media check — decision record\n")
    assert "still running — the summary so far" in text and "fae" in text  # a named check names people
    [asked] = env.fake.calls("files.getUploadURLExternal")
    assert int(asked.params["length"]) == len(content) == shown["size"]
    assert env.fake.calls("conversations.open") == []


def test_a_private_export_goes_to_the_askers_direct_message(env: Env) -> None:
    start_and_answer(env)
    asker = USERS[2]
    assert env.slash(asker, "export csv private") == 200
    params, content, shown = uploaded(env)
    [opened] = env.fake.calls("conversations.open")
    assert opened.params["users"] == asker
    assert params["channel_id"] == env.fake.dms[asker] != CHANNEL and params["channel_id"].startswith("D")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))
    assert len(rows) == 1 + 3  # the header and the three answers so far
    said = env.wait_ephemeral(asker)
    assert any(f"I'm sending {shown['name']} to you privately." in e["text"] for e in said)
    # nothing in the channel: only the check's own header and thread
    assert all("socialmedia-check-" not in m.text for m in env.fake.channel_messages(CHANNEL))


def test_an_anonymous_export_names_nobody(env: Env) -> None:
    start_and_answer(env, "start --anonymous")
    assert env.slash(FACILITATOR, "export json") == 200
    _, content, _ = uploaded(env)
    data = json.loads(content)
    assert data["check"]["anonymous"] is True and data["check"]["facilitator"] is None
    assert [r["label"] for r in data["participants"]["respondents"]] == ["respondent 1", "respondent 2", "respondent 3"]
    text = content.decode("utf-8")
    for identity in (*USERS, *NAMES.values()):
        assert identity not in text, identity


def test_a_failed_upload_is_retried_and_the_html_page_carries_the_chart(env: Env) -> None:
    start_and_answer(env, "start nl")
    env.fake.fail("files.completeUploadExternal", error="internal_error")  # transient: tried again
    assert env.slash(FACILITATOR, "exporteer html") == 200
    params, content, _ = uploaded(env, 1)
    assert len(env.fake.calls("files.completeUploadExternal", include_rejected=True)) >= 2
    html = content.decode("utf-8")
    assert '<html lang="nl">' in html and "data:image/png;base64," in html
    assert params["initial_comment"].startswith("Check: social media — besluitverslag van")


def test_without_im_write_a_private_export_fails_and_the_asker_is_told(env: Env) -> None:
    start_and_answer(env)
    env.fake.scopes.discard("im:write")
    assert env.slash(USERS[1], "export md private") == 200
    failed = packaged_ui()["en"]["delivery_failed"][:40]
    env.fake.wait_until(lambda f: any(failed in e["text"] for e in env.ephemerals_for(USERS[1])))
    [refused] = env.fake.calls("conversations.open", include_rejected=True)
    assert refused.response["error"] == "missing_scope" and refused.response["needed"] == "im:write"
    assert env.fake.calls("files.completeUploadExternal") == []
