"""The Slack test doubles themselves: signing (official test vector) and the fake Web API."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot.adapters.slack.retry import DEFAULT_RETRY_AFTER, RetryAfterHandler, retry_after
from tests.fakes.slack_api import FakeSlackApi, check_message_blocks
from tests.fakes.slack_signing import sign

# PLATFORMS.md S2: the test vector of python-slack-sdk's signature tests (from Slack's docs).
VECTOR_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VECTOR_TIMESTAMP = "1531420618"
VECTOR_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
VECTOR_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_sign_matches_the_official_test_vector() -> None:
    assert sign(VECTOR_SECRET, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE
    assert sign(VECTOR_SECRET, int(VECTOR_TIMESTAMP), VECTOR_BODY.encode()) == VECTOR_SIGNATURE


def test_sign_agrees_with_slack_sdk_verifier() -> None:
    now = int(time.time())
    body = "text=hello&user_id=U1"
    verifier = SignatureVerifier(signing_secret="s3cret-for-test")
    assert verifier.is_valid(body, str(now), sign("s3cret-for-test", now, body))
    assert not verifier.is_valid(body, str(now), sign("another-secret", now, body))


@pytest.fixture
def fake() -> FakeSlackApi:
    with FakeSlackApi() as api:
        yield api


def client(fake: FakeSlackApi, **kw: object) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.url, **kw)  # type: ignore[arg-type]


def test_fake_answers_post_update_and_records(fake: FakeSlackApi) -> None:
    c = client(fake)
    first = c.chat_postMessage(channel="C1", text="hello")
    second = c.chat_postMessage(channel="C1", text="reply", thread_ts=first["ts"])
    assert float(second["ts"]) > float(first["ts"])
    c.chat_update(channel="C1", ts=first["ts"], text="edited")
    assert fake.message("C1", first["ts"]).text == "edited"
    assert [m.text for m in fake.thread("C1", first["ts"])] == ["reply"]
    assert fake.calls("chat.postMessage")[0].headers["authorization"] == "Bearer xoxb-test"
    with pytest.raises(SlackApiError):
        c.chat_update(channel="C1", ts="1.2", text="nope")
    assert fake.violations == []


def test_fake_rate_limits_and_the_client_waits_retry_after_before_retrying(fake: FakeSlackApi) -> None:
    """The bot's 429 handler asks for Retry-After (+ < 1 s jitter) and retries only once that wait is over.
    The wait is held on an event, not slept: while it lasts, Slack has seen the 429 and nothing else."""
    fake.rate_limit("chat.postMessage", times=1, retry_after=2)
    asked: list[float] = []
    waiting, release = threading.Event(), threading.Event()

    def sleep(seconds: float) -> None:
        asked.append(seconds)
        waiting.set()
        release.wait(10)

    c = client(fake, retry_handlers=[RetryAfterHandler(2, sleep=sleep)])
    with ThreadPoolExecutor(max_workers=1) as pool:
        posted = pool.submit(c.chat_postMessage, channel="C1", text="after a 429")
        assert waiting.wait(10)
        assert [a.status for a in fake.calls("chat.postMessage", include_rejected=True)] == [429]
        assert not posted.done()
        release.set()
        assert posted.result(10)["ok"]
    attempts = fake.calls("chat.postMessage", include_rejected=True)
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[0].response_headers == {"Retry-After": "2"}
    assert len(asked) == 1 and 2.0 <= asked[0] < 3.0


def test_the_429_handler_gives_up_after_its_retries(fake: FakeSlackApi) -> None:
    fake.rate_limit("chat.postMessage", times=5, retry_after=1)
    asked: list[float] = []
    c = client(fake, retry_handlers=[RetryAfterHandler(2, sleep=asked.append, jitter=lambda: 0.0)])
    with pytest.raises(SlackApiError, match="ratelimited"):
        c.chat_postMessage(channel="C1", text="x")
    assert asked == [1.0, 1.0]
    assert [a.status for a in fake.calls("chat.postMessage", include_rejected=True)] == [429, 429, 429]


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": ["30"]}, 30),
        ({"retry-after": "4"}, 4),
        ({}, DEFAULT_RETRY_AFTER),  # the SDK's own default when Slack names none
        ({"Retry-After": ["soon"]}, DEFAULT_RETRY_AFTER),  # unreadable: no crash in the retry path
        ({"Retry-After": ["-5"]}, 0),
    ],
)
def test_retry_after_is_read_in_any_case_with_a_default(headers: dict[str, object], seconds: int) -> None:
    assert retry_after(headers) == seconds  # type: ignore[arg-type]


def test_fake_upload_v2_roundtrip_and_failure(fake: FakeSlackApi) -> None:
    c = client(fake)
    c.files_upload_v2(channel="C1", file=b"\x89PNG data", filename="chart.png", title="Chart", alt_txt="a chart")
    done = fake.calls("files.completeUploadExternal")
    assert done[0].params["channel_id"] == "C1"
    assert fake.completed_files[0]["size"] == len(b"\x89PNG data")
    fake.fail("upload", status=500)
    with pytest.raises(Exception):  # noqa: B017 - slack_sdk raises SlackRequestError for a non-200 upload
        c.files_upload_v2(channel="C1", file=b"x", filename="c.png")


def test_fake_checks_spec_and_block_kit(fake: FakeSlackApi) -> None:
    assert fake.spec, "the Slack spec copy in tests/specs is missing or empty"
    c = client(fake)
    with pytest.raises(SlackApiError):
        c.chat_postMessage(
            channel="C1",
            text="x",
            blocks=[{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
        )
    c.api_call("chat.postMessage", json={"channel": "C1", "text": "x", "bogus_param": 1})
    assert any("bogus_param" in v for v in fake.violations)
    assert any("150" in v for v in fake.violations)
    assert check_message_blocks(
        [
            {
                "type": "actions",
                "elements": [{"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b" * 76}}],
            }
        ]
    )


def test_fake_reports_mentions(fake: FakeSlackApi) -> None:
    c = client(fake)
    c.chat_postMessage(
        channel="C1",
        text="hi <!here> and <@U123|bob>",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "&lt;!channel&gt; <!subteam^S1>"}}],
    )
    assert sorted(fake.mentions()) == sorted(["<!here>", "<@U123|bob>", "<!subteam^S1>"])
