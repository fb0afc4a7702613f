"""Benchmark Espresso Maintenance against the DIY way and write BENCHMARKS.md.

    .venv/bin/python benchmarks/run.py            # every leg it can reach (about 3 minutes)
    .venv/bin/python benchmarks/run.py --quick    # a smoke run with fewer shots and machines
    .venv/bin/python benchmarks/run.py --legs minimum

Each leg is one real Home Assistant run in its own process (measure.py): the minimum
leg with .venv, the newest with .venv-latest through ../shared/tools/py314 (or
directly, when this runs inside it). The results are kept as JSON in
benchmarks/.work/ and rendered into BENCHMARKS.md at the repository root.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import json
import os
from pathlib import Path
import platform
import subprocess
import sys
import time
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / ".work"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import render  # noqa: E402


@dataclass(frozen=True)
class LegSpec:
    """Where a leg's interpreter is and how to start it."""

    name: str
    python: str
    # Run through this tool when the interpreter cannot run here directly.
    wrapper: str | None

    def command(self) -> list[str] | None:
        """Return how to start the leg's interpreter here, or None if it cannot be."""
        if (REPO / self.python).exists():
            return [self.python]
        if self.wrapper is not None and os.access(REPO / self.wrapper, os.X_OK):
            return [self.wrapper, self.python]
        return None


LEGS = (
    LegSpec("minimum", ".venv/bin/python", None),
    LegSpec(
        "newest",
        ".venv-latest/bin/python",
        os.environ.get("PY314_TOOL", "../shared/tools/py314"),
    ),
)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def machine_info() -> dict[str, Any]:
    """Describe the machine the benchmarks ran on."""
    cpu = next(
        (
            line.partition(":")[2].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    memory_kib = next(
        (
            int(line.split()[1])
            for line in _read("/proc/meminfo").splitlines()
            if line.startswith("MemTotal:")
        ),
        0,
    )
    os_name = next(
        (
            line.partition("=")[2].strip('"')
            for line in _read("/etc/os-release").splitlines()
            if line.startswith("PRETTY_NAME=")
        ),
        platform.system(),
    )
    mounts = [line.split() for line in _read("/proc/mounts").splitlines()]
    work = str(WORK.resolve())
    filesystem = max(
        (
            mount
            for mount in mounts
            if len(mount) > 2
            and (work == mount[1] or work.startswith(mount[1].rstrip("/") + "/"))
        ),
        key=lambda mount: len(mount[1]),
        default=["?", "?", "unknown"],
    )[2]
    hypervisor = "hypervisor" in _read("/proc/cpuinfo")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "os": os_name,
        "kernel": platform.release(),
        "virtual_machine": hypervisor,
        "filesystem": filesystem,
    }


def revision() -> str:
    """Name the commit measured, and say if the working tree differs from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "custom_components"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "an unknown revision"
    return f"commit {commit}" + (
        " with uncommitted changes to the integration" if dirty else ""
    )


def run_leg(spec: LegSpec, *, quick: bool) -> tuple[dict[str, Any] | None, str]:
    """Run one leg in its own process; return its results or why there are none."""
    command = spec.command()
    if command is None:
        return None, f"{spec.python} cannot be run from here"
    output = WORK / f"results-{spec.name}.json"
    log = WORK / f"{spec.name}.log"
    output.unlink(missing_ok=True)
    args = [
        *command,
        "benchmarks/run.py",
        "--measure",
        str(output.relative_to(REPO)),
    ]
    if quick:
        args.append("--quick")
    print(f"== {spec.name} leg: {' '.join(args)}", flush=True)
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as stream:
        status = subprocess.run(
            args, cwd=REPO, stdout=stream, stderr=subprocess.STDOUT, check=False
        ).returncode
    took = time.perf_counter() - started
    if status != 0 or not output.exists():
        tail = "\n".join(log.read_text(encoding="utf-8").splitlines()[-30:])
        print(f"{spec.name} leg failed (exit {status}); the end of {log}:\n{tail}")
        return None, f"failed with exit status {status} (see {log.relative_to(REPO)})"
    print(f"   done in {took:.0f} s; log in {log.relative_to(REPO)}", flush=True)
    return json.loads(output.read_text(encoding="utf-8")), ""


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument(
        "--legs",
        default="all",
        help="comma-separated legs to run: minimum, newest (default: all it can reach)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO / "BENCHMARKS.md",
        help="where to write the report (default: BENCHMARKS.md)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="only render the report from the last results in benchmarks/.work",
    )
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.measure is not None:
        from measure import run_leg as measure_leg  # noqa: PLC0415

        measure_leg(quick=args.quick, output=args.measure)
        return 0

    names = {leg.name for leg in LEGS}
    wanted = names if args.legs == "all" else set(args.legs.split(","))
    if unknown := wanted - names:
        parser.error(f"unknown legs: {', '.join(sorted(unknown))}")
    WORK.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    missing: dict[str, str] = {}
    failed = False
    for spec in LEGS:
        if spec.name not in wanted:
            continue
        output = WORK / f"results-{spec.name}.json"
        if args.report_only:
            if output.exists():
                results.append(json.loads(output.read_text(encoding="utf-8")))
            else:
                missing[spec.name] = "no results yet"
            continue
        measured_at = revision()
        result, why = run_leg(spec, quick=args.quick)
        if result is None:
            missing[spec.name] = why
            # A leg that cannot be started here is only an error when asked for.
            failed = failed or args.legs != "all" or why.startswith("failed")
            continue
        result = {
            "name": spec.name,
            "revision": measured_at,
            "command": " ".join(
                ["benchmarks/run.py", *(["--quick"] if args.quick else [])]
            ),
            **result,
        }
        output.write_text(
            json.dumps(result, indent=2, sort_keys=True), encoding="utf-8"
        )
        results.append(result)
    if not results:
        print("no leg measured; nothing written")
        return 1
    report = render(
        results,
        machine=machine_info(),
        missing=missing,
    )
    args.output.write_text(report, encoding="utf-8")
    print(f"wrote {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
