"""The HTML page: self-contained (no script, no request anywhere, the chart inline as a PNG data URI),
escaped, in the check's language, and rendered for real by headless Chromium: a screenshot that is
not blank, the text in the rendered DOM, and a printed PDF of several pages."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from matplotlib import image

from bot.adapters.outbox_files import export_chart
from bot.core.export.html_page import CSP
from bot.core.report import QuestionsSection, ThemesSection
from bot.store.store import Store
from tests.core.export_world import HOSTILE_NOTE, HOSTILE_TEXT, KINDS, World, anonymous, dutch, finished, identities

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
NO_BROWSER = (
    "headless Chromium is not installed, so the HTML export was NOT rendered in a browser: "
    "`apt-get install -y chromium` (scripts/ensure-system-deps.sh test installs it on Debian/Ubuntu)"
)


class Page(HTMLParser):
    """Tags, attributes and the visible text of a page, as a browser's parser splits them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]

    @property
    def body(self) -> str:
        return " ".join(" ".join(self.text).split())


def exported(world: World) -> str:
    export = world.export("export html")
    assert export.mime == "text/html" and export.filename.endswith(".html")
    return export.content.decode("utf-8")


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_page_is_self_contained_escaped_and_complete(store: Store, kind: str) -> None:
    world = KINDS[kind](store)
    record = world.running() if kind == "live" else world.last()
    source = world.source(record)
    html = exported(world)
    page = Page(html)
    assert page.all("html") == [{"lang": record.meta.language}]
    assert {"http-equiv": "Content-Security-Policy", "content": CSP} in page.all("meta")
    assert not page.all("script") and not page.all("link") and not page.all("iframe") and not page.all("a")
    assert all(img["src"].startswith("data:image/png;base64,") for img in page.all("img"))
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)  # nothing is fetched from anywhere
    assert "<style>" in html and "@media print" in html and "@page" in html
    # everything people wrote, as text (a <script> someone typed is text, not a tag)
    assert " ".join(HOSTILE_TEXT.split()) in page.body and " ".join(HOSTILE_NOTE.split()) in page.body
    # every section of the report, every question, the decision
    for section in source.report.sections:
        assert " ".join((section.title or source.t("decision")).split()) in page.body
    questions = next(s for s in source.report.sections if isinstance(s, QuestionsSection))
    for row in questions.rows:
        assert " ".join(f"{row.number}. {row.text}".split()) in page.body
    assert f"{source.t('decision')}: {source.summary.decision.label}" in page.body
    if record.meta.anonymous:
        for identity in identities(record):
            assert identity not in html, identity


def test_the_chart_is_embedded_as_a_png_with_its_alt_text(store: Store) -> None:
    world = finished(store, chart=export_chart)
    source = world.source(world.last())
    page = Page(exported(world))
    [img] = page.all("img")
    png = base64.b64decode(img["src"].removeprefix("data:image/png;base64,"))
    drawn = export_chart(source.summary)
    assert drawn is not None and png == drawn[0] and png.startswith(b"\x89PNG")
    assert img["alt"] == drawn[1]
    themes = next(s for s in source.report.sections if isinstance(s, ThemesSection))
    assert all(row.title in img["alt"] for row in themes.rows if row.average is not None)


def test_without_a_chart_the_page_has_no_picture(store: Store) -> None:
    def broken(summary: object) -> tuple[bytes, str] | None:
        raise RuntimeError("the chart could not be drawn")

    world = finished(store, chart=broken)
    page = Page(exported(world))
    assert page.all("img") == [] and page.all("h2")


# --- rendered for real -----------------------------------------------------------------------------


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    print(f"\n*** SKIPPED: {NO_BROWSER} ***", file=sys.stderr)
    pytest.skip(reason=NO_BROWSER)


def render(html: str, folder: Path) -> tuple[str, Path, Path]:
    """Headless Chromium: the DOM after rendering, a screenshot and a printed PDF of the page."""
    page, shot, pdf = folder / "page.html", folder / "page.png", folder / "page.pdf"
    page.write_text(html, encoding="utf-8")
    command = [
        browser(),
        "--headless",
        "--no-sandbox",  # the tests may run as root (CI does)
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={folder / 'profile'}",
        "--window-size=1000,1400",
        f"--screenshot={shot}",
        f"--print-to-pdf={pdf}",
        "--no-pdf-header-footer",
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, shot, pdf


def not_blank(shot: Path) -> tuple[float, int]:
    """(share of pixels that are not white, distinct colours): a blank page has 0.0 and 1."""
    pixels = image.imread(shot)[:, :, :3]
    ink = (pixels < 0.94).any(axis=2).mean()
    colours = len({tuple(p) for p in (pixels[::7, ::7] * 255).astype(int).reshape(-1, 3).tolist()})
    return float(ink), colours


@pytest.mark.parametrize("make", [finished, anonymous, dutch], ids=["finished", "anonymous", "dutch"])
def test_headless_chromium_renders_and_prints_the_page(store: Store, tmp_path: Path, make: object) -> None:
    world = make(store, chart=export_chart)  # type: ignore[operator]
    record = world.last()
    source = world.source(record)
    dom, shot, pdf = render(exported(world), tmp_path)

    rendered = Page(dom)
    assert rendered.all("html") == [{"lang": record.meta.language}]
    assert f"{source.t('decision')}: {source.summary.decision.label}" in rendered.body
    themes = next(s for s in source.report.sections if isinstance(s, ThemesSection))
    assert all(row.title in rendered.body for row in themes.rows)
    assert " ".join(HOSTILE_TEXT.split()) in rendered.body  # shown, not run: the DOM has no script
    assert not rendered.all("script")
    [img] = rendered.all("img")
    assert img["src"].startswith("data:image/png;base64,")

    ink, colours = not_blank(shot)
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert ink > 0.03 and colours > 20, (ink, colours)  # text, bars and the chart, not an empty page

    printed = pdf.read_bytes()
    assert printed.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", printed)) >= 2  # a long record prints over pages
