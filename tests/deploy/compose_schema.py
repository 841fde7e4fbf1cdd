"""The Compose Specification's JSON Schema, as the compose project itself published it on PyPI.

The schema is not copied into this repository: it is taken from the ``docker-compose`` 1.29.2 wheel
(``compose/config/compose_spec.json``, Apache License 2.0), downloaded once with pip from the package
registry into ``~/.cache/socialmedia-check/`` and read from the wheel. Only the schema is read; the
package is never installed or run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

WHEEL = "docker-compose==1.29.2"
MEMBER = "compose/config/compose_spec.json"
CACHE = Path.home() / ".cache" / "socialmedia-check" / "compose-schema"


def compose_schema() -> dict[str, Any]:
    wheels = sorted(CACHE.glob("docker_compose-1.29.2-*.whl"))
    if not wheels:
        CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(CACHE), WHEEL],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        wheels = sorted(CACHE.glob("docker_compose-1.29.2-*.whl"))
        if done.returncode != 0 or not wheels:
            raise RuntimeError(f"could not download {WHEEL} for the Compose schema: {done.stderr[-500:]}")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        schema: dict[str, Any] = json.loads(wheel.read(MEMBER))
    return schema
