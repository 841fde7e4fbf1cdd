"""bench/e2e.py's report: one run's table, each figure beside its baseline and target, and over
several runs each ratio's median and range."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

# A figure of one run: its name, the ratio to its baseline, the target, and the figure itself where the
# target is absolute (Mattermost's answers/s).
Row = tuple[str, float, str, float | None]


def report(args: argparse.Namespace, out: dict[str, Any], log: Path) -> list[Row]:
    def med(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    s_serve, s_min = med(out["startup"]["serve"]), med(out["startup"]["bolt-min"])
    r_serve, r_min = med(out["rss"]["serve"]), med(out["rss"]["bolt-min"])
    s_alone, r_alone = med(out["startup"]["serve-slack"]), med(out["rss"]["serve-slack"])
    print(f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}")
    print(
        f"command: {' '.join(sys.argv)}; load average before / after: {out['load'][0]:.2f} / {os.getloadavg()[0]:.2f}"
    )
    rows = [
        ("start-up, Slack alone (median of 3)", f"{s_alone:.2f} s", f"bolt-min {s_min:.2f} s", s_alone / s_min, "≤ 2×"),
        (
            "idle RSS, Slack alone (median of 3)",
            f"{r_alone:.1f} MiB",
            f"bolt-min {r_min:.1f} MiB",
            r_alone / r_min,
            "≤ 1.6×",
        ),
        ("start-up, Slack + Mattermost", f"{s_serve:.2f} s", f"bolt-min {s_min:.2f} s", s_serve / s_min, "(≤ 2×)"),
        (
            "idle RSS, Slack + Mattermost",
            f"{r_serve:.1f} MiB",
            f"bolt-min {r_min:.1f} MiB",
            r_serve / r_min,
            "(≤ 1.6×)",
        ),
        (
            "Slack answers/s (8 clients, until recorded)",
            f"{out['slack_answers_per_s']:.0f}",
            f"bolt-ack {out['bolt_ack_per_s']:.0f}",
            out["slack_answers_per_s"] / out["bolt_ack_per_s"],
            "≥ 0.9×",
        ),
        (
            "Mattermost answers/s (8 clients)",
            f"{out['mm_answers_per_s']:.0f}",
            f"empty {out['empty_per_s']:.0f}",
            out["mm_answers_per_s"] / out["empty_per_s"],
            "≥ 1,000/s",
        ),
    ]
    for who, base in (("mattermost", "empty"), ("slack", "bolt-ack")):
        a, b = out["serial"][who], out["serial"][base]
        rows.append(
            (
                f"{who} one at a time p50 / p99 ms",
                f"{a[0]:.2f} / {a[1]:.2f}",
                f"{base} {b[0]:.2f} / {b[1]:.2f}",
                a[0] / b[0],
                "MM p50 ≤ 1.5×" if who == "mattermost" else "",
            )
        )
        a, b = out["paced"][who], out["paced"][base]
        rows.append(
            (
                f"{who} at {args.rate:.0f}/s p50 / p99 ms",
                f"{a[0]:.2f} / {a[1]:.2f}",
                f"{base} {b[0]:.2f} / {b[1]:.2f}",
                a[1] / b[1],
                "p99 ≤ 2×",
            )
        )
    live = list(out["live"].items())  # 10 live; 10 hot of many; many, cached; many, not cached
    for (name, (p50, p99)), (base_name, base), target in ((live[1], live[0], "≤ 1.2×"), (live[3], live[2], "≤ 2×")):
        rows.append(
            (
                f"Mattermost, {name}: p50 / p99 ms",
                f"{p50:.2f} / {p99:.2f}",
                f"{base_name.split(',')[-1].strip()} {base[0]:.2f} / {base[1]:.2f}",
                p50 / base[0],
                target,
            )
        )
    floor, empty = out["serial"]["empty-redis"][0], out["serial"]["empty"][0]
    paced_floor, paced_empty = out["paced"]["empty-redis"], out["paced"]["empty"]
    rows += [  # what no bot can go below here (bench/floors.py): how much of a target is left for its own code
        (
            "floor: the third-party imports of serve alone, spawn to exit",
            f"{out['imports']:.2f} s",
            f"bolt-min {s_min:.2f} s",
            out["imports"] / s_min,
            "floor of start-up ≤ 2×",
        ),
        (
            "floor: {} after one EVALSHA, one at a time p50 ms",
            f"{floor:.2f}",
            f"empty {empty:.2f}",
            floor / empty,
            "floor of MM p50 ≤ 1.5×",
        ),
        (
            f"floor: {{}} after one EVALSHA, at {args.rate:.0f}/s p50 / p99 ms",
            f"{paced_floor[0]:.2f} / {paced_floor[1]:.2f}",
            f"empty {paced_empty[0]:.2f} / {paced_empty[1]:.2f}",
            paced_floor[1] / paced_empty[1],
            "floor of MM p99 ≤ 2×",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, baseline, ratio, target in rows:
        print(f"{name:<{width}}  {value:>16}  {baseline:>26}  {ratio:6.2f}×  {target}")
    print(f"MM p50 ≤ 1.5× of {{}} leaves {1.5 * empty - floor:.2f} ms for all the bot does besides the round trip")
    print(f"threads of serve: {out['threads']}")
    print(f"Mattermost answers/s over {args.live} live checks (8 clients): {out['spread_per_s']:.0f}")
    print(f"tallies: {out['exact']}; Mattermost errors under load: {out['mm_errors']}")
    print(f"log: {log}", flush=True)
    absolute = {"Mattermost answers/s (8 clients)": out["mm_answers_per_s"]}  # its target is absolute
    return [(name, ratio, target, absolute.get(name)) for name, _, _, ratio, target in rows]


def summary(runs: list[list[Row]]) -> None:
    """Each ratio's median and range over the runs: the machine's speed varies from run to run."""
    print(f"\nratios over {len(runs)} runs: median (lowest–highest)")
    width = max(len(row[0]) for row in runs[0])
    for i, (name, _, target, absolute) in enumerate(runs[0]):
        ratios = sorted(run[i][1] for run in runs)
        line = f"{name:<{width}}  {statistics.median(ratios):6.2f}×  ({ratios[0]:.2f}–{ratios[-1]:.2f})  {target}"
        if absolute is not None:
            values = sorted(v for run in runs if (v := run[i][3]) is not None)
            line += f"  (the figure itself: median {statistics.median(values):.0f}, {values[0]:.0f}–{values[-1]:.0f})"
        print(line)
