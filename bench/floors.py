"""What no version of the bot can go below on this machine, measured in the same run as bench/e2e.py.

Two of issue #13's targets compare the bot with a baseline that leaves out work every answer and
every start needs. These floors put that work beside the baseline, so a run shows how much of a
target's budget is left for the bot's own code:

- ``imports``: a process that only imports the third-party packages ``serve`` loads (redis-py,
  slack_bolt, the Mattermost driver, prometheus_client …), measured from spawn to exit, against
  bolt-min's whole start-up (which also builds its app, calls ``auth.test`` and starts serving);
- ``one round trip``: the ``{}`` handler that also makes one ``EVALSHA`` of a script that does
  nothing, on the same redis-py (with hiredis) the bot uses: an answer cannot be recorded in less.
  It is measured one at a time (against the Mattermost p50 target) and paced at the load's rate
  (against the p99 target: at 400/s a handler that waits on Redis shares the 2 cores with it).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from typing import Any

# What ``serve`` imports, whatever is configured: both adapters and the process owner.
SERVE_MODULES = ("bot.app", "bot.adapters.slack.app", "bot.adapters.mattermost.routes", "bot.runtime.web")

_LIST_THIRD_PARTY = """
import json, sys, sysconfig
{imports}
lib = sysconfig.get_paths()["purelib"]
top = set()
for name, module in list(sys.modules.items()):
    path = getattr(module, "__file__", None) or ""
    if path.startswith(lib) and "." not in name and not name.startswith("_"):
        top.add(name)
print(json.dumps(sorted(top)))
"""


def third_party_modules(root: str) -> list[str]:
    """The top-level installed packages that importing ``serve``'s modules loads (not the bot's own)."""
    code = _LIST_THIRD_PARTY.format(imports="\n".join(f"import {m}" for m in SERVE_MODULES))
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    return [name for name in json.loads(done.stdout) if name != "bot"]


def import_seconds(modules: list[str], runs: int = 3) -> float:
    """Median seconds from spawning a Python that imports ``modules`` to its exit."""
    code = "import " + ", ".join(modules) if modules else "pass"
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def one_round_trip_view(redis_url: str) -> Any:
    """A view answering ``{}`` after one EVALSHA (``return 1``) on redis-py, for the ``empty`` child."""
    import redis
    from flask import Response

    client = redis.Redis.from_url(redis_url)
    script = client.register_script("return 1")
    script()  # loaded once; every request is then an EVALSHA

    def view() -> Response:
        script()
        return Response("{}", mimetype="application/json")

    return view
