"""End-to-end benchmark: real ``socialmedia-check serve`` processes, the platform fakes, a real Redis,
each figure printed beside a baseline measured in the same run.

What runs (all on loopback): a redis-server of its own (TCP); the fake Slack Web API and the fake
Mattermost (tests/fakes, in a child process of their own, so they do not share this process's GIL);
one ``socialmedia-check serve`` with Slack and Mattermost configured; and three baselines, each a
process of its own:

- ``bolt-ack``: a slack_bolt App whose action listener only acks, as the issue measured it
  (``process_before_response=False``, bolt's listener pool, whose request thread polls for the ack
  every 10 ms) and served by the bot's own web server (bot.runtime.web: waitress, 16 threads). The
  bot runs its listeners inline instead (they ack, then hand the work to a pool: no poll).
- ``empty``: a Flask view answering ``{}`` to every POST, on the same waitress server: the baseline
  the issue names for a Mattermost action (Mattermost waits for the response, so the bot answers
  after recording). The bot itself no longer uses Flask (bot.runtime.wsgi).
- ``bolt-min``: the minimal bolt app (slack_bolt's own development server), importing nothing of
  the bot: the start-up and idle memory the issue measures the bot against.

Phases (``--seconds`` each; 8 clients on kept-alive connections, closed loop):

1. start-up (spawn to the first 200 from ``/healthz``, or any answer for bolt-min) and idle RSS, of
   ``serve`` on Slack alone (as bolt-min is) and with Mattermost as well (the driver brings requests
   and charset_normalizer: about 4 MiB), the latter kept for the load;
2. sustained answers/s: Slack clicks (acked at once; counted until every answer is in Redis) and
   Mattermost actions (each answered after it was recorded; a click's answer that carries the post's
   ``update`` is handed to the fake after the latency is taken, as the server applies it), then
   every tally checked: Redis holds exactly who clicked, and the last edit of every question
   message shows that count;
3. one at a time (one client): ack p50/p99;
4. paced at ``--rate`` requests/s (open loop, latency from each request's planned time): p50/p99;
5. 10 live checks, then ``--live`` (10,000) live checks: Mattermost p50/p99 on 10 of them (cached)
   and round robin over all (more than the per-process cache, so each click loads its check);
   the serve process's threads throughout.

    .venv/bin/python bench/e2e.py [--seconds 8] [--clients 8] [--rate 400] [--live 10000] [--runs 1]

With ``--runs N`` it makes N whole runs, each printed, then each ratio's median and range: the
machine's speed varies from run to run, baselines included, by up to a half on a shared 2-core box.

Beside this file: ``e2e_procs.py`` (the child servers, spawning them and ``serve``), ``e2e_load.py``
(the load, the checks it clicks on, the tally check), ``e2e_report.py`` (the table and the summary)
and ``floors.py`` (the floors printed with every run: the third-party imports alone, and the
``{}`` handler after one ``EVALSHA``, one at a time and paced).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import floors  # noqa: E402  (bench/, beside this file)
from e2e_load import Request, ThreadSampler, World, check_tallies, clicks, drive, wait_answers  # noqa: E402
from e2e_procs import (  # noqa: E402
    Proc,
    child_fakes,
    child_server,
    free_port,
    serve_env,
    spawn_child,
    spawn_fakes,
    spawn_serve,
)
from e2e_report import Row, report, summary  # noqa: E402

# --- the run --------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> list[Row]:
    """One whole run (fresh processes); prints its table and returns its rows (see :data:`Row`)."""
    from bot.runtime.redis_server import RedisProcess

    work = Path(tempfile.mkdtemp(prefix="smc-e2e-"))
    log = work / "bench.log"
    redis_server = RedisProcess.start(work / "redis", port=free_port(), unix_socket=False, persistent=False)
    fakes_popen, fakes = spawn_fakes(log)
    procs: list[Proc] = []
    out: dict[str, Any] = {"load": os.getloadavg()}  # other work on the machine shows in every figure
    try:
        port = free_port()
        env = serve_env(redis_server.url, fakes, port)
        # serve as bolt-min is, on Slack alone (like for like), and with Mattermost too (the load's)
        slack_only = {k: v for k, v in env.items() if not k.startswith("MATTERMOST_")}
        starts: dict[str, list[float]] = {"serve": [], "serve-slack": [], "bolt-min": []}
        rss: dict[str, list[float]] = {"serve": [], "serve-slack": [], "bolt-min": []}
        for attempt in range(3):  # start-up, three times each, the last serve kept for the load
            serve = spawn_serve(env, port if attempt == 2 else free_port(), log)
            alone = spawn_serve(slack_only, free_port(), log)
            minimal = spawn_child("bolt-min", fakes["slack"], log)
            time.sleep(1.0)  # idle a moment: what a resting process holds
            for name, proc in (("serve", serve), ("serve-slack", alone), ("bolt-min", minimal)):
                starts[name].append(proc.started)
                rss[name].append(proc.rss_mib())
            alone.stop()
            minimal.stop()
            if attempt < 2:
                serve.stop()
        procs.append(serve)
        out["startup"] = starts
        out["rss"] = rss
        out["imports"] = floors.import_seconds(floors.third_party_modules(str(ROOT)))
        bolt_ack = spawn_child("bolt-ack", fakes["slack"], log)
        empty = spawn_child("empty", fakes["slack"], log, redis_url=redis_server.url)
        procs += [bolt_ack, empty]
        world = World(redis_server.url, fakes, serve)
        threads = {"idle": serve.threads()}

        # 2. sustained answers/s
        slack_checks = world.slack_checks(20)
        sender = world.slack_sender()
        warm_users = [f"s{u}" for u in range(40)]  # each name looked up once, before the load
        drive(serve.url, [world.slack_click(sender, slack_checks[0], u, 1) for u in warm_users], args.clients)
        wait_answers(world, {slack_checks[0][1]: set(warm_users)})
        count = int(args.seconds * 600)
        load, who = clicks(lambda c, u, o: world.slack_click(sender, c, u, o), slack_checks, 40, count, "s")
        who[slack_checks[0][1]] |= set(warm_users)  # the warm-up's clicks count too
        started = time.perf_counter()
        sampler = ThreadSampler(serve)
        slack = drive(serve.url, load, args.clients)
        recorded = wait_answers(world, who) - started
        sampler.stop()
        threads["slack sustained"] = sampler.peak
        out["slack_answers_per_s"] = count / recorded
        out["slack_ack_rate"] = slack.rate
        base_load = [world.slack_click(sender, slack_checks[0], f"b{i}", 1) for i in range(count)]
        out["bolt_ack_per_s"] = drive(bolt_ack.url, base_load, args.clients).rate

        mm_checks = world.mm_checks(20)
        mm_load, mm_who = clicks(world.mm_click, mm_checks, 40, int(args.seconds * 1200), "m")
        sampler = ThreadSampler(serve)
        mm = drive(serve.url, mm_load, args.clients)
        sampler.stop()
        threads["mattermost sustained"] = sampler.peak
        out["mm_answers_per_s"], out["mm_errors"] = mm.rate, mm.errors
        empty_load = [Request("/empty", r.body, r.headers) for r in mm_load]
        out["empty_per_s"] = drive(empty.url, empty_load, args.clients).rate
        time.sleep(3.5)  # every tally window closes (1 to 1.5 s, renewed at most once more)
        out["exact"] = check_tallies(world, fakes_popen, who, slack_checks, mm_who, mm_checks)

        # 3. one at a time
        serial = {
            "mattermost": drive(serve.url, [world.mm_click(mm_checks[i % 20], f"o{i}", 1) for i in range(800)], 1),
            "empty": drive(empty.url, [Request("/empty", b"{}", {"Content-Type": "application/json"})] * 800, 1),
            "empty-redis": drive(
                empty.url, [Request("/empty-redis", b"{}", {"Content-Type": "application/json"})] * 800, 1
            ),
            "slack": drive(
                serve.url, [world.slack_click(sender, slack_checks[i % 20], f"s{i % 40}", 2) for i in range(800)], 1
            ),
            "bolt-ack": drive(
                bolt_ack.url, [world.slack_click(sender, slack_checks[0], "x", 1) for _ in range(800)], 1
            ),
        }
        out["serial"] = {k: (v.pct(50), v.pct(99)) for k, v in serial.items()}

        # 4. paced
        n = int(args.rate * args.seconds)
        paced = {
            "slack": drive(
                serve.url,
                [world.slack_click(sender, slack_checks[i % 20], f"s{i % 40}", 3) for i in range(n)],
                args.clients,
                args.rate,
            ),
            "bolt-ack": drive(
                bolt_ack.url,
                [world.slack_click(sender, slack_checks[0], "x", 1) for _ in range(n)],
                args.clients,
                args.rate,
            ),
            "mattermost": drive(
                serve.url, [world.mm_click(mm_checks[i % 20], f"p{i}", 2) for i in range(n)], args.clients, args.rate
            ),
            "empty": drive(
                empty.url, [Request("/empty", b"{}", {"Content-Type": "application/json"})] * n, args.clients, args.rate
            ),
            "empty-redis": drive(
                empty.url,
                [Request("/empty-redis", b"{}", {"Content-Type": "application/json"})] * n,
                args.clients,
                args.rate,
            ),
        }
        out["paced"] = {k: (v.pct(50), v.pct(99), v.errors) for k, v in paced.items()}

        # 5. 10 live checks, then --live
        hot = mm_checks[:10]
        before = drive(serve.url, [world.mm_click(hot[i % 10], f"h{i}", 1) for i in range(1000)], 1)
        crowd = world.mm_crowd(args.live)
        sampler = ThreadSampler(serve)
        cached = drive(serve.url, [world.mm_click(hot[i % 10], f"k{i}", 2) for i in range(1000)], 1)
        # cached vs not, both leading their windows (each check clicked once per round): 1,000 checks
        # the process has seen (within META_CACHE_SIZE), then round robin over all of them
        few = crowd[:1000]
        drive(serve.url, [world.mm_click(c, "warm", 1) for c in few], args.clients)
        time.sleep(2.0)  # their windows close (1 to 1.5 s)
        warm_round = drive(serve.url, [world.mm_click(c, "r1", 2) for c in few], 1)
        cold = drive(serve.url, [world.mm_click(c, "r2", 1) for c in crowd[1000:4000]], 1)
        spread = drive(
            serve.url, [world.mm_click(crowd[i % len(crowd)], f"w{i}", 2) for i in range(len(crowd))], args.clients
        )
        sampler.stop()
        threads[f"{args.live} live checks"] = sampler.peak
        out["live"] = {
            "10 live": (before.pct(50), before.pct(99)),
            f"{args.live} live, clicks on 10 cached": (cached.pct(50), cached.pct(99)),
            f"{args.live} live, each click leads, check cached": (warm_round.pct(50), warm_round.pct(99)),
            f"{args.live} live, each click leads, check not cached": (cold.pct(50), cold.pct(99)),
        }
        out["spread_per_s"] = spread.rate
        out["threads"] = threads
    finally:
        for proc in procs:
            proc.stop()
        fakes_popen.stdin.close()
        fakes_popen.wait(30)
        redis_server.stop()
    return report(args, out, log)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=400.0)
    parser.add_argument("--live", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1, help="whole runs, then each ratio's median and range")
    parser.add_argument("--child", choices=("fakes", "bolt-ack", "bolt-min", "empty"))
    parser.add_argument("--slack-url", default="")
    parser.add_argument("--redis-url", default="", help="children: the bench's Redis (the empty child's floor)")
    args = parser.parse_args()
    if args.child == "fakes":
        return child_fakes()
    if args.child:
        return child_server(args.child, args.slack_url, args.redis_url)
    import compileall

    # The bot's modules compiled once, as an installed package's are (pip and the image compile them):
    # an editable checkout under PYTHONDONTWRITEBYTECODE would otherwise compile them at every start.
    compileall.compile_dir(ROOT / "bot", quiet=1)
    runs = [run(args) for _ in range(max(1, args.runs))]
    if len(runs) > 1:
        summary(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
