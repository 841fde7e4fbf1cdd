"""A small thread pool where jobs with the same key run one at a time, in submission order."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)


class OrderedWorkers:
    """A small thread pool where jobs with the same key run one at a time, in submission order."""

    def __init__(self, workers: int = 4, name: str = "ordered") -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._queues: dict[object, deque[Callable[[], None]]] = {}
        self._cond = threading.Condition()
        self._pending = 0
        self._closed = False

    def submit(self, key: object, job: Callable[[], None]) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the delivery pool is shut down")
            queue = self._queues.setdefault(key, deque())
            queue.append(job)
            self._pending += 1
            start = len(queue) == 1
        if start:
            self._pool.submit(self._drain, key)

    def _drain(self, key: object) -> None:
        while True:
            with self._cond:
                job = self._queues[key][0]
            try:
                job()
            except Exception:
                log.exception("delivery job failed")
            with self._cond:
                queue = self._queues[key]
                queue.popleft()
                self._pending -= 1
                self._cond.notify_all()
                if not queue:
                    del self._queues[key]
                    return

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def shutdown(self, wait: bool = True) -> None:
        with self._cond:
            self._closed = True
        self._pool.shutdown(wait=wait)
