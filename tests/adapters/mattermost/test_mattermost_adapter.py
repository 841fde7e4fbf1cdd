"""The Mattermost adapter end to end, at the HTTP boundary on both sides.

Requests go over real HTTP into the real server (bot.runtime.web and .wsgi) shaped exactly as
Mattermost sends them (PLATFORMS.md M1 slash command, M2 button click, M3 dialog submission); the
adapter talks to a fake Mattermost (tests/fakes/mattermost_api.py) that records every call and checks
it against the API reference. The engine and the Redis store are the real ones. No sleeps: waits are
Conditions with timeouts.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from bot.adapters.mattermost import render
from bot.adapters.mattermost.api import MattermostApi
from bot.adapters.mattermost.routes import DOUBLE_CLICK_SECONDS, MattermostAdapter, build_mattermost_adapter
from bot.adapters.mattermost.signing import ContextSigner
from bot.app import build_service
from bot.config import Settings, load_settings
from bot.core.dialogue.load import load_dialogue
from bot.core.messages import ChannelKey
from bot.errors import ConfigError
from bot.runtime.clock import ManualClock
from bot.runtime.web import ServerHandle, create_web_app
from bot.service import CheckService
from bot.store.store import Store
from tests.conftest import LateServer
from tests.fakes.mattermost_api import FakeMattermost, post_action

DIALOGUE = load_dialogue()
TEAM, CHANNEL_ID = "team1", "chan1"
CHANNEL = ChannelKey("mattermost", TEAM, CHANNEL_ID)
COMMAND_TOKENS = ("cmdtokenteamone", "cmdtokenteamtwo")
SECRET = "test-secret-for-mattermost-0123456789"
USERS = ("anna", "bram", "carla", "dirk", "eva")
CLOCK_START = 1_700_000_000.0  # epoch seconds, as time.time() gives the adapter in production


@dataclass
class Harness:
    fake: FakeMattermost
    settings: Settings
    service: CheckService
    store: Store
    adapter: MattermostAdapter
    server: ServerHandle
    clock: ManualClock  # the adapter's clock: the double-click guard's time, moved by hand
    session: requests.Session = field(default_factory=requests.Session)

    # --- requests as Mattermost sends them ---------------------------------------------------

    def command(
        self,
        user: str,
        text: str,
        token: str = COMMAND_TOKENS[0],
        header: bool = True,
        channel: str = CHANNEL_ID,
        trigger: str | None = None,
    ) -> requests.Response:
        form = {
            "channel_id": channel,
            "channel_name": "town-square",
            "command": "/socialmedia-check",
            "response_url": f"{self.fake.url}/hooks/commands/abc",
            "team_domain": "myteam",
            "team_id": TEAM,
            "text": text,
            "token": token,
            "trigger_id": trigger or self.fake.new_trigger_id(user),
            "user_id": user,
            "user_name": user.capitalize(),
        }
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "Mattermost-Bot/1.1",
        }
        if header:
            headers["Authorization"] = f"Token {token}"
        return self.session.post(
            self.server.url + "/mattermost/command", data=urlencode(form), headers=headers, timeout=10
        )

    def click_payload(self, user: str, post: dict[str, Any], action_id: str) -> tuple[str, dict[str, Any]]:
        action = find_action(post, action_id)
        payload = {
            "user_id": user,
            "user_name": user.capitalize(),
            "channel_id": post["channel_id"],
            "channel_name": "town-square",
            "team_id": TEAM,
            "team_domain": "myteam",
            "post_id": post["id"],
            "trigger_id": self.fake.new_trigger_id(user),
            "type": "button",
            "data_source": "",
            "context": action["integration"]["context"],
        }
        return action["integration"]["url"], payload

    def post_json(self, url: str, payload: dict[str, Any]) -> requests.Response:
        """A click or a dialog's submission, as the server sends it and applies the answer."""
        return post_action(self.session, self.fake, url, payload)

    def click(self, user: str, post: dict[str, Any], action_id: str) -> requests.Response:
        url, payload = self.click_payload(user, post, action_id)
        return self.post_json(url, payload)

    def type_answer(self, user: str, post: dict[str, Any], text: str, action_id: str = "answer") -> requests.Response:
        url, payload = self.click_payload(user, post, action_id)
        reply = self.post_json(url, payload)
        assert reply.status_code == 200 and reply.json() == {}, reply.text
        opened = self.fake.wait_for(
            lambda f: next((d for d in f.dialogs if d["trigger_id"] == payload["trigger_id"]), None)
        )
        submission = {
            "type": "dialog_submission",
            "callback_id": opened["dialog"]["callback_id"],
            "state": opened["dialog"]["state"],
            "user_id": user,
            "channel_id": post["channel_id"],
            "team_id": TEAM,
            "submission": {"text": text},
            "cancelled": False,
        }
        return self.post_json(opened["url"], submission)

    # --- reading what the fake received ------------------------------------------------------

    def header(self) -> dict[str, Any]:
        return self.fake.wait_for(
            lambda f: next(
                (p for p in f.channel_posts(CHANNEL_ID, root_only=True) if p["message"].startswith("### ")),
                None,
            )
        )

    def question_posts(self) -> list[dict[str, Any]]:
        return [p for p in self.fake.channel_posts(CHANNEL_ID) if p["root_id"] and is_question(p)]

    def wait_question(self, count: int) -> dict[str, Any]:
        """The ``count``-th question post (1-based), once it exists."""
        posts = self.fake.wait_for(lambda f: (qs := self.question_posts()) and len(qs) >= count and qs)
        return self.fresh(posts[count - 1])  # a snapshot: the fake keeps editing its own copy

    def fresh(self, post: dict[str, Any]) -> dict[str, Any]:
        with self.fake._cond:
            return json.loads(json.dumps(self.fake.posts[post["id"]]))

    def idle(self) -> None:
        assert self.adapter.wait_idle(20), "the adapter did not settle"


def edits(mm: Harness, post: dict[str, Any]) -> int:
    """How often the post was edited: by the bot's REST calls, and from its answers to clicks."""
    return len(mm.fake.calls_to("PUT", f"/api/v4/posts/{post['id']}/patch")) + mm.fake.action_updates.count(post["id"])


def is_question(post: dict[str, Any]) -> bool:
    attachments = (post.get("props") or {}).get("attachments") or []
    return bool(attachments) and "title" in attachments[0] and post["message"].startswith("**")


def find_action(post: dict[str, Any], action_id: str) -> dict[str, Any]:
    for attachment in (post.get("props") or {}).get("attachments") or []:
        for action in attachment.get("actions") or []:
            if action["id"] == action_id:
                return action  # type: ignore[no-any-return]
    raise AssertionError(f"no action {action_id!r} in post {post['id']}")


def question_id(post: dict[str, Any]) -> str:
    context = find_action(post, "next")["integration"]["context"]
    return str(context["q"])


def all_request_text(fake: FakeMattermost) -> str:
    """Everything the bot sent Mattermost: its REST calls, and its answers to clicks."""
    sent = [c.body for c in fake.calls if c.body is not None] + list(fake.action_answers)
    return "\n".join(json.dumps(body, ensure_ascii=False) for body in sent)


@pytest.fixture
def fake() -> Iterator[FakeMattermost]:
    with FakeMattermost() as server:
        yield server
    assert server.violations == [], server.violations


def make_harness(
    fake: FakeMattermost,
    store: Store,
    window: float = 1.0,
    sleep: Callable[[float], None] | None = None,
    **env: str,
) -> Iterator[Harness]:
    """The adapter behind the real web server, its double-click guard on a hand-moved clock.
    ``sleep``: what the REST client waits out 429s with (default: real time)."""
    bound = LateServer()  # bound first: buttons call back to SMC_PUBLIC_URL, the server's own URL
    try:
        values = {
            "MATTERMOST_URL": fake.url,
            "MATTERMOST_BOT_TOKEN": fake.token,
            "MATTERMOST_COMMAND_TOKEN": ",".join(COMMAND_TOKENS),
            "SMC_SECRET": SECRET,
            "SMC_PUBLIC_URL": bound.url,
        }
        values.update(env)
        settings = load_settings(values)
        service = build_service(settings, store)
        clock = ManualClock(start=CLOCK_START)
        assert settings.mattermost_url and settings.mattermost_bot_token
        api = MattermostApi(settings.mattermost_url, settings.mattermost_bot_token, sleep=sleep)
        adapter = build_mattermost_adapter(settings, service, store, api=api, coalesce_window=window, clock=clock.now)
    except BaseException:
        bound.discard()
        raise
    server = bound.serve(create_web_app(adapter.routes(), store.ping))
    harness = Harness(fake, settings, service, store, adapter, server, clock)
    try:
        yield harness
    finally:
        adapter.wait_idle(20)
        harness.session.close()  # waitress keeps serving while a keep-alive connection is open
        server.stop()
        adapter.close()


@pytest.fixture
def mm(fake: FakeMattermost, store: Store) -> Iterator[Harness]:
    yield from make_harness(fake, store)


@pytest.fixture
def mm_fast(fake: FakeMattermost, store: Store) -> Iterator[Harness]:
    yield from make_harness(fake, store, window=0.2)


# --------------------------------------------------------------------------------------------
# A whole check, five people
# --------------------------------------------------------------------------------------------


def choices_for(qid: str, kind: str, i: int) -> tuple[int, ...]:
    question = DIALOGUE.question(qid)
    values = [o.value for o in question.options]
    if qid == "leaning":
        return (values.index("try") + 1,)
    if question.is_decision:
        return (values.index("pilot") + 1,)
    if kind == "scale":
        return ((3, 1, 2, 3, 2)[i],)
    if kind == "single":
        return (1,)
    return ((1, 2), (2,), (2, 3), (1,), (2,))[i]


def test_a_whole_check_with_five_people(mm_fast: Harness) -> None:
    mm = mm_fast
    reply = mm.command("anna", "start en")
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "application/json"
    header = mm.header()
    expected: dict[str, dict[str, Any]] = {}  # question id -> user -> what they answered
    number = 1
    while True:
        post = mm.wait_question(number)
        assert post["root_id"] == header["id"], "questions live in the check's thread"
        qid = question_id(post)
        kind = DIALOGUE.question(qid).kind
        expected[qid] = {}
        errors: list[str] = []

        def answer(
            i: int,
            user: str,
            post: dict[str, Any] = post,
            qid: str = qid,
            kind: str = kind,
            errors: list[str] = errors,
        ) -> None:
            try:
                if kind in ("text", "date"):
                    if kind == "date" and i:
                        return
                    text = "in 18 months" if kind == "date" else f"{qid} by {user}"
                    reply = mm.type_answer(user, post, text)
                    assert reply.status_code == 200 and reply.json() == {}, reply.text
                    expected[qid][user] = text
                    return
                chosen = choices_for(qid, kind, i)
                for option in chosen:
                    reply = mm.click(user, post, f"opt{option}")
                    assert reply.status_code == 200, reply.text
                    assert "ephemeral_text" not in reply.json(), reply.text
                expected[qid][user] = chosen
            except AssertionError as exc:  # surfaced in the main thread
                errors.append(f"{user}: {exc}")

        threads = [threading.Thread(target=answer, args=(i, u)) for i, u in enumerate(USERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors
        reply = mm.click("anna", post, "next")
        assert reply.status_code == 200 and "ephemeral_text" not in reply.json(), reply.text
        mm.idle()
        closed = mm.fresh(post)
        assert not any(a.get("actions") for a in closed["props"]["attachments"]), "a closed question loses its buttons"
        if any("— Summary" in p["message"] for p in mm.fake.channel_posts(CHANNEL_ID, root_only=True)):
            break
        number += 1
        assert number < 60, "the check never ended"

    mm.idle()
    summary = next(p for p in mm.fake.channel_posts(CHANNEL_ID, root_only=True) if "— Summary" in p["message"])
    assert summary["root_id"] == "", "the summary goes to the channel itself"
    assert len(summary["file_ids"]) == 1 and summary["file_ids"][0] in mm.fake.files
    upload = mm.fake.calls_to("POST", "/api/v4/files")[0]
    assert upload.form["channel_id"] == CHANNEL_ID and upload.form["files"]["content"].startswith(b"\x89PNG")
    message = summary["message"]
    # every answer is in the channel summary exactly once
    sections = re.split(r"\n(?=\*\*\d+\. )", message)
    for qid, answers in expected.items():
        if not answers:
            continue
        text = DIALOGUE.text("en", qid).text
        section = next(s for s in sections if s.startswith("**") and text[:40] in s)
        for user, given in answers.items():
            name = user.capitalize()
            if isinstance(given, str):
                line = f"- {name}: {given}" if DIALOGUE.question(qid).kind == "text" else None
                if line:
                    assert section.count(line) == 1, (qid, line)
                else:  # a date is shown formatted
                    assert section.count(f"- {name}: ") == 1, (qid, section)
            else:
                voter_lines = [ln for ln in section.splitlines() if ln.startswith("- ") and " — " in ln]
                mentions = sum(ln.split(" — ", 1)[1].split(", ").count(name) for ln in voter_lines)
                assert mentions == len(given), (qid, name, section)
    assert "**Decision:** Pilot" in message
    people = re.search(r"\*\*Participants:\*\* (.*)", message).group(1)  # type: ignore[union-attr]
    assert sorted(people.split(", ")) == ["Anna", "Bram", "Carla", "Dirk", "Eva"]
    # the header says finished
    final_header = mm.fresh(header)
    assert final_header["props"]["attachments"][0]["color"] == render.COLOURS["finished"]
    # progress: question n (and its phase), counting up
    numbers = [int(re.search(r"Question (\d+) · ", p["message"]).group(1)) for p in mm.question_posts()]  # type: ignore[union-attr]
    assert numbers == list(range(1, len(numbers) + 1))
    # thread notices (start, closed reports) are in the thread
    thread = [p for p in mm.fake.channel_posts(CHANNEL_ID) if p["root_id"] == header["id"] and not is_question(p)]
    assert any("started a check" in p["message"] for p in thread)
    assert sum("closed" in p["message"] for p in thread) >= len(numbers)
    # nothing the fake received could notify anyone
    assert not re.search(r"@(channel|all|here)\b", all_request_text(mm.fake))


# --------------------------------------------------------------------------------------------
# The slash command
# --------------------------------------------------------------------------------------------


def test_wrong_command_token_is_refused_and_records_nothing(mm: Harness) -> None:
    calls_before = len(mm.fake.calls)
    reply = mm.command("anna", "start", token="wrong")
    assert reply.status_code == 401 and reply.headers["Content-Type"] == "application/json"
    assert "error" in reply.json()
    reply = mm.command("anna", "start", token="", header=False)
    assert reply.status_code == 401
    assert mm.service.current(CHANNEL) is None
    mm.idle()
    assert len(mm.fake.calls) == calls_before


def test_any_configured_token_works_in_the_field_or_the_header(mm: Harness) -> None:
    reply = mm.command("anna", "help", token=COMMAND_TOKENS[1], header=False)
    assert reply.status_code == 200 and "/socialmedia-check" in reply.json()["text"]
    form_wrong_header_right = mm.session.post(
        mm.server.url + "/mattermost/command",
        data=urlencode({"team_id": TEAM, "channel_id": CHANNEL_ID, "user_id": "anna", "text": "help", "token": ""}),
        headers={
            "Authorization": f"Bearer {COMMAND_TOKENS[0]}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        timeout=10,
    )
    assert form_wrong_header_right.status_code == 200


def test_command_answers_at_once_and_posts_the_thread(mm: Harness) -> None:
    reply = mm.command("anna", "start")
    body = reply.json()
    assert body["response_type"] == "ephemeral" and body["skip_slack_parsing"] is True
    header = mm.header()
    first = mm.wait_question(1)
    assert first["root_id"] == header["id"]
    assert "**Question 1 · Our situation (phase 1 of 5)**" in first["message"]
    started = [p for p in mm.fake.channel_posts(CHANNEL_ID) if p["root_id"] == header["id"] and not is_question(p)]
    assert started and "Anna started a check" in started[0]["message"]
    # ordered: header, then the notice, then the question
    creates = [c for c in mm.fake.calls_to("POST", "/api/v4/posts")]
    assert creates[0].body["message"].startswith("### ") and is_question({**creates[-1].body, "root_id": "x"})


def test_private_replies_come_back_in_the_command_response(mm: Harness) -> None:
    assert "No check is running" in mm.command("bram", "next").json()["text"]
    mm.command("anna", "start")
    mm.wait_question(1)
    summary = mm.command("bram", "summary").json()["text"]
    assert "Summary so far" in summary and "Where we stand per theme" in summary
    assert "don't know the command" in mm.command("bram", "dance @channel").json()["text"]
    mm.idle()
    assert not mm.fake.calls_to("POST", "/api/v4/posts/ephemeral"), "inline replies need no extra permission"


def test_a_failing_service_gives_a_polite_line(mm: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> list[object]:
        raise RuntimeError("a bug: Traceback (most recent call last)")

    monkeypatch.setattr(mm.service, "handle_command", broken)
    monkeypatch.setattr(mm.service, "handle", broken)
    reply = mm.command("anna", "start")
    assert reply.status_code == 200 and "Something went wrong on our side" in reply.json()["text"]
    signer = ContextSigner(SECRET)
    context = signer.sign(a="next", s="s1", q="strategy", c=CHANNEL_ID, t=TEAM)
    payload = {
        "user_id": "anna",
        "channel_id": CHANNEL_ID,
        "team_id": TEAM,
        "post_id": "p",
        "trigger_id": "t1",
        "type": "button",
        "context": context,
    }
    reply = mm.post_json(mm.adapter.action_url, payload)
    assert reply.status_code == 200 and "Something went wrong" in reply.json()["ephemeral_text"]


def test_a_repeated_command_delivery_runs_once(mm: Harness) -> None:
    trigger = mm.fake.new_trigger_id("anna")
    assert mm.command("anna", "start", trigger=trigger).status_code == 200
    assert mm.command("anna", "start", trigger=trigger).status_code == 200
    mm.header()
    mm.idle()
    assert len([c for c in mm.fake.calls_to("POST", "/api/v4/posts") if c.body["message"].startswith("### ")]) == 1


def test_restart_needs_the_confirm_button(mm: Harness) -> None:
    mm.command("anna", "start")
    mm.wait_question(1)
    reply = mm.command("anna", "start").json()
    (attachment,) = reply["attachments"]
    button = attachment["actions"][0]
    assert button["style"] == "danger"
    payload = {
        "user_id": "anna",
        "user_name": "Anna",
        "channel_id": CHANNEL_ID,
        "team_id": TEAM,
        "post_id": "ephemeralpost",
        "trigger_id": mm.fake.new_trigger_id("anna"),
        "type": "button",
        "context": button["integration"]["context"],
    }
    assert mm.post_json(button["integration"]["url"], payload).status_code == 200
    mm.fake.wait_for(
        lambda f: len([p for p in f.channel_posts(CHANNEL_ID, root_only=True) if p["message"].startswith("### ")]) == 2
    )
    mm.idle()
    assert any("restarted" in p["message"] for p in mm.fake.channel_posts(CHANNEL_ID, root_only=True))


# --------------------------------------------------------------------------------------------
# Buttons: forged, retried, double-clicked, stale, refused
# --------------------------------------------------------------------------------------------


def respondents(mm: Harness, post: dict[str, Any]) -> int:
    context = find_action(post, "next")["integration"]["context"]
    card = mm.service.question_card(context["s"], context["q"])
    assert card is not None
    return card.view.respondent_count


def test_a_forged_context_is_refused_and_records_nothing(mm: Harness) -> None:
    mm.command("anna", "start")
    post = mm.wait_question(1)
    mm.idle()
    puts_before = len(mm.fake.calls_to("PUT", r"/api/v4/posts/.*"))
    url, payload = mm.click_payload("bram", post, "opt1")
    for forged in (
        {**payload["context"], "o": "3"},  # altered option
        {**payload["context"], "s": "another-session"},  # altered session
        {k: v for k, v in payload["context"].items() if k != "sig"},  # unsigned
        {**payload["context"], "sig": "f" * 64},  # made-up signature
    ):
        reply = mm.post_json(url, {**payload, "context": forged, "trigger_id": mm.fake.new_trigger_id("bram")})
        assert reply.status_code == 200 and "could not be verified" in reply.json()["ephemeral_text"]
    # a genuine context replayed into another channel
    reply = mm.post_json(url, {**payload, "channel_id": "otherchannel"})
    assert "could not be verified" in reply.json()["ephemeral_text"]
    # a forged dialog state
    forged_dialog = {
        "type": "dialog_submission",
        "callback_id": "answer",
        "state": json.dumps(payload["context"]),
        "user_id": "bram",
        "channel_id": CHANNEL_ID,
        "team_id": TEAM,
        "submission": {"text": "x"},
        "cancelled": False,
    }
    assert "error" in mm.post_json(url, forged_dialog).json()
    mm.idle()
    assert respondents(mm, post) == 0
    assert len(mm.fake.calls_to("PUT", r"/api/v4/posts/.*")) == puts_before


def test_a_retried_action_is_recorded_once_and_posted_once(mm: Harness) -> None:
    mm.command("anna", "start")
    post = mm.wait_question(1)
    url, payload = mm.click_payload("bram", post, "opt3")
    replies: list[int] = []
    threads = [
        threading.Thread(target=lambda: replies.append(mm.post_json(url, payload).status_code)) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert replies == [200] * 4
    mm.idle()
    assert respondents(mm, post) == 1
    assert edits(mm, post) == 1  # the one click's answer updated it (and its window closed clean)
    # a retried "next" moves on once and posts one new question
    url, payload = mm.click_payload("anna", post, "next")
    for _ in range(3):
        assert mm.post_json(url, payload).status_code == 200
    mm.wait_question(2)
    mm.idle()
    assert len(mm.question_posts()) == 2
    reports = [p for p in mm.fake.channel_posts(CHANNEL_ID) if "Question 1 closed" in p["message"]]
    assert len(reports) == 1


def test_a_double_click_on_a_toggle_counts_once(mm: Harness) -> None:
    mm.command("anna", "start")
    post = mm.wait_question(1)
    # walk to the first multi-choice question with the facilitator's buttons
    number = 1
    while DIALOGUE.question(question_id(post)).kind != "multi":
        mm.click("anna", post, "opt1")
        mm.click("anna", post, "next")
        number += 1
        post = mm.wait_question(number)
    first = mm.click("bram", post, "opt2")
    mm.clock.advance(DOUBLE_CLICK_SECONDS / 2)
    second = mm.click("bram", post, "opt2")  # a new trigger id: a second click, not a retry
    assert first.status_code == second.status_code == 200
    mm.idle()
    context = find_action(post, "next")["integration"]["context"]
    card = mm.service.question_card(context["s"], context["q"])
    assert card is not None and card.view.options[1].count == 1 and card.view.options[1].voters == ("Bram",)
    # The window runs from the accepted click: the same click after it toggles the option off again.
    mm.clock.advance(DOUBLE_CLICK_SECONDS / 2)
    assert mm.click("bram", post, "opt2").status_code == 200
    mm.idle()
    card = mm.service.question_card(context["s"], context["q"])
    assert card is not None and card.view.options[1].count == 0 and respondents(mm, post) == 0


def test_a_stale_button_is_refused_politely(mm: Harness) -> None:
    mm.command("anna", "start")
    post = mm.wait_question(1)
    old_url, old_payload = mm.click_payload("bram", post, "opt1")
    mm.click("anna", post, "next")
    mm.wait_question(2)
    reply = mm.post_json(old_url, old_payload)
    assert reply.status_code == 200 and "no longer open" in reply.json()["ephemeral_text"]
    mm.idle()
    assert respondents(mm, post) == 0


def test_back_retires_the_old_posts_and_asks_again(mm: Harness) -> None:
    mm.command("anna", "start")
    first = mm.wait_question(1)
    mm.click("bram", first, "opt1")
    mm.click("anna", first, "next")
    second = mm.wait_question(2)
    mm.click("carla", second, "opt1")  # opens a tally window on the second question
    assert mm.click("anna", second, "back").json() == {}
    again = mm.wait_question(3)
    mm.idle()
    assert question_id(again) == question_id(first)
    for old in (first, second):  # neither old post keeps live buttons
        assert not any(a.get("actions") for a in mm.fresh(old)["props"]["attachments"]), old["id"]
    assert "1 answered" in again["props"]["attachments"][0]["text"]
    assert mm.click("dirk", again, "opt2").status_code == 200
    mm.idle()
    assert "2 answered" in mm.fresh(again)["props"]["attachments"][0]["text"]


def test_only_the_facilitator_moves_on(mm: Harness) -> None:
    mm.command("anna", "start")
    post = mm.wait_question(1)
    reply = mm.click("bram", post, "next").json()
    assert "Only Anna" in reply["ephemeral_text"]
    mm.idle()
    assert len(mm.question_posts()) == 1


def test_dialog_refuses_too_long_text_and_keeps_mentions_quiet(mm: Harness) -> None:
    mm.command("anna", "start")
    post = mm.wait_question(1)
    reply = mm.type_answer("bram", post, "x" * (mm.settings.max_text + 1), action_id="note")
    assert "too long" in reply.json()["errors"]["text"]
    reply = mm.type_answer("bram", post, "@channel @all we lack time, ask @here <!channel>", action_id="note")
    assert reply.status_code == 200 and reply.json() == {}
    mm.idle()
    text = mm.fresh(post)["props"]["attachments"][0]["text"]
    assert "📝 1" in text
    everything = all_request_text(mm.fake)
    assert not re.search(r"@(channel|all|here)\b", everything) and "<!channel>" not in everything


# --------------------------------------------------------------------------------------------
# Rate limits and bursts
# --------------------------------------------------------------------------------------------


@dataclass
class HeldWait:
    """A harness whose REST client's 429 waits are recorded and held on ``release`` instead of slept."""

    mm: Harness
    waits: list[float]
    waiting: threading.Event  # set once a wait was asked for
    release: threading.Event


@pytest.fixture
def held_wait(fake: FakeMattermost, store: Store) -> Iterator[HeldWait]:
    waits: list[float] = []
    waiting, release = threading.Event(), threading.Event()

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        waiting.set()
        release.wait(20)

    try:
        for harness in make_harness(fake, store, sleep=sleep):
            yield HeldWait(harness, waits, waiting, release)
    finally:
        release.set()


def test_a_429_delays_the_post_but_it_arrives(held_wait: HeldWait) -> None:
    mm = held_wait.mm
    mm.fake.rate_limit_next("POST", "/api/v4/posts", reset=3)
    reply = mm.command("anna", "start")
    # Answered while the post is still held in its wait: the command never waits for a retry.
    assert reply.status_code == 200
    assert held_wait.waiting.wait(10)
    assert held_wait.waits == [3.0], "asked to wait for X-Ratelimit-Reset"
    assert [c.status for c in mm.fake.calls_to("POST", "/api/v4/posts")] == [429], "no retry before the wait"
    held_wait.release.set()
    header = mm.header()
    creates = mm.fake.calls_to("POST", "/api/v4/posts")
    assert [c.status for c in creates[:2]] == [429, 201]
    assert header["message"].startswith("### ")
    assert mm.wait_question(1)["root_id"] == header["id"]
    assert held_wait.waits == [3.0]


def test_thirty_clicks_in_a_second_cost_at_most_three_updates(mm: Harness) -> None:
    mm.command("anna", "start")
    post = mm.wait_question(1)
    mm.idle()
    users = [f"user{i:02d}" for i in range(30)]
    errors: list[int] = []
    barrier = threading.Barrier(len(users))

    def click(i: int, user: str) -> None:
        barrier.wait(10)
        reply = mm.click(user, post, f"opt{i % 3 + 1}")
        if reply.status_code != 200:
            errors.append(reply.status_code)

    threads = [threading.Thread(target=click, args=(i, u)) for i, u in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors and not any(t.is_alive() for t in threads)
    mm.idle()
    assert mm.fake.action_updates.count(post["id"]) >= 1  # a click that led a window carried the card
    assert edits(mm, post) <= 3  # the windows' closes the rest
    final = mm.fresh(post)["props"]["attachments"][0]["text"]
    assert "30 answered" in final
    assert "**10** · 1." in final and "**10** · 2." in final and "**10** · 3." in final
    assert respondents(mm, post) == 30


# --------------------------------------------------------------------------------------------
# The summary's chart upload failing
# --------------------------------------------------------------------------------------------


def drive_to_the_end(mm: Harness) -> None:
    """Facilitator only, by slash command: answer the decision, skip through the rest."""
    mm.command("anna", "start")
    for _ in range(80):
        card = mm.service.current(CHANNEL)
        if card is None:
            return
        question = DIALOGUE.question(card.view.question_id)
        if question.is_decision or card.view.question_id == "leaning":
            option = [o.value for o in question.options].index("pilot" if question.is_decision else "try") + 1
            mm.command("anna", f"answer {option}")
        mm.command("anna", "next")
    raise AssertionError("the check never ended")


def test_a_failed_chart_upload_still_posts_the_text_summary(mm_fast: Harness) -> None:
    mm_fast.fake.fail_next("POST", "/api/v4/files", 500, times=5)
    drive_to_the_end(mm_fast)
    mm_fast.idle()
    summaries = [p for p in mm_fast.fake.channel_posts(CHANNEL_ID, root_only=True) if "— Summary" in p["message"]]
    assert len(summaries) == 1 and summaries[0]["file_ids"] == []
    assert "**Decision:** Pilot" in summaries[0]["message"]
    assert [c.status for c in mm_fast.fake.calls_to("POST", "/api/v4/files")] == [500]


def test_anonymous_checks_post_no_names(mm: Harness) -> None:
    mm.command("anna", "start --anonymous")
    post = mm.wait_question(1)
    mm.idle()  # its message's id is stored: the first click can carry the card
    mm.click("bram", post, "opt1")
    mm.click("carla", post, "opt2")
    mm.idle()
    text = json.dumps(mm.fresh(post))
    assert "2 answered" in text and "Bram" not in text and "Carla" not in text
    assert mm.fake.action_updates  # the first click's answer carried the card, with no name either
    sent = all_request_text(mm.fake)
    assert not any(name in sent for name in ("Bram", "Carla", "bram", "carla"))


def test_the_click_that_leads_its_window_updates_the_post_in_its_answer(mm: Harness) -> None:
    mm.command("anna", "start")
    post = mm.wait_question(1)
    mm.idle()
    reply = mm.click("bram", post, "opt3")
    update = reply.json()["update"]
    assert set(update) == {"message", "props"}
    text = update["props"]["attachments"][0]["text"]
    assert "1 answered" in text and "Bram" in text
    assert mm.fresh(post)["props"] == update["props"]  # applied by the server before it answered the clicker
    context = find_action(mm.fresh(post), "opt1")["integration"]["context"]
    assert ContextSigner(SECRET).verify(context) is not None  # its buttons still work
    mm.idle()
    assert edits(mm, post) == 1  # and nothing more: no REST call, the window closed with no other click


def test_a_click_that_moves_the_check_on_leaves_its_posts_to_the_outbox(mm: Harness) -> None:
    mm.command("anna", "start --quorum 1")
    post = mm.wait_question(1)
    mm.idle()
    reply = mm.click("bram", post, "opt2")
    assert reply.status_code == 200 and "update" not in reply.json()  # the closing card must not be overtaken
    mm.wait_question(2)
    mm.idle()
    closed = mm.fresh(post)
    assert "1 answered" in closed["props"]["attachments"][0]["text"]
    assert not any(att.get("actions") for att in closed["props"]["attachments"])
    assert mm.fake.action_updates == []


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def test_the_adapter_refuses_to_start_without_smc_secret(fake: FakeMattermost, store: Store) -> None:
    settings = load_settings(
        {
            "MATTERMOST_URL": fake.url,
            "MATTERMOST_BOT_TOKEN": fake.token,
            "MATTERMOST_COMMAND_TOKEN": "x",
            "SMC_PUBLIC_URL": "http://bot",
        }
    )
    with pytest.raises(ConfigError, match="SMC_SECRET"):
        build_mattermost_adapter(settings, build_service(settings, store), store)


def test_the_adapter_checks_its_token_at_start(fake: FakeMattermost, store: Store) -> None:
    settings = load_settings(
        {
            "MATTERMOST_URL": fake.url,
            "MATTERMOST_BOT_TOKEN": "wrong",
            "MATTERMOST_COMMAND_TOKEN": "x",
            "SMC_PUBLIC_URL": "http://bot",
            "SMC_SECRET": SECRET,
        }
    )
    with pytest.raises(ConfigError, match="MATTERMOST_BOT_TOKEN"):
        build_mattermost_adapter(settings, build_service(settings, store), store)
    assert fake.calls_to("GET", "/api/v4/users/me")


def test_the_adapter_needs_a_command_token_and_a_public_url(fake: FakeMattermost, store: Store) -> None:
    base = {"MATTERMOST_URL": fake.url, "MATTERMOST_BOT_TOKEN": fake.token, "SMC_SECRET": SECRET}
    with pytest.raises(ConfigError, match="MATTERMOST_COMMAND_TOKEN"):
        settings = load_settings({**base, "SMC_PUBLIC_URL": "http://bot"})
        build_mattermost_adapter(settings, build_service(settings, store), store)
    with pytest.raises(ConfigError, match="SMC_PUBLIC_URL"):
        settings = load_settings({**base, "MATTERMOST_COMMAND_TOKEN": "x"})
        build_mattermost_adapter(settings, build_service(settings, store), store)
