"""The platform fakes with one more failure mode: down for channel-level posts only.

A check's ending posts notices into its thread, then the summary into the channel. To fail the
summary (every retry of it) while the thread notices before it still go through, these fail the next
``times`` posts that are not replies in a thread, with a 503, and answer everything else as usual.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.mattermost_api import FakeMattermost
from tests.fakes.slack_api import Call, FakeSlackApi

POSTS = "/api/v4/posts"


class SlackWithOutages(FakeSlackApi):
    def __init__(self) -> None:
        super().__init__()
        self._down = 0

    def fail_channel_posts(self, times: int) -> None:
        with self._lock:
            self._down = times

    def _answer(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        if call.method == "chat.postMessage" and not call.params.get("thread_ts"):
            with self._lock:
                down, self._down = self._down > 0, max(self._down - 1, 0)
            if down:
                return 503, {"ok": False, "error": "service_unavailable"}, {}
        return super()._answer(call)


class MattermostWithOutages(FakeMattermost):
    def __init__(self) -> None:
        super().__init__()
        self._down = 0

    def fail_channel_posts(self, times: int) -> None:
        with self._cond:
            self._down = times

    def _handle(
        self, method: str, raw_path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if method == "POST" and raw_path == POSTS:
            with self._cond:
                if self._down > 0 and not json.loads(raw or b"{}").get("root_id"):
                    self._down -= 1
                    self.fail_next("POST", POSTS, 503, message="Service Unavailable")
                    # still under the (re-entrant) lock: no other request can take the injection
                    return super()._handle(method, raw_path, headers, raw)
        return super()._handle(method, raw_path, headers, raw)
