"""End to end: malformed input through every public surface changes nothing.

One table of bad action calls goes through the WebSocket API and the REST API;
another goes through the config, reconfigure and options flows' REST endpoints.
Each input must get a clear error (our translation key and English text, or, for
a value the form's selector itself refuses, Home Assistant's schema error naming
the field), leave every machine's status and storage file as they were, and
log no unhandled exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.espresso_maintenance.const import DOMAIN

from .harness import (
    MACHINE_STEP,
    TRANSLATIONS,
    Client,
    HassProcess,
    Machine,
    WebSocket,
    async_poll,
    async_start_onboarded,
    drain,
    exception_text,
    parse_log,
)

pytestmark = pytest.mark.e2e

GAGGIA = {"entity_id": "sensor.gaggia_total_shots"}
# A capsule machine: no valve and no descale tracking.
NESPRESSO = {"entity_id": "sensor.nespresso_total_shots"}
KETTLE = "input_boolean.kettle"
EXTRA_CONFIG = f"""\
input_boolean:
  {KETTLE.split(".")[1]}:
    name: Kettle
"""
# Home Assistant answers a ServiceValidationError over REST with a 400 and the
# translated message since 2026.10 (home-assistant/core#181590). Before, the
# REST view let it escape: aiohttp logged it with a traceback (whose last line
# is our translated message) and answered a bare 500. The WebSocket API, which
# the frontend uses, gives the translated message on every version.
REST_400_SINCE = (2026, 10)


@dataclass(frozen=True)
class ActionCase:
    """A bad action call and the error it must get."""

    action: str
    data: dict[str, Any]
    key: str
    placeholders: dict[str, str] = field(default_factory=dict)


def action_cases(now: datetime) -> list[ActionCase]:
    """Return the bad action calls; times are relative to Home Assistant's now."""
    tomorrow = (now + timedelta(days=1)).date().isoformat()
    soon = (now + timedelta(minutes=5)).isoformat()
    return [
        # Targets: none, wrong types, unknown, and other integrations' entities.
        ActionCase("record_shot", {}, "no_target"),
        ActionCase("record_shot", {"entity_id": []}, "no_target"),
        ActionCase("record_shot", {"entity_id": " , "}, "no_target"),
        ActionCase(
            "record_shot", {"entity_id": KETTLE}, "not_a_machine", {"target": KETTLE}
        ),
        ActionCase(
            "record_shot", {"entity_id": "sensor.does_not_exist"}, "not_a_machine"
        ),
        ActionCase(
            "record_shot",
            {"device_id": "0123456789abcdef0123456789abcdef"},
            "not_a_machine",
        ),
        ActionCase("record_shot", {"area_id": "nowhere"}, "not_a_machine"),
        ActionCase("record_shot", {"floor_id": "basement"}, "not_a_machine"),
        ActionCase("record_shot", {"label_id": "coffee"}, "not_a_machine"),
        ActionCase(
            "record_shot",
            {"entity_id": [GAGGIA["entity_id"], KETTLE]},
            "not_a_machine",
            {"target": KETTLE},
        ),
        ActionCase(
            "record_shot",
            {"entity_id": f"{GAGGIA['entity_id']}, {KETTLE}"},
            "not_a_machine",
        ),
        ActionCase("record_shot", {"entity_id": 42}, "invalid_target"),
        ActionCase("record_shot", {"entity_id": {"id": 1}}, "invalid_target"),
        ActionCase(
            "record_shot", {"entity_id": [GAGGIA["entity_id"], 7]}, "invalid_target"
        ),
        ActionCase("record_shot", {"device_id": True}, "invalid_target"),
        # Counts: out of range, not whole numbers, wrong types.
        ActionCase(
            "record_shot",
            {**GAGGIA, "count": 0},
            "out_of_range",
            {"field": "count", "value": "0", "min": "1", "max": "20"},
        ),
        ActionCase("record_shot", {**GAGGIA, "count": 21}, "out_of_range"),
        ActionCase("record_shot", {**GAGGIA, "count": -3}, "out_of_range"),
        ActionCase("record_shot", {**GAGGIA, "count": 2**53}, "out_of_range"),
        ActionCase("record_shot", {**GAGGIA, "count": 1.5}, "not_a_whole_number"),
        ActionCase(
            "record_shot",
            {**GAGGIA, "count": "three"},
            "not_a_whole_number",
            {"field": "count", "value": "three"},
        ),
        ActionCase("record_shot", {**GAGGIA, "count": "1e3"}, "not_a_whole_number"),
        ActionCase("record_shot", {**GAGGIA, "count": "   "}, "not_a_whole_number"),
        ActionCase("record_shot", {**GAGGIA, "count": True}, "not_a_whole_number"),
        ActionCase("record_shot", {**GAGGIA, "count": None}, "not_a_whole_number"),
        ActionCase("record_shot", {**GAGGIA, "count": [1]}, "not_a_whole_number"),
        ActionCase(
            "record_shot", {**GAGGIA, "shots": 1}, "unknown_field", {"field": "shots"}
        ),
        # Dates: in the future, unparsable, wrong types.
        ActionCase(
            "record_backflush",
            {**GAGGIA, "performed_at": "2099-01-01T00:00:00+00:00"},
            "datetime_in_future",
        ),
        ActionCase(
            "record_backflush",
            {**GAGGIA, "performed_at": tomorrow},
            "datetime_in_future",
            {"value": tomorrow},
        ),
        ActionCase(
            "record_backflush", {**GAGGIA, "performed_at": soon}, "datetime_in_future"
        ),
        ActionCase(
            "record_descale",
            {**GAGGIA, "performed_at": "3026-01-01T00:00:00"},
            "datetime_in_future",
        ),
        ActionCase(
            "record_backflush",
            {**GAGGIA, "performed_at": "yesterday"},
            "invalid_datetime",
            {"value": "yesterday"},
        ),
        ActionCase(
            "record_backflush",
            {**GAGGIA, "performed_at": "2026-02-30"},
            "invalid_datetime",
        ),
        ActionCase(
            "record_descale", {**GAGGIA, "performed_at": "25:61"}, "invalid_datetime"
        ),
        ActionCase(
            "record_descale", {**GAGGIA, "performed_at": ""}, "invalid_datetime"
        ),
        ActionCase(
            "record_backflush",
            {**GAGGIA, "performed_at": 1700000000},
            "invalid_datetime",
        ),
        ActionCase(
            "record_descale",
            {**GAGGIA, "performed_at": ["2026-01-01"]},
            "invalid_datetime",
        ),
        # Notes: too long, huge, wrong types.
        ActionCase(
            "record_backflush",
            {**GAGGIA, "note": "x" * 256},
            "note_too_long",
            {"length": "256", "max": "255"},
        ),
        ActionCase(
            "record_descale",
            {**GAGGIA, "note": "Citric acid " * 10_000},
            "note_too_long",
            {"length": str(len(("Citric acid " * 10_000).strip()))},
        ),
        ActionCase("record_backflush", {**GAGGIA, "note": 12}, "invalid_note"),
        ActionCase("record_descale", {**GAGGIA, "note": ["a"]}, "invalid_note"),
        ActionCase(
            "record_backflush", {**GAGGIA, "note": {"text": "a"}}, "invalid_note"
        ),
        ActionCase("record_backflush", {**GAGGIA, "count": 1}, "unknown_field"),
        # Maintenance the machine does not track.
        ActionCase(
            "record_backflush",
            NESPRESSO,
            "backflush_not_tracked",
            {"name": "Nespresso"},
        ),
        ActionCase(
            "record_descale", NESPRESSO, "descale_not_tracked", {"name": "Nespresso"}
        ),
        ActionCase(
            "set_shots_since_backflush",
            {**NESPRESSO, "shots": 3},
            "backflush_not_tracked",
        ),
        # Correcting the counter.
        ActionCase(
            "set_shots_since_backflush", GAGGIA, "missing_field", {"field": "shots"}
        ),
        ActionCase(
            "set_shots_since_backflush", {**GAGGIA, "shots": -1}, "out_of_range"
        ),
        ActionCase(
            "set_shots_since_backflush",
            {**GAGGIA, "shots": 10001},
            "out_of_range",
            {"max": "10000"},
        ),
        ActionCase(
            "set_shots_since_backflush",
            {**GAGGIA, "shots": "lots"},
            "not_a_whole_number",
        ),
        ActionCase(
            "set_shots_since_backflush",
            {**GAGGIA, "shots": 2.5},
            "not_a_whole_number",
        ),
        # Undo and status.
        ActionCase("undo_last_record", {**GAGGIA, "note": "x"}, "unknown_field"),
        ActionCase("undo_last_record", {}, "no_target"),
        ActionCase(
            "undo_last_record", NESPRESSO, "nothing_to_undo", {"name": "Nespresso"}
        ),
        ActionCase("get_status", {}, "no_target"),
        ActionCase("get_status", {**GAGGIA, "verbose": True}, "unknown_field"),
        ActionCase("get_status", {"entity_id": KETTLE}, "not_a_machine"),
    ]


@dataclass(frozen=True)
class FlowCase:
    """A bad flow submission and the error it must get at its field.

    `error` is our translation key for a form error; None means the form's
    selector refuses the value, which Home Assistant answers with a 400 that
    names the field.
    """

    step: str
    data: dict[str, Any]
    field: str
    error: str | None
    without: tuple[str, ...] = ()


VALID_MACHINE = MACHINE_STEP
VALID_POWER = {
    "source_entity": "sensor.plug_power",
    "power_on_w": 1300,
    "power_off_w": 1100,
    "min_seconds": 15,
    "max_seconds": 60,
}
VALID_MAINTENANCE = {
    "backflush_interval_shots": 14,
    "backflush_interval_days": 7,
    "descale_interval_days": 60,
    "shots_since_backflush": 0,
}
VALID_OPTIONS = {
    key: value for key, value in VALID_MACHINE.items() if key != "three_way_valve"
}
VALID_LIMITS = {
    "backflush_interval_shots": 14,
    "backflush_interval_days": 7,
    "descale_interval_days": 60,
}
# What each step is given, before a case changes one field.
VALID: dict[str, dict[str, Any]] = {
    "user": {"name": "Cimbali", "machine_type": "semi_automatic"},
    "machine": VALID_MACHINE,
    "shot_source_power": VALID_POWER,
    "maintenance": VALID_MAINTENANCE,
    "reconfigure": {
        "name": "Gaggia",
        "machine_type": "semi_automatic",
        "three_way_valve": True,
    },
    "init": VALID_OPTIONS,
    "shot_source_counter": {"source_entity": "sensor.shot_counter"},
    "limits": VALID_LIMITS,
    "descale": {
        "water_per_shot_ml": 100,
        "descale_min_days": 30,
        "descale_max_days": 90,
    },
}


def flow_cases(today: str, tomorrow: str) -> list[FlowCase]:
    """Return the bad flow submissions."""
    return [
        # Adding a machine: name and type. A missing field is refused while the
        # form has no default for it, so this comes before any name is sent.
        FlowCase("user", {}, "name", None, without=("name",)),
        FlowCase("user", {"name": "   "}, "name", "name_empty"),
        FlowCase("user", {"name": 123}, "name", None),
        FlowCase("user", {"name": ["Cimbali"]}, "name", None),
        FlowCase("user", {"machine_type": "robot"}, "machine_type", None),
        # Valve, use and water.
        FlowCase(
            "machine",
            {"shots_per_day": 51},
            "shots_per_day",
            "shots_per_day_out_of_range",
        ),
        FlowCase(
            "machine",
            {"shots_per_day": -1},
            "shots_per_day",
            "shots_per_day_out_of_range",
        ),
        FlowCase("machine", {"shots_per_day": "abc"}, "shots_per_day", None),
        FlowCase(
            "machine",
            {"water_hardness": 5000, "hardness_unit": "mg_l"},
            "water_hardness",
            "hardness_out_of_range",
        ),
        FlowCase(
            "machine", {"water_hardness": 60}, "water_hardness", "hardness_out_of_range"
        ),
        FlowCase(
            "machine", {"water_hardness": -2}, "water_hardness", "hardness_out_of_range"
        ),
        FlowCase(
            "machine",
            {"hardness_unit": "unknown"},
            "hardness_unit",
            "hardness_unit_required",
        ),
        FlowCase(
            "machine",
            {},
            "water_hardness",
            "hardness_required",
            without=("water_hardness",),
        ),
        FlowCase("machine", {"hardness_unit": "furlongs"}, "hardness_unit", None),
        FlowCase("machine", {"shot_source": "telepathy"}, "shot_source", None),
        # A power sensor as shot source.
        FlowCase(
            "shot_source_power",
            {"source_entity": KETTLE},
            "source_entity",
            None,
        ),
        FlowCase(
            "shot_source_power",
            {"source_entity": "sensor.does_not_exist"},
            "source_entity",
            "source_not_found",
        ),
        FlowCase(
            "shot_source_power",
            {"source_entity": "sensor.gaggia_total_shots"},
            "source_entity",
            "source_is_own_entity",
        ),
        FlowCase(
            "shot_source_power",
            {"source_entity": "not an entity"},
            "source_entity",
            None,
        ),
        FlowCase(
            "shot_source_power", {"power_on_w": 0}, "power_on_w", "power_not_positive"
        ),
        FlowCase(
            "shot_source_power",
            {"power_off_w": 1500},
            "power_off_w",
            "off_not_below_on",
        ),
        FlowCase(
            "shot_source_power",
            {"min_seconds": 0},
            "min_seconds",
            "seconds_out_of_range",
        ),
        FlowCase(
            "shot_source_power", {"max_seconds": 10}, "max_seconds", "max_not_above_min"
        ),
        FlowCase(
            "shot_source_power",
            {"max_seconds": 601},
            "max_seconds",
            "max_not_above_min",
        ),
        FlowCase("shot_source_power", {"min_seconds": "fast"}, "min_seconds", None),
        # Intervals and starting point.
        FlowCase(
            "maintenance",
            {"backflush_interval_shots": 0},
            "backflush_interval_shots",
            "interval_not_positive",
        ),
        FlowCase(
            "maintenance",
            {"backflush_interval_shots": 2.5},
            "backflush_interval_shots",
            "interval_not_positive",
        ),
        FlowCase(
            "maintenance",
            {"backflush_interval_shots": 1001},
            "backflush_interval_shots",
            "interval_too_large",
        ),
        FlowCase(
            "maintenance",
            {"backflush_interval_days": 366},
            "backflush_interval_days",
            "interval_too_large",
        ),
        FlowCase(
            "maintenance",
            {"descale_interval_days": -5},
            "descale_interval_days",
            "interval_not_positive",
        ),
        FlowCase(
            "maintenance",
            {"backflush_interval_shots": "many"},
            "backflush_interval_shots",
            None,
        ),
        FlowCase(
            "maintenance",
            {"last_backflush": tomorrow},
            "last_backflush",
            "date_in_future",
        ),
        FlowCase(
            "maintenance",
            {"last_descale": "2999-12-31"},
            "last_descale",
            "date_in_future",
        ),
        FlowCase("maintenance", {"last_descale": "2026-02-30"}, "last_descale", None),
        FlowCase(
            "maintenance", {"last_backflush": "last week"}, "last_backflush", None
        ),
        FlowCase(
            "maintenance",
            {"last_descale": f"{today}T08:00:00"},
            "last_descale",
            None,
        ),
        FlowCase(
            "maintenance",
            {"shots_since_backflush": 10001},
            "shots_since_backflush",
            "shots_out_of_range",
        ),
        FlowCase(
            "maintenance",
            {"shots_since_backflush": -1},
            "shots_since_backflush",
            "shots_out_of_range",
        ),
        FlowCase(
            "maintenance",
            {"shots_since_backflush": 1.5},
            "shots_since_backflush",
            "shots_out_of_range",
        ),
        # Reconfiguring the machine.
        FlowCase("reconfigure", {"name": " "}, "name", "name_empty"),
        FlowCase("reconfigure", {"name": "NESPRESSO"}, "name", "name_taken"),
        FlowCase("reconfigure", {"machine_type": "kettle"}, "machine_type", None),
        # Options: use and water.
        FlowCase(
            "init", {"shots_per_day": 51}, "shots_per_day", "shots_per_day_out_of_range"
        ),
        FlowCase("init", {"shots_per_day": "lots"}, "shots_per_day", None),
        FlowCase(
            "init",
            {"water_hardness": 5000, "hardness_unit": "mg_l"},
            "water_hardness",
            "hardness_out_of_range",
        ),
        FlowCase(
            "init",
            {"water_hardness": 3, "hardness_unit": "unknown"},
            "hardness_unit",
            "hardness_unit_required",
        ),
        FlowCase(
            "init",
            {},
            "water_hardness",
            "hardness_required",
            without=("water_hardness",),
        ),
        FlowCase("init", {"hardness_unit": "ppm!"}, "hardness_unit", None),
        # Options: a shot counter as source.
        FlowCase(
            "shot_source_counter",
            {"source_entity": KETTLE},
            "source_entity",
            None,
        ),
        FlowCase(
            "shot_source_counter",
            {"source_entity": "sensor.gaggia_total_shots"},
            "source_entity",
            "source_is_own_entity",
        ),
        FlowCase(
            "shot_source_counter",
            {"source_entity": "sensor.nope"},
            "source_entity",
            "source_not_found",
        ),
        FlowCase("shot_source_counter", {"source_entity": 42}, "source_entity", None),
        # Options: intervals.
        FlowCase(
            "limits",
            {"backflush_interval_shots": 0},
            "backflush_interval_shots",
            "interval_not_positive",
        ),
        FlowCase(
            "limits",
            {"descale_interval_days": 400},
            "descale_interval_days",
            "interval_too_large",
        ),
        FlowCase(
            "limits", {"backflush_interval_days": "x"}, "backflush_interval_days", None
        ),
        # Options: descaling from use.
        FlowCase(
            "descale",
            {"water_per_shot_ml": 5},
            "water_per_shot_ml",
            "water_per_shot_out_of_range",
        ),
        FlowCase("descale", {"water_per_shot_ml": "lots"}, "water_per_shot_ml", None),
        FlowCase(
            "descale",
            {"descale_min_days": 0},
            "descale_min_days",
            "descale_bound_out_of_range",
        ),
        FlowCase(
            "descale",
            {"descale_min_days": 90},
            "descale_max_days",
            "descale_max_not_above_min",
        ),
        FlowCase(
            "descale",
            {"descale_max_days": 59},
            "descale_max_days",
            "descale_interval_above_max",
        ),
        FlowCase(
            "descale",
            {"water_source": "sensor.nope"},
            "water_source",
            "water_source_not_found",
        ),
        FlowCase(
            "descale",
            {"water_source": "sensor.gaggia_total_shots"},
            "water_source",
            "water_source_is_own_entity",
        ),
        FlowCase("descale", {"water_source": 42}, "water_source", None),
    ]


CONFIG_FLOW = "/api/config/config_entries/flow"
OPTIONS_FLOW = "/api/config/config_entries/options/flow"


class Flows:
    """Open flows, one waiting at each step the cases need."""

    def __init__(self, client: Client, gaggia: Machine) -> None:
        """Remember where to open them."""
        self.client = client
        self.gaggia = gaggia
        self.open: dict[str, tuple[str, str]] = {}

    async def _start(
        self, base: str, body: dict[str, Any], steps: list[dict[str, Any]]
    ) -> str:
        result = await self.client.async_ok("POST", base, body)
        for step in steps:
            result = await self.client.async_ok(
                "POST", f"{base}/{result['flow_id']}", step
            )
            assert result["type"] == "form", result
            assert not result["errors"], result
        return str(result["flow_id"])

    async def async_open(self) -> None:
        """Bring a flow to each step."""
        new = {"handler": DOMAIN}
        options = {"handler": self.gaggia.entry_id}
        user = VALID["user"]
        plans: dict[str, tuple[str, dict[str, Any], list[dict[str, Any]]]] = {
            "user": (CONFIG_FLOW, new, []),
            "machine": (CONFIG_FLOW, new, [user]),
            "shot_source_power": (
                CONFIG_FLOW,
                new,
                [user, {**VALID_MACHINE, "shot_source": "power"}],
            ),
            "maintenance": (CONFIG_FLOW, new, [user, VALID_MACHINE]),
            "reconfigure": (
                CONFIG_FLOW,
                {**new, "entry_id": self.gaggia.entry_id},
                [],
            ),
            "init": (OPTIONS_FLOW, options, []),
            "shot_source_counter": (
                OPTIONS_FLOW,
                options,
                [{**VALID_OPTIONS, "shot_source": "counter"}],
            ),
            "limits": (OPTIONS_FLOW, options, [VALID_OPTIONS]),
            "descale": (OPTIONS_FLOW, options, [VALID_OPTIONS, VALID_LIMITS]),
        }
        for step, (base, body, steps) in plans.items():
            self.open[step] = (base, await self._start(base, body, steps))

    async def async_submit(self, case: FlowCase) -> tuple[int, Any]:
        """Submit a case to the flow waiting at its step."""
        base, flow_id = self.open[case.step]
        data = {**VALID[case.step], **case.data}
        for key in case.without:
            data.pop(key, None)
        return await self.client.async_request("POST", f"{base}/{flow_id}", data)

    async def async_close(self) -> None:
        """Abort every open flow, so none can create anything later."""
        for base, flow_id in self.open.values():
            status, body = await self.client.async_request(
                "DELETE", f"{base}/{flow_id}"
            )
            assert status == 200, body


async def unchanged_view(
    hass: HassProcess, client: Client, ws: WebSocket, machines: list[Machine]
) -> dict[str, Any]:
    """Return what no bad input may change: statuses, files and config entries."""
    view: dict[str, Any] = {}
    for machine in machines:
        answer = await ws.async_call_service(
            DOMAIN, "get_status", machine.target, return_response=True
        )
        assert answer["success"], answer
        view[machine.name] = {
            "status": answer["result"]["response"],
            "file": hass.storage_path(machine.entry_id).read_bytes(),
        }
    # Targeting another integration's entity must not touch it either.
    view[KETTLE] = await client.async_state(KETTLE)
    view["entries"] = {
        entry_id: (entry["title"], entry["state"])
        for entry_id, entry in (await client.async_entries()).items()
    }
    return view


async def wait_for_log(hass: HassProcess, offset: int, text: str) -> None:
    """Wait until the log, after `offset`, contains a text."""
    await async_poll(lambda: text in hass.read_log()[offset:], 10)


def version(text: str) -> tuple[int, int]:
    """Return the year and month of a Home Assistant version."""
    match = re.match(r"(\d+)\.(\d+)", text)
    assert match, text
    return int(match[1]), int(match[2])


@pytest.mark.timeout(240)
async def test_bad_input_everywhere_is_refused_and_changes_nothing(
    hass_factory: Callable[..., HassProcess],
) -> None:
    """Every malformed input gets a clear error and changes nothing."""
    hass, client = await async_start_onboarded(hass_factory, extra_config=EXTRA_CONFIG)
    try:
        await run_bad_input(hass, client)
    finally:
        await client.async_close()


async def run_bad_input(hass: HassProcess, client: Client) -> None:
    """Send every table's bad input and check each answer."""
    gaggia = await client.async_add_machine("Gaggia")
    result = await client.async_flow(
        [
            {"name": "Nespresso", "machine_type": "capsule"},
            {**VALID_MACHINE, "three_way_valve": False, "track_descale": False},
            {},
        ],
        base=CONFIG_FLOW,
        handler=DOMAIN,
    )
    assert result["type"] == "create_entry", result
    nespresso = Machine(result["result"]["entry_id"], "Nespresso", "nespresso")
    machines = [gaggia, nespresso]
    backflushed = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    for data in ({"count": 5}, {"performed_at": backflushed, "note": "Cafiza"}):
        action = "record_shot" if "count" in data else "record_backflush"
        status, body = await client.async_service(action, {**GAGGIA, **data})
        assert status == 200, body
    assert await client.async_state(KETTLE) == "off"
    config = await client.async_ok("GET", "/api/config")
    rest_gives_400 = version(config["version"]) >= REST_400_SINCE
    now = datetime.now(ZoneInfo(config["time_zone"]))

    ws = await client.async_websocket()
    events = await ws.async_subscribe()
    offset = hass.log_size()
    before = await unchanged_view(hass, client, ws, machines)
    checked = 0
    legacy_500s: list[str] = []

    for case in action_cases(now):
        where = f"{case.action} {str(case.data)[:200]}"
        answer = await ws.async_call_service(
            DOMAIN, case.action, case.data, return_response=case.action == "get_status"
        )
        assert not answer["success"], where
        error = answer["error"]
        assert error["code"] == "service_validation_error", (where, error)
        assert error["translation_domain"] == DOMAIN, where
        assert error["translation_key"] == case.key, (where, error)
        assert case.placeholders.items() <= error["translation_placeholders"].items()
        text = exception_text(case.key, **error["translation_placeholders"]).rstrip(".")
        assert text in error["message"], (where, error)
        assert await unchanged_view(hass, client, ws, machines) == before, where

        path = f"/api/services/{DOMAIN}/{case.action}"
        if case.action == "get_status":
            path += "?return_response"
        status, body = await client.async_request("POST", path, case.data)
        if rest_gives_400:
            assert status == 400, (where, status, body)
            assert body == {"message": text}, where
        else:
            # Home Assistant before 2026.10: see REST_400_SINCE.
            assert status == 500, (where, status, body)
            await wait_for_log(
                hass, offset, f"homeassistant.exceptions.ServiceValidationError: {text}"
            )
            legacy_500s.append(text)
        assert await unchanged_view(hass, client, ws, machines) == before, where
        checked += 2

    today = now.date().isoformat()
    tomorrow = (now + timedelta(days=1)).date().isoformat()
    flows = Flows(client, gaggia)
    await flows.async_open()
    for case in flow_cases(today, tomorrow):
        where = f"{case.step} {case.data} without {case.without}"
        status, body = await flows.async_submit(case)
        if case.error is None:
            assert status == 400, (where, status, body)
            assert set(body["errors"]) == {case.field}, (where, body)
        else:
            assert status == 200, (where, status, body)
            assert body["type"] == "form", (where, body)
            assert body["step_id"] == case.step, (where, body)
            assert body["errors"].get(case.field) == case.error, (where, body)
            section = (
                "options"
                if case.step in ("init", "shot_source_counter", "limits", "descale")
                else "config"
            )
            assert TRANSLATIONS[section]["error"][case.error], where
        assert await unchanged_view(hass, client, ws, machines) == before, where
        checked += 1
    await flows.async_close()

    # A second machine with a taken name, in any letter case, is refused.
    result = await client.async_ok("POST", CONFIG_FLOW, {"handler": DOMAIN})
    result = await client.async_ok(
        "POST",
        f"{CONFIG_FLOW}/{result['flow_id']}",
        {"name": "gAGGIA", "machine_type": "lever"},
    )
    assert result["type"] == "abort", result
    assert result["reason"] == "already_configured"
    assert result["description_placeholders"] == {"name": "gAGGIA"}
    assert "{name}" in TRANSLATIONS["config"]["abort"]["already_configured"]
    checked += 1
    assert await unchanged_view(hass, client, ws, machines) == before

    assert checked >= 150, checked
    await asyncio.sleep(0.2)
    assert drain(events) == [], "a refused input fired an event"
    check_log(hass.read_log()[offset:], legacy_500s)


def check_log(log: str, legacy_500s: list[str]) -> None:
    """Check the log has no unhandled exception, apart from Home Assistant's own.

    Home Assistant logs each refused WebSocket call as one error line with our
    message (no traceback). Before 2026.10, its REST view also let each refused
    call escape to aiohttp, which logs it with a traceback: exactly one per
    refused REST call, each a ServiceValidationError carrying our text.
    """
    entries = parse_log(log)
    tracebacks = [entry for entry in entries if entry.has_traceback]
    assert len(tracebacks) == len(legacy_500s), [e.text[-300:] for e in tracebacks]
    for entry, text in zip(tracebacks, legacy_500s, strict=True):
        assert entry.logger == "aiohttp.server", entry.text
        assert entry.text.rstrip().endswith(
            f"homeassistant.exceptions.ServiceValidationError: {text}".rstrip()
        ), entry.text[-500:]
    for entry in entries:
        if entry.level in ("ERROR", "CRITICAL") and not entry.has_traceback:
            assert entry.logger.startswith("homeassistant.components.websocket_api"), (
                entry.text
            )
        assert not entry.logger.startswith("custom_components"), entry.text
    assert "Unexpected exception" not in log
    assert "Error doing job" not in log
    assert "Exception in" not in log
