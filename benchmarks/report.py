"""Render the benchmark results of one or more legs as BENCHMARKS.md."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

KIB = 1024
TIMES = "\N{MULTIPLICATION SIGN}"
STORAGE_GOAL_BYTES = 64 * KIB
CPU_GOAL_RATIO = 0.5
WAKE_UP_GOAL = 2
# Setup counts as linear when the per-machine time of the largest batch is within
# this factor of the per-machine time of the middle one.
LINEAR_TOLERANCE = 1.5

type Leg = dict[str, Any]


# ---- formatting


def _us(value: float) -> str:
    return f"{value:,.0f} µs"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def _kib(value: float) -> str:
    return f"{value / KIB:,.1f} KiB"


def _ratio(ours: float, diy: float) -> str:
    if diy == 0:
        return "n/a" if ours == 0 else "∞"
    ratio = ours / diy
    if 0 < ratio < 0.01:
        return f"1/{1 / ratio:,.0f}"
    return f"{ratio:.2f}{TIMES}" if ratio < 10 else f"{ratio:.0f}{TIMES}"


def _met(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _leg_title(leg: Leg) -> str:
    return f"{leg['name']} (HA {leg['home_assistant']}, Python {leg['python']})"


# ---- figures read from a leg


def _cpu(leg: Leg, path: str) -> float:
    return float(leg["shot_timings"][path]["cpu_us"])


def _wall(leg: Leg, path: str) -> float:
    return float(leg["shot_timings"][path]["wall_us"])


def _our_entities(leg: Leg) -> set[str]:
    entities = leg["entities"]
    return set(entities["ours_bench"]) | set(entities["ours_ten_years"])


def _side(leg: Leg, entity_id: str) -> str:
    if entity_id in _our_entities(leg):
        return "ours"
    if entity_id in leg["entities"]["sources"]:
        return "source"
    if entity_id in leg["entities"]["diy"] or entity_id.startswith("automation."):
        return "diy"
    return "other"


def _writes(leg: Leg, path: str, side: str) -> dict[str, int]:
    """Return the state writes of one side per entity: changes plus same-state writes."""
    counts = leg["counts"][path]
    result: dict[str, int] = {}
    for kind in ("state_writes", "reported_writes"):
        for entity_id, count in counts[kind].items():
            if _side(leg, entity_id) == side:
                result[entity_id] = result.get(entity_id, 0) + count
    return result


def _writes_per_shot(leg: Leg, path: str, side: str) -> float:
    return sum(_writes(leg, path, side).values()) / float(leg["counts"][path]["shots"])


def _unchanged_writes(leg: Leg, side: str) -> dict[str, int]:
    """Return the writes that changed nothing at all (state_reported), by entity."""
    result: dict[str, int] = {}
    for counts in leg["counts"].values():
        for entity_id, count in counts["reported_writes"].items():
            if _side(leg, entity_id) == side:
                result[entity_id] = result.get(entity_id, 0) + count
    return result


def _store_writes_per_shot(leg: Leg, path: str, side: str) -> float:
    counts = leg["counts"][path]
    ours = set(leg["store_keys"])
    total: int = sum(
        count
        for key, count in counts["store_writes"].items()
        if (key in ours) == (side == "ours")
    )
    return total / float(counts["shots"])


def _machine_timers(leg: Leg, timers: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Return each machine's timers: its own and its entities', fired and scheduled."""
    result = {}
    for name, entities in leg["entities"]["machines"].items():
        owners = {f"machine: {name}", *(f"entity: {entity}" for entity in entities)}
        counts = [c for o, c in timers["ours"]["by_owner"].items() if o in owners]
        result[name] = {
            "fired": sum(c["fired"] for c in counts),
            "scheduled": sum(c["scheduled"] for c in counts),
        }
    return result


def _day(leg: Leg) -> dict[str, Any]:
    day = leg["day"]
    timers = day["timers"]
    machines = _machine_timers(leg, timers)
    polling = [
        owner
        for part in timers.values()
        for owner in part["by_owner"]
        if owner.startswith("polling:")
    ]
    return {
        "ours_fired": max(m["fired"] for m in machines.values()),
        "ours_scheduled": max(m["scheduled"] for m in machines.values()),
        "per_machine": machines,
        "diy_fired": timers["diy"]["fired"] / day["diy_machines"],
        "diy_scheduled": timers["diy"]["scheduled"] / day["diy_machines"],
        "polling": polling,
    }


def _scaling(leg: Leg) -> list[dict[str, float]]:
    rows = []
    for batch in leg["scaling"]:
        count = batch["machines"]
        rows.append(
            {
                "machines": count,
                "add_wall": batch["ours_add_wall_s"] / count,
                "add_cpu": batch["ours_add_cpu_s"] / count,
                "load_wall": batch["ours_load_wall_s"] / count,
                "load_cpu": batch["ours_load_cpu_s"] / count,
                "diy_wall": batch["diy_wall_s"] / count,
                "diy_cpu": batch["diy_cpu_s"] / count,
                "ours_rss": batch["ours_rss_bytes"] / count,
                "diy_rss": batch["diy_rss_bytes"] / count,
            }
        )
    return rows


def _linear(leg: Leg, key: str) -> tuple[bool, float]:
    rows = _scaling(leg)
    middle, largest = rows[-2][key], rows[-1][key]
    growth = largest / middle if middle else float("inf")
    return growth <= LINEAR_TOLERANCE, growth


# ---- the report


def _why(legs: list[Leg], missed: set[str]) -> list[str]:
    """Explain the goals missed, with the figures that show why."""
    why: list[str] = []
    leg = legs[0]
    if "cpu" in missed:
        costs = leg["write_costs"]["fresh"]
        diy = _cpu(leg, "diy_action")
        why.append(
            "- **CPU per shot.** Every shot is written to disk before the call returns "
            "(the durability requirement), with Home Assistant's atomic write: a "
            "temporary file, fsync, rename, fsync of the directory. That write alone "
            f"costs {_us(costs['atomic_write_cpu_us'])} of CPU "
            f"({_us(costs['atomic_write_wall_us'])} of wall time) on this machine, "
            f"{_ratio(costs['atomic_write_cpu_us'], diy)} the whole DIY shot "
            f"({_us(diy)}), which writes nothing to disk: the counter is only saved "
            "with Home Assistant's restore state, every 15 minutes and at shutdown, so "
            "a crash loses up to 15 minutes of shots. No optimisation that keeps a "
            f"write per shot can reach 0.5{TIMES}. The rest of our shot is the action's target "
            "resolution and the entities' updates "
            f"({_writes_per_shot(leg, 'ours_action', 'ours'):.1f} state writes per "
            f"shot against the DIY's {_writes_per_shot(leg, 'diy_action', 'diy'):.1f}, "
            "one per entity whose state a shot changes); see "
            "[where a shot's time goes](#where-a-shots-time-goes)."
        )
        for item in legs:
            extra = _cpu(item, "ours_action") - _cpu(item, "ours_source")
            deprecated = any(
                "DeviceEntry.config_entries" in line and "espresso_maintenance" in line
                for line in item["warnings"]
            )
            if extra > 1000 and deprecated:
                why.append(
                    f"- **The action on {_leg_title(item)}** costs {_us(extra)} more "
                    "than a shot from the counter source, which takes the same path "
                    "from the machine on. The action's target resolution reads "
                    "`DeviceEntry.config_entries`, deprecated in this version: every "
                    "read runs Home Assistant's usage report, which walks the call "
                    "stack (the warning is logged once, the walk happens every time)."
                )
    if "writes" in missed:
        why.append(
            "- **Writes without a change.** "
            + "; ".join(
                f"{_leg_title(item)}: "
                + ", ".join(
                    f"`{entity}` {count}{TIMES}"
                    for entity, count in sorted(_unchanged_writes(item, "ours").items())
                )
                for item in legs
                if _unchanged_writes(item, "ours")
            )
            + " in the counting pass. Home Assistant records such a write as "
            "`state_reported`: the state and attributes are the same, only what the "
            "entity shows elsewhere changed (a to-do list's item texts, which hold the "
            "shot count). The recorder does not store them, but they are writes."
        )
    if "linear" in missed:
        why.append(
            "- **Setup time.** The per-machine time of the largest batch grew more "
            f"than {LINEAR_TOLERANCE}{TIMES} that of the middle one; see "
            "[setup time](#setup-time-and-memory)."
        )
    if "storage" in missed:
        storage = leg["storage"]["no_notes"]
        why.append(
            f"- **Storage.** The history keeps the last {storage['history_records']} "
            f"records (of {leg['storage']['simulated']['backflushes']} backflushes and "
            f"{leg['storage']['simulated']['descales']} descales in ten years) and "
            f"the last {storage['undo_steps']} undo steps, each record written "
            f"with its kind, time, counters and note, indented two spaces as Home "
            f"Assistant's Store writes every file: {_kib(storage['bytes'])} without "
            "notes. The limit of 500 records is reached after about eight years "
            "of weekly backflushes and monthly descales."
        )
    return why


def _goals(legs: list[Leg]) -> tuple[list[str], list[str]]:
    """Return the summary table and the explanations of missed goals."""
    header = ["goal", *(_leg_title(leg) for leg in legs)]
    rows: list[list[str]] = []

    def row(goal: str, cell: Callable[[Leg], tuple[bool, str]]) -> list[bool]:
        results = [cell(leg) for leg in legs]
        rows.append([goal, *(f"{_met(ok)}: {text}" for ok, text in results)])
        return [ok for ok, _ in results]

    def cpu_cell(path: str) -> Callable[[Leg], tuple[bool, str]]:
        def cell(leg: Leg) -> tuple[bool, str]:
            ours, diy = _cpu(leg, path), _cpu(leg, "diy_action")
            return (
                ours <= CPU_GOAL_RATIO * diy,
                f"{_us(ours)} = {_ratio(ours, diy)} DIY ({_us(diy)})",
            )

        return cell

    cpu_ok = row(
        f"CPU per shot, `record_shot` action ≤ 0.5{TIMES} DIY", cpu_cell("ours_action")
    )
    cpu_ok += row(
        f"CPU per shot, counter source ≤ 0.5{TIMES} DIY", cpu_cell("ours_source")
    )

    def writes_cell(leg: Leg) -> tuple[bool, str]:
        unchanged = _unchanged_writes(leg, "ours")
        ours = _writes_per_shot(leg, "ours_action", "ours")
        diy = _writes_per_shot(leg, "diy_action", "diy")
        text = f"{ours:.2f} writes per shot = {_ratio(ours, diy)} DIY ({diy:.2f})"
        if unchanged:
            text += "; unchanged writes by " + ", ".join(
                f"`{e}`" for e in sorted(unchanged)
            )
        return not unchanged, text

    writes_ok = row("Only entities whose state changed write", writes_cell)

    def wake_cell(leg: Leg) -> tuple[bool, str]:
        day = _day(leg)
        text = (
            f"at most {day['ours_fired']:g} per machine per day, "
            f"DIY {day['diy_fired']:,.0f} ({_ratio(day['ours_fired'], day['diy_fired'])})"
        )
        if day["polling"]:
            text += "; polling: " + ", ".join(day["polling"])
        return day["ours_fired"] <= WAKE_UP_GOAL and not day["polling"], text

    row(f"Wake-ups per machine per day ≤ {WAKE_UP_GOAL}, no polling", wake_cell)

    def linear_cell(leg: Leg) -> tuple[bool, str]:
        ok_add, growth_add = _linear(leg, "add_wall")
        ok_load, growth_load = _linear(leg, "load_wall")
        rows_ = _scaling(leg)
        counts = "/".join(str(int(r["machines"])) for r in rows_)
        adds = " / ".join(_ms(r["add_wall"]) for r in rows_)
        return (
            ok_add and ok_load,
            (
                f"added per machine at {counts}: {adds}; "
                f"largest batch {TIMES}{growth_add:.2f} (add), {TIMES}{growth_load:.2f} (load at start)"
            ),
        )

    linear_ok = row("Setup time grows linearly", linear_cell)

    def storage_cell(leg: Leg) -> tuple[bool, str]:
        size = leg["storage"]["no_notes"]["bytes"]
        notes = leg["storage"]["short_notes"]["bytes"]
        return (
            size <= STORAGE_GOAL_BYTES,
            f"{_kib(size)} after ten years ({_kib(notes)} with short notes)",
        )

    storage_ok = row("Storage after ten years ≤ 64 KiB per machine", storage_cell)

    oks = {
        "cpu": cpu_ok,
        "writes": writes_ok,
        "linear": linear_ok,
        "storage": storage_ok,
    }
    why = _why(legs, {name for name, ok in oks.items() if not all(ok)})
    return _table(header, rows), why


def _cpu_section(legs: list[Leg]) -> list[str]:
    lines = [
        "## CPU time per shot",
        "",
        (
            "Process CPU time (`time.process_time`: every thread, so the worker thread "
            "that writes our file counts too) around each shot and "
            "`hass.async_block_till_done(wait_background_tasks=True)`, summed over "
            "backflush cycles of 14 shots in which the paths take turns; the counter goes "
            "back to 0 between cycles, untimed, so the states pass through ok, due soon and "
            "due as in real use. The garbage collector runs as usual; a full "
            "collection is made, untimed, before each round of all paths. Wall time "
            "in brackets (ours includes waiting for fsync)."
        ),
        "",
    ]
    paths = [
        ("`record_shot` action, new machine", "ours_action", "diy_action"),
        (
            "`record_shot` action, ten years of history",
            "ours_action_ten_years",
            "diy_action",
        ),
        ("counter source (sensor +1)", "ours_source", "diy_action"),
        ("counter source vs DIY automation on the sensor", "ours_source", "diy_source"),
    ]
    for leg in legs:
        shots = leg["shot_timings"]["ours_action"]["shots"]
        lines.append(f"**{_leg_title(leg)}**, {shots:,} shots per path:")
        lines.append("")
        rows = [
            [
                label,
                f"{_us(_cpu(leg, ours))} ({_us(_wall(leg, ours))})",
                f"{_us(_cpu(leg, diy))} ({_us(_wall(leg, diy))})",
                _ratio(_cpu(leg, ours), _cpu(leg, diy)),
            ]
            for label, ours, diy in paths
        ]
        rows.append(
            [
                "harness alone (`async_block_till_done`)",
                _us(_cpu(leg, "harness")),
                _us(_cpu(leg, "harness")),
                "",
            ]
        )
        lines += _table(["shot", "ours CPU (wall)", "DIY CPU (wall)", "ratio"], rows)
    lines += [
        (
            "DIY baselines: `counter.increment` on the counter the template sensors "
            "depend on (the brief's baseline for both of our paths), and an automation "
            "triggered by the machine's counter sensor that calls `counter.increment` "
            "(what a DIY user builds for automatic counting)."
        ),
        "",
    ]
    return lines


def _breakdown_section(legs: list[Leg]) -> list[str]:
    lines = [
        "## Where a shot's time goes",
        "",
        (
            "The parts of our per-shot disk write, timed alone (thread CPU time, mean "
            "of repeated calls), for a new machine and for one with ten years of "
            "history (500 records, 20 undo steps): serialising a shot's state as the "
            "machine's store does on the event loop (saving one more shot each time, "
            "so whatever the store reuses between saves is reused), encoding it as "
            "Home Assistant's Store does, and writing it in a worker thread. An "
            "atomic write is what the machine's Store does (temporary file, fsync, "
            "rename, directory fsync); a plain write, what most stores do, is shown "
            "for comparison."
        ),
        "",
    ]
    for leg in legs:
        lines.append(f"**{_leg_title(leg)}**:")
        lines.append("")
        rows = []
        for name, label in (("fresh", "new machine"), ("ten_years", "ten years")):
            cost = leg["write_costs"][name]
            rows.append(
                [
                    label,
                    f"{cost['bytes']:,} B",
                    _us(cost["serialize_cpu_us"]),
                    _us(cost["encode_cpu_us"]),
                    f"{_us(cost['atomic_write_cpu_us'])} ({_us(cost['atomic_write_wall_us'])})",
                    f"{_us(cost['plain_write_cpu_us'])} ({_us(cost['plain_write_wall_us'])})",
                ]
            )
        lines += _table(
            [
                "state",
                "file",
                "serialising (store, per shot)",
                "JSON encoding",
                "atomic write CPU (wall)",
                "plain write CPU (wall)",
            ],
            rows,
        )
        fresh, old = _cpu(leg, "ours_action"), _cpu(leg, "ours_action_ten_years")
        new_cost, old_cost = (
            leg["write_costs"]["fresh"],
            leg["write_costs"]["ten_years"],
        )
        parts = sum(
            old_cost[key] - new_cost[key]
            for key in ("serialize_cpu_us", "encode_cpu_us", "atomic_write_cpu_us")
        )
        lines.append(
            f"A shot on the ten-year machine costs {_us(old - fresh)} more than on a "
            f"new one; the bigger file accounts for {_us(parts)} of that "
            "(serialising, encoding and writing above); the rest is spent elsewhere "
            "in the shot, in what reads the history."
        )
        lines.append("")
    return lines


def _writes_section(legs: list[Leg]) -> list[str]:
    lines = [
        "## State writes and disk writes per shot",
        "",
        (
            "Counted in a separate pass (counting costs time, so it is kept out of the "
            "timed runs): `state_changed` and `state_reported` events per entity, and "
            "Home Assistant `Store` writes per file, over "
            "backflush cycles of 14 shots from 0 to due."
        ),
        "",
    ]
    for leg in legs:
        cycles = leg["plan"]["counting_cycles"]
        lines.append(f"**{_leg_title(leg)}**:")
        lines.append("")
        rows = []
        for label, ours, diy in (
            ("`record_shot` vs `counter.increment`", "ours_action", "diy_action"),
            ("counter source vs DIY automation", "ours_source", "diy_source"),
            ("`record_shot`, ten-year machine", "ours_action_ten_years", "diy_action"),
        ):
            ours_w = _writes_per_shot(leg, ours, "ours")
            diy_w = _writes_per_shot(leg, diy, "diy")
            rows.append(
                [
                    label,
                    f"{ours_w:.2f}",
                    f"{diy_w:.2f}",
                    _ratio(ours_w, diy_w),
                    f"{_store_writes_per_shot(leg, ours, 'ours'):.2f}",
                    f"{_store_writes_per_shot(leg, diy, 'diy'):.2f}",
                ]
            )
        lines += _table(
            [
                "shot",
                "ours state writes",
                "DIY state writes",
                "ratio",
                "ours disk writes",
                "DIY disk writes",
            ],
            rows,
        )
        lines.append("Which entities wrote, per cycle of 14 shots:")
        lines.append("")
        changed = leg["counts"]["ours_action"]
        entity_rows = [
            [
                f"`{entity_id}`",
                path,
                f"{leg['counts'][path]['state_writes'].get(entity_id, 0) / cycles:g}",
                f"{leg['counts'][path]['same_state_writes'].get(entity_id, 0) / cycles:g}",
                f"{leg['counts'][path]['reported_writes'].get(entity_id, 0) / cycles:g}",
            ]
            for side, path in (
                ("ours", "ours_action"),
                ("diy", "diy_action"),
                ("diy", "diy_source"),
            )
            for entity_id in sorted(_writes(leg, path, side))
        ]
        lines += _table(
            [
                "entity",
                "path",
                "state_changed",
                "of which attributes only",
                "state_reported (nothing changed)",
            ],
            entity_rows,
        )
        silent = sorted(
            set(leg["entities"]["ours_bench"])
            - set(changed["state_writes"])
            - set(changed["reported_writes"])
        )
        lines.append(
            "Our entities that did not write: "
            + ", ".join(f"`{e}`" for e in silent)
            + "."
        )
        lines.append("")
        sizes = leg["machine_file_bytes"]
        lines.append(
            f"Each of our disk writes rewrites the machine's whole file: "
            f"{sizes['bench']:,} B for the new machine, {sizes['ten_years']:,} B with "
            "ten years of history. The DIY helpers write nothing per shot; Home "
            "Assistant saves their states every 15 minutes (restore state)."
        )
        lines.append("")
    return lines


def _timers_section(legs: list[Leg]) -> list[str]:
    lines = [
        "## Wake-ups over a simulated day",
        "",
        (
            "Home Assistant's clocks (the event loop's, `time.time`, `dt_util.utcnow` "
            "and `now()` in templates) are moved forward minute by minute over one day "
            "of virtual time, from just after a local midnight to just after the next, "
            "with six shots (through the action and `counter.increment`). Every timer "
            "put on the event loop is counted by owner, and whether it fired."
        ),
        "",
    ]
    for leg in legs:
        day = _day(leg)
        timers = leg["day"]["timers"]
        lines.append(f"**{_leg_title(leg)}** (day starting {leg['day']['day_start']}):")
        lines.append("")
        rows = [
            [
                f"ours: {name}",
                f"{counts['fired']:g}",
                f"{counts['scheduled']:g}",
                _ratio(counts["fired"], day["diy_fired"]),
            ]
            for name, counts in day["per_machine"].items()
        ]
        rows.append(
            [
                "DIY, per machine",
                f"{day['diy_fired']:,.0f}",
                f"{day['diy_scheduled']:,.0f}",
                "",
            ]
        )
        lines += _table(["owner", "fired (wake-ups)", "scheduled", "ratio"], rows)
        # Template listeners are told apart by object ids; number them instead.
        templates = iter(range(1, len(timers["diy"]["by_owner"]) + 1))
        owners = sorted(timers["ours"]["by_owner"].items()) + [
            (
                f"template now(): listener {next(templates)}"
                if owner.startswith("template now()")
                else owner,
                counts,
            )
            for owner, counts in sorted(timers["diy"]["by_owner"].items())
        ]
        lines += _table(
            ["timer", "fired", "scheduled"],
            [
                [f"`{owner}`", str(c["fired"]), str(c["scheduled"])]
                for owner, c in owners
            ],
        )
        per_shot = leg["counts"]["ours_action"]["timers"]["ours"]
        shots = leg["counts"]["ours_action"]["shots"]
        lines.append(
            f"Our timers woke Home Assistant at most {day['ours_fired']:g} time(s) per "
            "machine over the day, at local midnight when the day counts change"
            + (
                f"; polling: {', '.join(day['polling'])}. "
                if day["polling"]
                else "; none polls. "
            )
            + f"Shots schedule {per_shot['scheduled'] / shots:.2f} timers per shot"
            + (
                " ("
                + ", ".join(
                    f"`{owner}` {c['scheduled'] / shots:.2f}"
                    for owner, c in sorted(per_shot["by_owner"].items())
                )
                + "; Home Assistant's calendar entity re-creates its event timer "
                "each time it writes its state, and the machine re-arms its "
                "midnight timer only when the next day change moves)"
                if per_shot["by_owner"]
                else ""
            )
            + ". The DIY template sensors use `now()`, so Home Assistant re-renders "
            "each of them every minute."
        )
        lines.append("")
    return lines


def _setup_section(legs: list[Leg]) -> list[str]:
    lines = [
        "## Setup time and memory",
        "",
        (
            "Ours: machines added one by one through the config flow (each returns once "
            "its file is written), then all unloaded and set up again at once, as at a "
            "start of Home Assistant. DIY: the same number of helper sets added to "
            "configuration.yaml and reloaded (`input_datetime`, `template`, "
            "`automation`), the counters made as the UI makes them (YAML counters cannot "
            "be reloaded), minus the same reloads with nothing added. Per machine, wall "
            "time (CPU in brackets). Memory: `tracemalloc` over adding machines after a "
            "first one; RSS growth over the largest batch as a rough check."
        ),
        "",
    ]
    for leg in legs:
        lines.append(f"**{_leg_title(leg)}**:")
        lines.append("")
        rows = [
            [
                f"{row['machines']:g}",
                f"{_ms(row['add_wall'])} ({_ms(row['add_cpu'])})",
                f"{_ms(row['load_wall'])} ({_ms(row['load_cpu'])})",
                f"{_ms(row['diy_wall'])} ({_ms(row['diy_cpu'])})",
                _ratio(row["load_wall"], row["diy_wall"]),
            ]
            for row in _scaling(leg)
        ]
        lines += _table(
            [
                "machines",
                "ours, added via flow",
                "ours, load at start",
                "DIY, reload",
                "load / DIY",
            ],
            rows,
        )
        memory = leg["memory"]
        largest = _scaling(leg)[-1]
        lines.append(
            f"Memory per machine: ours {_kib(memory['ours_bytes'])}, DIY "
            f"{_kib(memory['diy_bytes'])} ({_ratio(memory['ours_bytes'], memory['diy_bytes'])}; "
            f"tracemalloc over {memory['machines']} machines). "
            f"RSS growth per machine over {largest['machines']:g}: ours "
            f"{_kib(largest['ours_rss'])}, DIY {_kib(largest['diy_rss'])}. "
            f"A machine has {leg['scaling'][0]['our_entities']} entities, a DIY set "
            f"{leg['scaling'][0]['diy_entities']} plus an automation."
        )
        lines.append("")
    return lines


def _storage_section(legs: list[Leg]) -> list[str]:
    leg = legs[0]
    simulated = leg["storage"]["simulated"]
    lines = [
        "## Storage after ten years",
        "",
        (
            f"The model driven through {simulated['days']:,} days: six shots a day "
            f"({simulated['shots']:,}), a backflush every week ({simulated['backflushes']}) "
            f"and a descale on the first of every month ({simulated['descales']}), the "
            "due flags evaluated each day and the counter source's reading kept; then "
            "written once by the machine's Store (the file exactly as Home Assistant "
            "writes it) and read back. Goal: 64 KiB."
        ),
        "",
    ]
    rows = []
    for name, label in (
        ("no_notes", "no notes"),
        ("short_notes", "short notes (`Cafiza`, `Citric acid`)"),
        ("max_notes", "255-character notes on every record"),
    ):
        cells = [label]
        for item in legs:
            size = item["storage"][name]["bytes"]
            cells.append(
                f"{size:,} B = {_kib(size)} ({_ratio(size, STORAGE_GOAL_BYTES)} goal)"
            )
        rows.append(cells)
    lines += _table(["records", *(_leg_title(item) for item in legs)], rows)
    kept = leg["storage"]["no_notes"]
    lines.append(
        f"Kept: the last {kept['history_records']} records "
        f"({kept['history_by_kind'].get('backflush', 0)} backflushes, "
        f"{kept['history_by_kind'].get('descale', 0)} descales) and "
        f"{kept['undo_steps']} undo steps. The DIY helpers keep no history: their "
        "states are a few hundred bytes in `core.restore_state`."
    )
    lines.append("")
    return lines


def _method_section(legs: list[Leg], machine: dict[str, Any]) -> list[str]:
    leg = legs[0]
    lines = [
        "## Method",
        "",
        (
            "- One real Home Assistant run per leg, in the benchmark's own process: "
            "`homeassistant.bootstrap.async_setup_hass` with a `RuntimeConfig` on a "
            "throwaway configuration directory (`benchmarks/.work/<leg>/config`, "
            "`skip_pip`), then `hass.async_start()`, so the default integrations load as "
            "in a real installation (frontend and http on 127.0.0.1, automation, counter, "
            "input_datetime, …; no recorder, which is not a default integration). The "
            "integration is linked into the directory's `custom_components` and each "
            "machine is added through the config flow "
            "(`hass.config_entries.flow.async_init` / `async_configure`)."
        ),
        (
            f"- Machines: a semi-automatic with a three-way valve and descaling, shot "
            f"interval {leg['intervals']['backflush_shots']}, "
            f"{leg['intervals']['backflush_days']} days, descale every "
            f"{leg['intervals']['descale_days']} days; last backflush 3 days and last "
            "descale 20 days ago; `Bench` counts from a shot-counter sensor too, `Bench "
            "ten years` was loaded with the ten-year state below. The DIY set has the "
            "same limits."
        ),
        "- The DIY set of one machine, in configuration.yaml:",
        "",
        "```yaml",
        leg["diy_yaml"].rstrip(),
        "```",
        "",
        (
            "- Not counted: kernel threads (the ext4 journal's work for fsync is done by "
            "`jbd2`, outside the process); the recorder, which would store every state "
            "change of both sides."
        ),
        (
            f"- Time zone {leg['time_zone']}. CPU figures move by about ±10 % between "
            "runs on this virtual machine; ratios measured in the same run are steadier."
        ),
    ]
    failed = sorted(
        {name for item in legs for name in item["failed_default_integrations"]}
    )
    if failed:
        lines.append(
            "- Default integrations that did not load because their requirements are "
            "not installed (`skip_pip`): "
            + ", ".join(f"`{name}`" for name in failed)
            + "."
        )
    for item in legs:
        ours = sorted(
            {w.replace("`", "'") for w in item["warnings"] if "espresso" in w.lower()}
        )
        if ours:
            lines.append(
                f"- Logged about the integration on {_leg_title(item)}: "
                + "; ".join(f"`{w[:240]}`" for w in ours)
            )
    lines.append("")
    return lines


def render(
    legs: list[Leg],
    *,
    machine: dict[str, Any],
    missing: dict[str, str],
) -> str:
    """Return BENCHMARKS.md for the legs measured."""
    quick = any(leg["plan"]["quick"] for leg in legs)
    revisions = " and ".join(sorted({leg["revision"] for leg in legs}))
    when = " and ".join(
        sorted({leg["measured_at"][:16].replace("T", " ") for leg in legs})
    )
    lines = [
        "# Benchmarks: Espresso Maintenance against the DIY way",
        "",
        f"Measured by `{' and '.join(sorted({leg['command'] for leg in legs}))}` on {when} UTC at {revisions}"
        + (
            " — **a quick smoke run: few shots and machines, the figures are rough**."
            if quick
            else "."
        ),
        (
            "Run `.venv/bin/python benchmarks/run.py` to measure again (both legs in "
            "about a minute and a half; `--quick` for a smoke run)."
        ),
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['memory_gib']} GiB, {machine['os']}, Linux {machine['kernel']}"
        + (", a virtual machine" if machine["virtual_machine"] else "")
        + f"; the configuration directory is on {machine['filesystem']}.",
        "",
    ]
    lines += _table(
        ["leg", "Python", "Home Assistant", "run took"],
        [
            [
                leg["name"],
                leg["python"],
                leg["home_assistant"],
                f"{leg['duration_s']:.0f} s",
            ]
            for leg in legs
        ],
    )
    if missing:
        lines += [
            "Not measured: "
            + "; ".join(f"{name} leg ({why})" for name, why in missing.items())
            + ".",
            "",
        ]
    summary, why = _goals(legs)
    lines += ["## Summary", "", *summary]
    if why:
        lines += ["### Goals missed, and why", "", *why, ""]
    lines += _cpu_section(legs)
    lines += _breakdown_section(legs)
    lines += _writes_section(legs)
    lines += _timers_section(legs)
    lines += _setup_section(legs)
    lines += _storage_section(legs)
    lines += _method_section(legs, machine)
    return "\n".join(lines).rstrip() + "\n"
