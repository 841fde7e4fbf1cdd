"""The session record: what Redis keeps for one check, and its (de)serialisation.

A session is one Redis hash. Fields:

``meta``            JSON of :class:`SessionMeta` (schema-versioned), without the version counter
``ver``             integer version, bumped by every facilitator move (optimistic concurrency)
``cur``             the current step (question id, or ``end``) — read by the answer script
``status``          running | finished | cancelled — read by the answer script
``a|<q>|<user>``    JSON answer of one user to one question (last one counts)
``n|<seq>``         JSON note; ``nseq`` is its counter
``p|<user>``        display name of a participant (never written when anonymous)

The machine itself is never stored: behaviour is rebuilt from the dialogue definition.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA = 1
END = "end"

RUNNING = "running"
FINISHED = "finished"
CANCELLED = "cancelled"

ANSWER_PREFIX = "a|"
NOTE_PREFIX = "n|"
NAME_PREFIX = "p|"
SEP = "|"


@dataclass
class Answer:
    choices: tuple[int, ...] = ()
    text: str | None = None
    at: float = 0.0

    def encode(self) -> str:
        data: dict[str, Any] = {"at": round(self.at, 3)}
        if self.text is not None:
            data["t"] = self.text
        else:
            data["c"] = list(self.choices)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str) -> Answer:
        data = json.loads(raw)
        return cls(choices=tuple(int(c) for c in data.get("c", ())), text=data.get("t"), at=float(data.get("at", 0)))


@dataclass
class Note:
    question: str
    user: str
    text: str
    at: float

    def encode(self) -> str:
        return json.dumps(
            {"q": self.question, "u": self.user, "t": self.text, "at": round(self.at, 3)},
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, raw: str) -> Note:
        data = json.loads(raw)
        return cls(question=data["q"], user=data["u"], text=data["t"], at=float(data["at"]))


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

    @property
    def id(self) -> str:
        return self.meta.id

    def answers_to(self, question_id: str) -> dict[str, Answer]:
        return self.answers.get(question_id, {})

    def participants(self) -> list[str]:
        """User keys of everyone who answered or wrote a note, in order of first appearance."""
        seen: dict[str, float] = {}
        for per_user in self.answers.values():
            for user, ans in per_user.items():
                seen[user] = min(seen.get(user, ans.at), ans.at)
        for note in self.notes:
            seen[note.user] = min(seen.get(note.user, note.at), note.at)
        return sorted(seen, key=lambda u: (seen[u], u))

    def display_name(self, user: str) -> str:
        return self.names.get(user, user)

    # --- Redis hash fields ----------------------------------------------------------------

    def meta_fields(self) -> dict[str, str]:
        """The fields a facilitator move rewrites (the version is bumped by the store)."""
        return {"meta": self.meta.encode(), "cur": self.meta.state, "status": self.meta.status}

    def to_fields(self) -> dict[str, str]:
        fields = self.meta_fields()
        fields["ver"] = str(self.version)
        for question, per_user in self.answers.items():
            for user, ans in per_user.items():
                fields[answer_field(question, user)] = ans.encode()
        for seq, note in enumerate(self.notes, start=1):
            fields[note_field(seq)] = note.encode()
        fields["nseq"] = str(len(self.notes))
        for user, name in self.names.items():
            fields[NAME_PREFIX + user] = name
        return fields

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> SessionRecord:
        record = cls(meta=SessionMeta.decode(fields["meta"]), version=int(fields.get("ver", 0)))
        notes: list[tuple[int, Note]] = []
        for key, raw in fields.items():
            if key.startswith(ANSWER_PREFIX):
                _, question, user = key.split(SEP, 2)
                record.answers.setdefault(question, {})[user] = Answer.decode(raw)
            elif key.startswith(NOTE_PREFIX):
                notes.append((int(key[len(NOTE_PREFIX):]), Note.decode(raw)))
            elif key.startswith(NAME_PREFIX):
                record.names[key[len(NAME_PREFIX):]] = raw
        record.notes = [note for _, note in sorted(notes, key=lambda item: item[0])]
        # Redis keeps the current state in both ``meta`` and ``cur``; ``cur``/``status`` win.
        record.meta.state = fields.get("cur", record.meta.state)
        record.meta.status = fields.get("status", record.meta.status)
        return record


def answer_field(question_id: str, user: str) -> str:
    return f"{ANSWER_PREFIX}{question_id}{SEP}{user}"


def note_field(seq: int) -> str:
    return f"{NOTE_PREFIX}{seq:06d}"


def user_key(meta: SessionMeta, user_id: str) -> str:
    """How a user is stored: their id, or a salted hash of it in an anonymous check."""
    if not meta.anonymous:
        return user_id.replace(SEP, "_")
    return hmac.new(meta.salt.encode(), user_id.encode(), hashlib.sha256).hexdigest()[:20]
