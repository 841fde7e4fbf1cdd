"""The paced Mattermost phase of bench/e2e.py alone, repeated on one ``serve``: how the p99 at 400/s
depends on the crowd on each question, beside the ``{}`` handler paced the same in the same run.

One redis-server, the fakes, one ``socialmedia-check serve`` and the ``empty`` child, as in
bench/e2e.py. 20 checks are started for real and 40 people answer each question (closed loop).
Then each repetition offers ``--rate`` clicks/s for ``--seconds``, spread over the 20 questions,
and after it the same load of ``{}`` requests:

- ``--people new`` (what bench/e2e.py's paced phase does): every click is by someone who has not
  answered yet, so each repetition adds ``rate × seconds / 20`` people to every question;
- ``--people returning``: the same 40 people per question change their answers, so the crowd
  stays at 40.

    .venv/bin/python bench/paced.py [--people new|returning] [--reps 4] [--rate 400] [--seconds 8]
"""

from __future__ import annotations

import argparse
import compileall
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from e2e_load import Request, World, clicks, drive  # noqa: E402  (bench/, beside this file)
from e2e_procs import free_port, serve_env, spawn_child, spawn_fakes, spawn_serve  # noqa: E402

CHECKS, CROWD = 20, 40
EMPTY = Request("/empty", b"{}", {"Content-Type": "application/json"})


def person(people: str, rep: int, i: int) -> str:
    """Who makes click ``i`` of repetition ``rep``: one of the 40 on its question, or someone new."""
    return f"m{(i // CHECKS) % CROWD}" if people == "returning" else f"p{rep}x{i}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", choices=("new", "returning"), default="new")
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--rate", type=float, default=400.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    from bot.runtime.redis_server import RedisProcess

    compileall.compile_dir(ROOT / "bot", quiet=1)  # as an installed package's are (bench/e2e.py)
    work = Path(tempfile.mkdtemp(prefix="smc-paced-"))
    log = work / "bench.log"
    redis_server = RedisProcess.start(work / "redis", port=free_port(), unix_socket=False, persistent=False)
    fakes_popen, fakes = spawn_fakes(log)
    port = free_port()
    serve = spawn_serve(serve_env(redis_server.url, fakes, port), port, log)
    empty = spawn_child("empty", fakes["slack"], log, redis_url=redis_server.url)
    try:
        world = World(redis_server.url, fakes, serve)
        checks = world.mm_checks(CHECKS)
        warm, _ = clicks(world.mm_click, checks, CROWD, CHECKS * CROWD * 5, "m")
        drive(serve.url, warm, args.clients)
        drive(empty.url, [EMPTY] * len(warm), args.clients)  # the baseline warmed as much
        time.sleep(3.5)  # every tally window closes (1 to 1.5 s, renewed at most once more)
        count = int(args.rate * args.seconds)
        people = CROWD
        print(f"{args.people} people, {args.rate:.0f}/s for {args.seconds:.0f} s, {args.reps} repetitions")
        for rep in range(args.reps):
            if args.people == "new":
                people += count // CHECKS
            load = [
                world.mm_click(checks[i % CHECKS], person(args.people, rep, i), 1 + (i + rep) % 3) for i in range(count)
            ]
            bot = drive(serve.url, load, args.clients, args.rate)
            base = drive(empty.url, [EMPTY] * count, args.clients, args.rate)
            print(
                f"  {people:5d} people a question: serve p50 / p99 {bot.pct(50):.2f} / {bot.pct(99):.2f} ms"
                f"   {{}} {base.pct(50):.2f} / {base.pct(99):.2f} ms   p99 {bot.pct(99) / base.pct(99):.2f}×"
                f"   errors {bot.errors}",
                flush=True,
            )
            time.sleep(3.5)
    finally:
        serve.stop()
        empty.stop()
        fakes_popen.stdin.close()
        fakes_popen.wait(30)
        redis_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
