"""`export` on Mattermost over real HTTP: slash commands as Mattermost sends them into the real adapter,
service and Redis; the real mattermostdriver client uploads (``POST /files``) and posts the file to a
fake Mattermost that checks every request against the API reference. Privately, the file goes to the
bot's direct message with the asker (``POST /channels/direct``): an ephemeral post cannot carry one."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.core.dialogue.load import packaged_ui
from bot.store.store import Store
from tests.adapters.mattermost.test_mattermost_adapter import CHANNEL, CHANNEL_ID, USERS, Harness, make_harness
from tests.fakes.mattermost_api import FakeMattermost


@pytest.fixture
def mm(store: Store) -> Iterator[Harness]:
    with FakeMattermost() as fake:
        yield from make_harness(fake, store)
    assert fake.violations == [], fake.violations


def start_and_answer(mm: Harness, start: str = "start") -> None:
    assert mm.command(USERS[0], start).status_code == 200
    mm.wait_question(1)
    for i, user in enumerate(USERS[:3]):
        assert mm.command(user, f"answer {1 + i % 2}").status_code == 200
    record = mm.store.load_running(str(CHANNEL))
    assert record is not None and len(record.answers_to(record.meta.state)) == 3


def file_posts(mm: Harness, count: int = 1) -> list[dict[str, Any]]:
    """Posts carrying a file, once ``count`` of them exist."""

    def found(fake: FakeMattermost) -> list[dict[str, Any]] | None:
        with fake._cond:
            posts = [dict(p) for p in fake.posts.values() if p["file_ids"]]
        return posts if len(posts) >= count else None

    posts: list[dict[str, Any]] = mm.fake.wait_for(found, timeout=15)
    return posts


def content_of(mm: Harness, post: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    [file_id] = post["file_ids"]
    stored = mm.fake.files[file_id]
    return stored, stored["content"]


def test_an_export_is_uploaded_and_posted_to_the_channel(mm: Harness) -> None:
    start_and_answer(mm)
    reply = mm.command(USERS[1], "export md")
    assert reply.status_code == 200
    [post] = file_posts(mm)
    stored, content = content_of(mm, post)
    assert post["channel_id"] == stored["channel_id"] == CHANNEL_ID and not post["root_id"]
    assert post["message"].startswith("Social media check — decision record of") and "(Markdown)" in post["message"]
    assert stored["name"].startswith("socialmedia-check-") and stored["name"].endswith(".md")
    assert stored["mime_type"] == "text/markdown"
    text = content.decode("utf-8")
    assert text.startswith("# Social media check — decision record\n") and "Anna" in text
    assert mm.fake.direct_channels == {}


def test_a_private_export_goes_to_the_bots_direct_message_with_the_asker(mm: Harness) -> None:
    start_and_answer(mm)
    asker = USERS[2]
    reply = mm.command(asker, "export csv private")
    assert reply.status_code == 200
    said = json.dumps(reply.json(), ensure_ascii=False)
    [post] = file_posts(mm)
    stored, content = content_of(mm, post)
    assert f"I'm sending {stored['name']} to you privately." in said  # the command's own ephemeral answer
    direct = mm.fake.direct_channels[asker]
    assert direct["type"] == "D" and post["channel_id"] == stored["channel_id"] == direct["id"] != CHANNEL_ID
    [opened] = mm.fake.calls_to("POST", "/api/v4/channels/direct")
    assert sorted(opened.body) == sorted([mm.fake.bot_user_id, asker])
    rows = list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))
    assert [row[4] for row in rows[1:]] == ["Anna", "Bram", "Carla"]
    assert all(not p["file_ids"] for p in mm.fake.channel_posts(CHANNEL_ID))  # nothing in the channel


def test_an_anonymous_export_names_nobody(mm: Harness) -> None:
    start_and_answer(mm, "start --anonymous")
    assert mm.command(USERS[0], "export json").status_code == 200
    [post] = file_posts(mm)
    _, content = content_of(mm, post)
    data = json.loads(content)
    assert data["check"]["anonymous"] is True and data["check"]["facilitator"] is None
    text = content.decode("utf-8")
    for identity in (*USERS, *(u.capitalize() for u in USERS)):
        assert identity not in text, identity


def test_a_dutch_html_export_with_its_chart(mm: Harness) -> None:
    start_and_answer(mm, "start nl")
    assert mm.command(USERS[0], "exporteer html").status_code == 200
    [post] = file_posts(mm)
    stored, content = content_of(mm, post)
    assert stored["mime_type"] == "text/html" and post["message"].startswith("Check: social media — besluitverslag")
    html = content.decode("utf-8")
    assert '<html lang="nl">' in html and "data:image/png;base64," in html


def test_a_refused_upload_is_reported_to_the_asker(mm: Harness) -> None:
    start_and_answer(mm)
    mm.fake.fail_next("POST", r"/api/v4/files", status=413, times=5)
    assert mm.command(USERS[1], "export html").status_code == 200
    mm.idle()
    assert [p for p in mm.fake.posts.values() if p["file_ids"]] == []
    told = [p for p in mm.fake.ephemeral_posts if p["user_id_target"] == USERS[1]]
    assert any(packaged_ui()["en"]["delivery_failed"][:40] in p["message"] for p in told)
