"""What a serving process has not loaded until it needs it (issue 13's idle memory and start-up):
the chart library, the export formats, Socket Mode's client and Babel's date data. Each loads the
first time a chart is drawn, a check is exported, Socket Mode connects or a date is shown (their
own tests use them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVE = "bot.cli, bot.app, bot.adapters.slack.app, bot.adapters.mattermost.routes, bot.runtime.web, bot.service"
LATER = ("matplotlib", "bot.core.export", "slack_bolt.adapter.socket_mode", "babel.dates")


def test_serving_loads_none_of_what_waits_for_first_use() -> None:
    listing = f"import {SERVE}\nimport sys\nprint('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", listing], cwd=ROOT, capture_output=True, text=True, check=True)
    modules = set(result.stdout.split())
    assert {"bot.adapters.outbox", "bot.exports", "slack_bolt"} <= modules  # the listing is real
    early = sorted(m for m in modules for later in LATER if m == later or m.startswith(later + "."))
    assert early == []
