"""Run bench.py on both Home Assistant legs and write the results into BENCHMARKS.md.

    .venv/bin/python benchmarks/run.py            # both legs, a few minutes
    .venv/bin/python benchmarks/run.py --quick    # a smoke run

The minimum leg runs with .venv, the newest with .venv-latest through
../shared/tools/py314. Each leg's JSON is kept in benchmarks/.work/; the tables
between the markers in BENCHMARKS.md are replaced, the prose around them is not.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import platform
import subprocess
import sys
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / ".work"
REPORT = REPO / "BENCHMARKS.md"
BEGIN, END = "<!-- results: begin -->", "<!-- results: end -->"
PY314 = os.environ.get("PY314_TOOL", str(REPO.parent / "shared" / "tools" / "py314"))
LEGS = {
    "minimum": [".venv/bin/python"],
    "newest": [PY314, ".venv-latest/bin/python"],
}
SIDES = (
    ("action", "`espresso_maintenance.record_shot` (device target)"),
    ("button", "Record shot button (`button.press`)"),
    ("lean", "The action, on a machine with 3 entities disabled"),
    ("peer", "Peer: `input_number.increment` + listener"),
    ("ping", "WebSocket ping (the round trip alone)"),
)


def run_leg(name: str, *, quick: bool) -> dict[str, Any]:
    """Run bench.py on one leg; return its results."""
    WORK.mkdir(exist_ok=True)
    output = WORK / f"{name}.json"
    command = [*LEGS[name], "benchmarks/bench.py", str(output.relative_to(REPO))]
    subprocess.run([*command, *(["--quick"] if quick else [])], cwd=REPO, check=True)
    result: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    return result


def cpu_model() -> str:
    """Return the processor's name and the number of cores."""
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("model name"):
            return f"{line.partition(':')[2].strip()}, {os.cpu_count()} cores"
    return f"{platform.processor()}, {os.cpu_count()} cores"


def render(legs: dict[str, dict[str, Any]]) -> str:
    """Write the tables of both legs as Markdown."""
    names = list(legs)
    head = " | ".join(
        f"{name}: HA {legs[name]['home_assistant']}, Python {legs[name]['python']}"
        for name in names
    )
    lines = [
        f"Measured on {cpu_model()}.",
        "",
        (
            "**CPU per shot** (µs, Home Assistant's whole process, median of blocks "
            "of 14 calls; quartiles in brackets)"
        ),
        "",
        f"| | {head} |",
        "|---|" + "---|" * len(names),
    ]

    def cell(name: str, key: str) -> str:
        block = legs[name]["blocks"][key]
        return (
            f"{block['cpu_us']:.0f} [{block['cpu_q1_us']:.0f}-{block['cpu_q3_us']:.0f}]"
        )

    for key, label in SIDES:
        lines.append(f"| {label} | " + " | ".join(cell(n, key) for n in names) + " |")

    def ratio(name: str, key: str, against: str, minus: str | None = None) -> float:
        blocks = legs[name]["blocks"]
        base = float(blocks[minus]["cpu_us"]) if minus else 0.0
        ours, theirs = float(blocks[key]["cpu_us"]), float(blocks[against]["cpu_us"])
        return (ours - base) / (theirs - base)

    lines += [
        "| Ratio action / peer | "
        + " | ".join(f"{ratio(n, 'action', 'peer'):.2f}x" for n in names)
        + " |",
        "| Ratio action / peer, round trip taken out of both | "
        + " | ".join(f"{ratio(n, 'action', 'peer', 'ping'):.2f}x" for n in names)
        + " |",
        "",
        (
            "**State writes per backflush cycle of 14 shots** (a state write is one "
            "`state_changed` event)"
        ),
        "",
        f"| Entity | {head} |",
        "|---|" + "---|" * len(names),
    ]
    for side in ("action", "lean", "peer"):
        entities = sorted(
            {e for n in names for e in legs[n]["state_writes"][side]},
            key=lambda e: -legs[names[0]]["state_writes"][side].get(e, 0),
        )
        for entity in entities:
            counts = [str(legs[n]["state_writes"][side].get(entity, 0)) for n in names]
            lines.append(f"| {side}: `{entity}` | " + " | ".join(counts) + " |")
        totals = [
            f"**{sum(legs[n]['state_writes'][side].values()) / 14:.2f} per shot**"
            for n in names
        ]
        lines.append(f"| {side}: all | " + " | ".join(totals) + " |")
    lines += [
        "",
        (
            "**A power reading** (µs of CPU, state set over REST, below the pump "
            "threshold)"
        ),
        "",
        f"| | {head} |",
        "|---|" + "---|" * len(names),
    ]
    for key, label in (
        ("sensor.bench_power_watched", "Watched by a machine's power source"),
        ("sensor.bench_power_unwatched", "Identical, unwatched"),
    ):
        lines.append(f"| {label} | " + " | ".join(cell(n, key) for n in names) + " |")
    lines.append(
        "| Difference | "
        + " | ".join(
            f"{legs[n]['blocks']['sensor.bench_power_watched']['cpu_us'] - legs[n]['blocks']['sensor.bench_power_unwatched']['cpu_us']:+.0f}"
            for n in names
        )
        + " |"
    )
    lines += [
        "",
        (
            "**Ways to make a shot durable, timed alone** (µs per write, in the "
            "benchmark's own process)"
        ),
        "",
        f"| | {' | '.join(f'{n}: CPU | {n}: wall' for n in names)} |",
        "|---|" + "---|---|" * len(names),
    ]
    for key in legs[names[0]]["floors"]:
        values = " | ".join(
            f"{legs[n]['floors'][key]['cpu_us']:.0f} | {legs[n]['floors'][key]['wall_us']:.0f}"
            for n in names
        )
        lines.append(f"| {key} | {values} |")
    return "\n".join(lines)


def main() -> None:
    """Run the legs, then replace the tables in BENCHMARKS.md."""
    quick = "--quick" in sys.argv
    legs = {name: run_leg(name, quick=quick) for name in LEGS}
    report = REPORT.read_text(encoding="utf-8")
    before, _, rest = report.partition(BEGIN)
    _, _, after = rest.partition(END)
    REPORT.write_text(
        f"{before}{BEGIN}\n{render(legs)}\n{END}{after}", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
