"""The click script (bot.store.clicks) against the real redis-server: claims, refusals, the window, and
the snapshot a tally is drawn from — which must give exactly the card the whole session gives."""

from __future__ import annotations

import redis

from bot.core.dialogue.load import load_dialogue
from bot.core.messages import ChannelKey, Event, EventKind, TallyChanged
from bot.core.session import Answer
from bot.ports import Delivery
from bot.service import CheckService
from bot.store.keys import Keys, tally_window
from bot.store.store import Store
from tests.team import FIXED_NOW, Team

DIALOGUE = load_dialogue()
CHANNEL = ChannelKey("slack", "T1", "C1")
TTL_MS = 5000


def _team(store: Store) -> Team:
    team = Team(CheckService(DIALOGUE, store, clock=lambda: FIXED_NOW), channel=CHANNEL)
    team.say("anna", "start")
    return team


def _delivery(mark: str | None = "m1", **extra: object) -> Delivery:
    return Delivery(str(CHANNEL), mark, 600, window_ms=TTL_MS, **extra)  # type: ignore[arg-type]


def _click(store: Store, team: Team, user: str, choice: int, delivery: Delivery) -> object:
    view = team.current().view
    return store.record_click(
        view.session_id,
        view.question_id,
        user,
        Answer(choices=(choice,)),
        user,
        None,
        delivery,
        team.service.tally_fields(view.question_id),
    )


def test_a_click_claims_its_mark_records_and_leads_or_follows_in_one_script(store: Store) -> None:
    team = _team(store)
    sid, qid = team.current().view.session_id, team.current().view.question_id
    lead = _click(store, team, "u1", 1, _delivery("d1"))
    assert (lead.status, lead.count, lead.lead) == ("ok", 1, True)  # type: ignore[attr-defined]
    snapshot = lead.snapshot  # type: ignore[attr-defined]
    assert snapshot is not None and snapshot.record is not None
    assert snapshot.record.answers_to(qid) == {"u1": Answer(choices=(1,), at=0.0)}
    follow = _click(store, team, "u2", 2, _delivery("d2"))
    assert (follow.status, follow.count, follow.lead, follow.snapshot) == ("ok", 2, False, None)  # type: ignore[attr-defined]
    again = _click(store, team, "u2", 3, _delivery("d2"))  # the same delivery once more (a retry)
    assert again.status == "duplicate"  # type: ignore[attr-defined]
    record = store.load(sid)
    assert record is not None and record.answers_to(qid)["u2"].choices == (2,), "a duplicate writes nothing"
    closed = store.coalesce_close(sid, qid, TTL_MS, team.service.tally_fields(qid))
    assert closed is not None and closed.record is not None, "a follower came: renewed, with its snapshot"
    assert len(closed.record.answers_to(qid)) == 2
    assert store.coalesce_close(sid, qid, TTL_MS, ()) is None, "nobody since: released"


def test_the_double_click_guard_is_claimed_in_the_same_script(store: Store) -> None:
    team = _team(store)
    guard = {"guard": "toggle:u1:x", "guard_seconds": 1.0}
    assert _click(store, team, "u1", 1, _delivery("a", guard_at=100.0, **guard)).status == "ok"  # type: ignore[attr-defined]
    assert _click(store, team, "u1", 2, _delivery("b", guard_at=100.5, **guard)).status == "guarded"  # type: ignore[attr-defined]
    assert _click(store, team, "u1", 2, _delivery("c", guard_at=101.0, **guard)).status == "ok"  # type: ignore[attr-defined]
    assert store.claim(_delivery("d", guard_at=101.2, **guard)) is False
    assert store.claim(_delivery("e")) is True and store.claim(_delivery("e")) is False


def test_marks_live_as_long_as_asked_are_listed_per_channel_and_name_nobody(
    store: Store, redis_client: redis.Redis
) -> None:
    team = _team(store)
    _click(
        store,
        team,
        "U0SECRETUSER",
        1,
        _delivery("slack:act:T1:U0SECRETUSER:answer:1", guard="U0SECRETUSER:g", guard_at=1.0, guard_seconds=1.0),
    )
    keys = Keys("test")
    marks = redis_client.zrange(keys.channel_marks(str(CHANNEL)), 0, -1)
    assert len(marks) == 2, "the mark and the guard are listed for purge"
    once = next(m for m in marks if ":once:" in m)
    assert 0 < redis_client.ttl(once) <= 600, "as long as the delivery's mark_ttl (SMC_DEDUP_TTL), not a day"
    assert not [k for k in redis_client.keys("*") if "SECRET" in k]


def test_a_refused_click_keeps_its_mark_and_says_why(store: Store) -> None:
    team = _team(store)
    view = team.current().view
    stale = store.record_click(
        view.session_id, "not-the-current", "u1", Answer(choices=(1,)), "u1", None, _delivery("s")
    )
    assert stale.status == "stale" and stale.record is not None
    assert store.claim(_delivery("s")) is False, "the retry of a refused delivery is dropped too"


def test_a_tally_drawn_from_a_snapshot_is_the_card_the_whole_session_gives(store: Store) -> None:
    """Through branches (a "not now" leaning skips a phase: skip notes, totals), notes and every kind
    of question: at every step, every question on the path renders the same from its snapshot."""
    team = _team(store)
    service = team.service
    users = ("anna", "bram", "carla")
    for step in range(40):
        card = service.current(CHANNEL)
        if card is None:
            break
        view = card.view
        question = DIALOGUE.question(view.question_id)
        for i, user in enumerate(users):
            if question.kind in ("scale", "single"):
                values = [o.value for o in question.options]
                pick = values.index("not_now") + 1 if "not_now" in values else 1 + (i + step) % len(values)
                team.click(
                    user,
                    kind=EventKind.ANSWER,
                    choices=(pick,),
                    session_id=view.session_id,
                    question_id=view.question_id,
                )
            elif question.kind == "multi":
                team.click(
                    user,
                    kind=EventKind.ANSWER,
                    choices=(1, 1 + i % len(question.options)),
                    session_id=view.session_id,
                    question_id=view.question_id,
                )
            elif question.kind == "date":
                team.say(user, "answer in 6 months")
            else:
                team.say(user, f"answer text {step} {i}")
        if step % 3 == 0:
            team.say("bram", f"note a doubt at step {step}")
        record = store.load(view.session_id)
        assert record is not None
        for qid in record.meta.path:
            store.coalesce_enter(tally_window(record.id, qid), TTL_MS)
            store.coalesce_enter(tally_window(record.id, qid), TTL_MS)  # a follower: dirty
            snapshot = store.coalesce_close(record.id, qid, TTL_MS, service.tally_fields(qid))
            store.coalesce_close(record.id, qid, TTL_MS, ())
            assert snapshot is not None
            assert service.tally_card(snapshot) == service.question_card(record.id, qid), (step, qid)
        team.say("anna", "next")
    assert step > 10, "the walk went through most of the check"


def test_the_service_folds_the_claim_into_a_button_answer_and_claims_a_move_first(store: Store) -> None:
    team = _team(store)
    view = team.current().view
    answer = Event(
        EventKind.ANSWER,
        user="u1",
        via_button=True,
        choices=(1,),
        session_id=view.session_id,
        question_id=view.question_id,
    )
    first = team.service.handle(CHANNEL, answer, _delivery("x1"))
    changed = [m for m in first if isinstance(m, TallyChanged)]
    assert changed and changed[0].lead is True and changed[0].card is not None
    assert changed[0].card.view.respondent_count == 1
    refused: list[str] = []
    assert team.service.handle(CHANNEL, answer, _delivery("x1", refused=refused.append)) == []
    assert refused == ["duplicate"]
    move = Event(EventKind.NEXT, user="anna", via_button=True, session_id=view.session_id, question_id=view.question_id)
    assert team.service.handle(CHANNEL, move, _delivery("n1"))
    assert team.current().view.question_id != view.question_id
    assert team.service.handle(CHANNEL, move, _delivery("n1")) == [], "a repeated move is dropped before it runs"
