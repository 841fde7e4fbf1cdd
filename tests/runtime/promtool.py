"""Prometheus's own rule checker for the tests: ``promtool`` on PATH, else taken from Debian's
``prometheus`` package (``apt-get download``, only the binary unpacked, kept under
``~/.cache/socialmedia-check/``; the package itself is not installed, so no Prometheus server runs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CACHE = Path.home() / ".cache" / "socialmedia-check" / "promtool"
MEMBER = "./usr/bin/promtool"


def promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    binary = CACHE / MEMBER
    if binary.exists():
        return str(binary)
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        pytest.skip(reason="promtool is not on PATH and there is no apt-get to fetch Debian's prometheus package")
    with tempfile.TemporaryDirectory() as tmp:
        if not _download(Path(tmp)) and os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)  # no package lists yet
            _download(Path(tmp))
        debs = sorted(Path(tmp).glob("prometheus_*.deb"))
        assert debs, "apt-get download prometheus fetched nothing"
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=CACHE.parent))  # renamed into place whole: never half a binary
        tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(debs[0])], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(staging), MEMBER], input=tar, check=True, capture_output=True)
        if binary.exists():
            shutil.rmtree(staging)
        else:
            staging.rename(CACHE)
    return str(binary)


def _download(folder: Path) -> bool:
    done = subprocess.run(
        ["apt-get", "download", "prometheus"], cwd=folder, capture_output=True, text=True, check=False
    )
    return done.returncode == 0
