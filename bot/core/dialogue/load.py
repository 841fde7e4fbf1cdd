"""Load and validate a dialogue (``flow.yaml`` + one text file per language) into typed models.

Every problem is reported as ``<file>:<line>: <entry>: <problem>`` and stops loading.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta

from bot.core.dialogue import plurals
from bot.core.dialogue.schema import (
    DECISIONS,
    END,
    FlowDef,
    NextRule,
    OptionDef,
    QuestionText,
    TextsDef,
    _Model,
)
from bot.core.dialogue.validate import SchemaProblem, validate
from bot.core.dialogue.yaml_lines import Loc, YamlDocument
from bot.errors import DialogueError

# --- the runtime dialogue ------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    id: str
    phase: str
    theme: str
    kind: str
    covers: tuple[str, ...]
    options: tuple[OptionDef, ...]
    rules: tuple[NextRule, ...]  # evaluated in order; the last has no condition
    record: str | None

    @property
    def has_options(self) -> bool:
        return bool(self.options)

    @property
    def is_decision(self) -> bool:
        return self.record == "decision"

    @property
    def scale_max(self) -> int:
        return max((o.score or 0) for o in self.options) if self.kind == "scale" else 0


@dataclass(frozen=True)
class Dialogue:
    id: str
    version: int
    languages: tuple[str, ...]
    start: str
    phases: tuple[str, ...]
    themes: tuple[str, ...]
    questions: dict[str, Question]
    revisit_defaults: dict[str, relativedelta]
    texts: dict[str, TextsDef]
    ui: dict[str, dict[str, str]]
    source: str = ""
    order: tuple[str, ...] = field(default=())

    def question(self, question_id: str) -> Question:
        return self.questions[question_id]

    def text(self, language: str, question_id: str) -> QuestionText:
        return self.texts[language].questions[question_id]

    def option_label(self, language: str, question_id: str, value: str) -> str:
        return self.texts[language].questions[question_id].options.get(value, value)

    @property
    def decision_question(self) -> Question:
        return next(q for q in self.questions.values() if q.is_decision)


# --- loading ---------------------------------------------------------------------------------


def packaged_dialogues_dir() -> Path:
    return Path(str(resources.files("bot.dialogues")))


def find_dialogue_dir(root: Path, dialogue_id: str = "socialmedia-check") -> Path:
    """``root`` is a dialogue folder (holding flow.yaml) or a folder of dialogue folders."""
    if (root / "flow.yaml").is_file():
        return root
    if (root / dialogue_id / "flow.yaml").is_file():
        return root / dialogue_id
    found = sorted(p.parent for p in root.glob("*/flow.yaml"))
    if len(found) == 1:
        return found[0]
    raise DialogueError(f"{root}: no dialogue found (expected {root}/{dialogue_id}/flow.yaml)")


def load_dialogue(path: Path | str | None = None) -> Dialogue:
    """Load the dialogue at ``path`` (folder or flow.yaml); the packaged one when ``path`` is None."""
    root = packaged_dialogues_dir() if path is None else Path(path)
    if root.is_file():
        root = root.parent
    if not root.exists():
        raise DialogueError(f"{root}: no such file or folder")
    folder = find_dialogue_dir(root)
    flow_doc = _read(folder / "flow.yaml")
    flow = _validate(FlowDef, flow_doc, ())
    _check_flow(flow, flow_doc)
    texts = {}
    for language in flow.languages:
        doc = _read(folder / f"{language}.yaml")
        texts[language] = _validate(TextsDef, doc, ())
        _check_texts(flow, texts[language], doc, language)
    ui = load_ui(folder, flow.languages)
    questions = {
        q.id: Question(q.id, q.phase, q.theme, q.kind, q.covers, q.options, _rules(flow, i), q.record)
        for i, q in enumerate(flow.questions)
    }
    return Dialogue(
        id=flow.id,
        version=flow.version,
        languages=flow.languages,
        start=flow.start,
        phases=flow.phases,
        themes=flow.themes,
        questions=questions,
        revisit_defaults={k: _duration(v) for k, v in flow.revisit_defaults.items()},  # checked already
        texts=texts,
        ui=ui,
        source=str(folder),
        order=tuple(questions),
    )


@functools.cache
def packaged_ui() -> dict[str, dict[str, str]]:
    """The shipped UI phrases of every language (renderers fall back on them for missing keys)."""
    return load_ui(packaged_dialogues_dir(), ("en", "nl"))


def load_ui(folder: Path, languages: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """UI strings: the dialogue's own ui.yaml (next to it or its parent folder), else the packaged one."""
    packaged = packaged_dialogues_dir() / "ui.yaml"
    candidates = [folder / "ui.yaml", folder.parent / "ui.yaml", packaged]
    path = next(p for p in candidates if p.is_file())
    doc = _read(path)
    if not isinstance(doc.data, dict):
        raise DialogueError(f"{doc.where(())}: expected a mapping of language -> texts")
    base = doc.data.get("en")
    if not isinstance(base, dict):
        raise DialogueError(f"{doc.where(())}: 'en' texts are missing")
    ui: dict[str, dict[str, str]] = {}
    counted = frozenset(str(k) for k, v in base.items() if isinstance(v, dict))  # plural forms: plurals.py
    for language in languages:
        texts = doc.data.get(language)
        if not isinstance(texts, dict):
            raise DialogueError(f"{doc.where(())}: UI texts for language '{language}' are missing")
        missing = sorted(set(base) - set(texts))
        if missing:
            raise DialogueError(f"{doc.where((language,))}: {language}: missing UI texts: {', '.join(missing)}")
        try:
            ui[language] = plurals.flatten(language, texts, counted)
        except plurals.PluralProblem as exc:
            raise DialogueError(f"{doc.where((language, exc.key))}: {language}.{exc.key}: {exc.problem}") from None
    return ui


def _read(path: Path) -> YamlDocument:
    if not path.is_file():
        raise DialogueError(f"{path}: file is missing")
    try:
        return YamlDocument(path)
    except ValueError as exc:
        raise DialogueError(str(exc)) from None


def _validate(model: type[_Model], doc: YamlDocument, base: Loc) -> Any:
    try:
        return validate(model, doc.data)
    except SchemaProblem as exc:
        raise DialogueError(f"{doc.where(base + exc.loc)}: {_entry(doc, exc.loc)}: {exc.problem}") from None


def _entry(doc: YamlDocument, loc: Loc) -> str:
    """Name an entry the way a person reads the file: questions[3] becomes questions[id=field]."""
    parts: list[str] = []
    node: Any = doc.data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            item = node[part]
            ident = item.get("id") if isinstance(item, dict) else None
            parts.append(f"[id={ident}]" if ident else f"[{part}]")
            node = item
        else:
            parts.append(f".{part}" if parts else str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return "".join(parts) or "file"


def _fail(doc: YamlDocument, loc: Loc, problem: str) -> None:
    raise DialogueError(f"{doc.where(loc)}: {_entry(doc, loc)}: {problem}")


def _duration(text: str) -> relativedelta:
    match = re.fullmatch(r"\s*(\d{1,3})\s*(day|week|month|year)s?\s*", text)
    if not match:
        raise ValueError(text)
    n, unit = int(match.group(1)), match.group(2)
    return relativedelta(**{unit + "s": n})


def _check_flow(flow: FlowDef, doc: YamlDocument) -> None:
    ids = [q.id for q in flow.questions]
    index = {qid: i for i, qid in enumerate(ids)}
    for i, q in enumerate(flow.questions):
        loc: Loc = ("questions", i)
        if ids.count(q.id) > 1:
            _fail(doc, (*loc, "id"), f"question id '{q.id}' is used twice")
        if q.phase not in flow.phases:
            _fail(doc, (*loc, "phase"), f"unknown phase '{q.phase}' (phases: {', '.join(flow.phases)})")
        if q.theme not in flow.themes:
            _fail(doc, (*loc, "theme"), f"unknown theme '{q.theme}' (themes: {', '.join(flow.themes)})")
        if q.record == "decision" and (q.kind != "single" or {o.value for o in q.options} != set(DECISIONS)):
            _fail(
                doc,
                (*loc, "record"),
                "the decision question is single choice with options go, pilot, not_now",
            )
        if q.record == "revisit" and q.kind != "date":
            _fail(doc, (*loc, "record"), "a question recording the revisit date must be of kind date")
        rules = q.next if isinstance(q.next, tuple) else ()
        for r, rule in enumerate(rules):
            rloc: Loc = (*loc, "next", r)
            if rule.when is None and r != len(rules) - 1:
                _fail(doc, rloc, "only the last rule may go without 'when'")
            if rule.when is not None:
                ref = rule.when.question or rule.when.unanswered
                if ref not in index:
                    _fail(doc, (*rloc, "when"), f"condition names unknown question '{ref}'")
                ref_q = flow.questions[index[ref]] if ref in index else None
                if rule.when.is_ and ref_q is not None:
                    unknown = set(rule.when.is_) - {o.value for o in ref_q.options}
                    if unknown:
                        _fail(doc, (*rloc, "when"), f"'{ref}' has no option {', '.join(sorted(unknown))}")
            if rule.goto != END and rule.goto not in index:
                _fail(doc, (*rloc, "goto"), f"goes to unknown question '{rule.goto}'")
        if rules and rules[-1].when is not None:
            _fail(doc, (*loc, "next"), "the last rule must have no 'when' (the fallback)")
        if isinstance(q.next, str) and q.next != END and q.next not in index:
            _fail(doc, (*loc, "next"), f"goes to unknown question '{q.next}'")
        if q.next is None and i == len(ids) - 1:
            _fail(doc, loc, "the last question needs 'next: end'")
    if flow.start not in index:
        _fail(doc, ("start",), f"start names unknown question '{flow.start}'")
    if sum(1 for q in flow.questions if q.record == "decision") != 1:
        _fail(doc, ("questions",), "exactly one question must have 'record: decision'")
    for key, text in flow.revisit_defaults.items():
        try:
            _duration(text)
        except ValueError:
            _fail(doc, ("revisit_defaults", key), f"'{text}' is not a duration such as '6 months'")
    reachable = _reachable(flow)
    for i, q in enumerate(flow.questions):
        if q.id not in reachable:
            _fail(doc, ("questions", i), f"question '{q.id}' can never be reached from '{flow.start}'")


def _reachable(flow: FlowDef) -> set[str]:
    seen: set[str] = set()
    todo = [flow.start]
    while todo:
        qid = todo.pop()
        if qid in seen or qid == END:
            continue
        seen.add(qid)
        todo.extend(rule.goto for rule in _rules(flow, [q.id for q in flow.questions].index(qid)))
    return seen


def _rules(flow: FlowDef, i: int) -> tuple[NextRule, ...]:
    q = flow.questions[i]
    if isinstance(q.next, tuple):
        return q.next
    if isinstance(q.next, str):
        return (NextRule(goto=q.next),)
    return (NextRule(goto=flow.questions[i + 1].id if i + 1 < len(flow.questions) else END),)


def _check_texts(flow: FlowDef, texts: TextsDef, doc: YamlDocument, language: str) -> None:
    if texts.language != language:
        _fail(doc, ("language",), f"says '{texts.language}' but the file is {language}.yaml")
    for section, wanted in (("phases", flow.phases), ("themes", flow.themes)):
        have = getattr(texts, section)
        missing = [k for k in wanted if k not in have]
        if missing:
            _fail(doc, (section,), f"missing {', '.join(missing)}")
        extra = [k for k in have if k not in wanted]
        if extra:
            _fail(doc, (section, extra[0]), f"'{extra[0]}' is not in flow.yaml")
    for q in flow.questions:
        if q.id not in texts.questions:
            _fail(doc, ("questions",), f"no text for question '{q.id}'")
        qt = texts.questions[q.id]
        values = [o.value for o in q.options]
        missing = [v for v in values if v not in qt.options]
        if missing:
            _fail(doc, ("questions", q.id, "options"), f"no label for option(s) {', '.join(missing)}")
        extra = [v for v in qt.options if v not in values]
        if extra:
            _fail(doc, ("questions", q.id, "options", extra[0]), f"'{extra[0]}' is not an option in flow.yaml")
    extra_q = [k for k in texts.questions if k not in {q.id for q in flow.questions}]
    if extra_q:
        _fail(doc, ("questions", extra_q[0]), f"'{extra_q[0]}' is not a question in flow.yaml")
