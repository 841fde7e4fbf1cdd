"""The session record: what Redis keeps for one check, and its (de)serialisation.

A session is one Redis hash, kept compact (a finished check of ten people fits in a few KB):

``meta``      JSON of :class:`SessionMeta` (schema-versioned), without the version counter
``ver``       integer version, bumped by every facilitator move (optimistic concurrency)
``cur``       the current step (question id, or ``end``) — read by the answer script
``status``    running | finished | cancelled — read by the answer script
``u``         users in order of arrival, one ``\\n<user key>\\t<display name>`` each (the name is
              empty in an anonymous check); answers and notes refer to users by their index here
``a|<q>``     answers to question ``q``, one ``\\n<user index>\\t<JSON value>`` each, the most
              recent last; a value is a list of option numbers or a string
``n|<seq>``   JSON note ``{"q", "u" (user index), "t", "at"}``; ``nseq`` is its counter
``x|<key>``   the user's index in ``u``; ``uc`` the number of users; ``c|<q>`` the number of answers
              to ``q``: what the answer script would otherwise count in ``u`` and ``a|<q>`` on every
              click, at a cost that grows with the crowd. Kept by the scripts alone and rebuilt by
              them when missing (a record written from Python carries none), dropped when a move ends the
              check (a finished check is kept without them); never read here.

``u`` and ``a|<q>`` are lines rather than JSON because the answer script edits them on every click
with plain string operations (cjson would cost more than the rest of the round trip).

The machine itself is never stored: behaviour is rebuilt from the dialogue definition.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA = 1
END = "end"

RUNNING = "running"
FINISHED = "finished"
CANCELLED = "cancelled"

ANSWER_PREFIX = "a|"
NOTE_PREFIX = "n|"
CHECKIN_PREFIX = "ci|"  # pilot check-in answers, kept with the finished check: ``\n<user key>\t<choice>`` each
USERS_FIELD = "u"
INDEX_PREFIX = "x|"  # the answer script's caches (see the module's docstring)
COUNT_PREFIX = "c|"
USER_COUNT = "uc"
SEP = "|"


@dataclass(slots=True)  # slots: a card of a crowd's question builds one per person, at every window's close
class Answer:
    choices: tuple[int, ...] = ()
    text: str | None = None
    at: float = 0.0  # order: a higher value was given later (position in the stored list)

    def value_json(self) -> str:
        """The stored form: a list of option numbers, or a string."""
        value: object = self.text if self.text is not None else list(self.choices)
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_value(cls, value: object, at: float) -> Answer:
        if isinstance(value, str):
            return cls(text=value, at=at)
        choices = value if isinstance(value, list) else []
        return cls(choices=tuple(map(int, choices)), at=at)


@dataclass
class Note:
    question: str
    user: str  # user key
    text: str
    at: float

    def encode(self, user_index: int | None = None) -> str:
        """JSON without the user: the store fills in ``u``, the index of the user in ``u``."""
        data: dict[str, Any] = {"q": self.question, "t": self.text, "at": round(self.at, 3)}
        if user_index is not None:
            data["u"] = user_index
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@dataclass
class SessionMeta:
    id: str
    channel: str  # str(ChannelKey)
    dialogue: str
    language: str
    facilitator: str  # user key
    facilitator_name: str
    anonymous: bool = False
    salt: str = ""
    quorum: int | None = None
    state: str = ""  # current question id, or END
    path: list[str] = field(default_factory=list)  # visited questions; the current one last
    skipped: list[str] = field(default_factory=list)
    status: str = RUNNING
    decision: str | None = None  # confirmed by the facilitator
    revisit: str | None = None  # ISO date, set when the check finishes
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float | None = None
    schema: int = SCHEMA

    def encode(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str) -> SessionMeta:
        data = json.loads(raw)
        if data.get("schema", 1) > SCHEMA:
            raise ValueError(f"session schema {data['schema']} is newer than this bot ({SCHEMA})")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class SessionRecord:
    meta: SessionMeta
    version: int = 0
    answers: dict[str, dict[str, Answer]] = field(default_factory=dict)  # question -> user key -> answer
    notes: list[Note] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # user key -> display name
    users: list[str] = field(default_factory=list)  # user keys in order of arrival
    checkin: dict[str, dict[str, int]] = field(default_factory=dict)  # check-in question -> user key -> choice

    @property
    def id(self) -> str:
        return self.meta.id

    def answers_to(self, question_id: str) -> dict[str, Answer]:
        return self.answers.get(question_id, {})

    def participants(self) -> list[str]:
        """User keys of everyone who answered or wrote a note, in order of arrival."""
        active = {u for per_user in self.answers.values() for u in per_user} | {n.user for n in self.notes}
        ordered = [u for u in self.users if u in active]
        return ordered + sorted(active - set(ordered))

    def display_name(self, user: str) -> str:
        return self.names.get(user) or user

    # --- Redis hash fields ----------------------------------------------------------------

    def meta_fields(self) -> dict[str, str]:
        """The fields a facilitator move rewrites (the version is bumped by the store)."""
        return {"meta": self.meta.encode(), "cur": self.meta.state, "status": self.meta.status}

    def to_fields(self) -> dict[str, str]:
        fields = self.meta_fields()
        fields["ver"] = str(self.version)
        users = list(self.users)
        for per_user in self.answers.values():
            users += [u for u in per_user if u not in users]
        users += [n.user for n in self.notes if n.user not in users]
        index = {u: i for i, u in enumerate(users)}
        if users:
            fields[USERS_FIELD] = "".join(f"\n{u}\t{clean_name(self.names.get(u))}" for u in users)
        for question, per_user in self.answers.items():
            ordered = sorted(per_user.items(), key=lambda kv: (kv[1].at, kv[0]))
            fields[answer_field(question)] = "".join(f"\n{index[u]}\t{a.value_json()}" for u, a in ordered)
        for seq, note in enumerate(self.notes, start=1):
            fields[note_field(seq)] = note.encode(index[note.user])
        fields["nseq"] = str(len(self.notes))
        return fields

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> SessionRecord:
        record = cls(meta=SessionMeta.decode(fields["meta"]), version=int(fields.get("ver", 0)))
        table = [line.split("\t", 1) for line in _lines(fields.get(USERS_FIELD))]
        record.users = [entry[0] for entry in table]
        record.names = {entry[0]: entry[1] for entry in table if len(entry) > 1 and entry[1]}
        notes: list[tuple[int, Note]] = []
        for key, raw in fields.items():
            if key.startswith(ANSWER_PREFIX):
                question = key[len(ANSWER_PREFIX) :]
                per_user = record.answers.setdefault(question, {})
                entries = [line.partition("\t") for line in _lines(raw)]
                # The whole question's answers in one decode: one json.loads per person was most of
                # a tally card's time with a crowd on the question (a card per window's close).
                values = json.loads("[" + ",".join(value for _, _, value in entries) + "]")
                users = record.users
                for position, ((index, _, _), value) in enumerate(zip(entries, values, strict=True)):
                    per_user[users[int(index)]] = (
                        Answer(tuple(map(int, value)), None, float(position))  # chosen options: the most
                        if value.__class__ is list
                        else Answer.from_value(value, float(position))
                    )
            elif key.startswith(CHECKIN_PREFIX):
                chosen = (line.partition("\t") for line in _lines(raw))
                record.checkin[key[len(CHECKIN_PREFIX) :]] = {u: int(c) for u, _, c in chosen if c.isdigit()}
            elif key.startswith(NOTE_PREFIX):
                data = json.loads(raw)
                note = Note(
                    question=data["q"],
                    user=record.users[int(data["u"])],
                    text=data["t"],
                    at=float(data["at"]),
                )
                notes.append((int(key[len(NOTE_PREFIX) :]), note))
        record.notes = [note for _, note in sorted(notes, key=lambda item: item[0])]
        # Redis keeps the current state in both ``meta`` and ``cur``; ``cur``/``status`` win.
        record.meta.state = fields.get("cur", record.meta.state)
        record.meta.status = fields.get("status", record.meta.status)
        return record


def _lines(raw: str | None) -> list[str]:
    """The entries of a line-oriented field (each entry starts with a newline)."""
    return raw.split("\n")[1:] if raw else []


def clean_name(name: str | None) -> str:
    """A display name safe for the ``u`` field: one line, no tabs, bounded."""
    return " ".join((name or "").split())[:80]


def answer_field(question_id: str) -> str:
    return f"{ANSWER_PREFIX}{question_id}"


def note_field(seq: int) -> str:
    return f"{NOTE_PREFIX}{seq:06d}"


def user_key(meta: SessionMeta, user_id: str) -> str:
    """How a user is stored: their id, or a salted hash of it in an anonymous check."""
    if not meta.anonymous:
        return user_id.replace(SEP, "_")
    return hmac.new(meta.salt.encode(), user_id.encode(), hashlib.sha256).hexdigest()[:20]


def channel_byte(channel: str) -> int:
    """A stable byte of ``channel``: the first byte of every check id made there, so the store can
    place a check's keys beside its channel's without knowing the channel (Redis Cluster hash slots,
    bot.store.keys)."""
    return hashlib.sha256(channel.encode()).digest()[0]


def new_session_id(channel: str) -> str:
    """A fresh check id for ``channel``: its :func:`channel_byte` in hex, then 40 random bits."""
    return f"{channel_byte(channel):02x}{secrets.token_hex(5)}"
