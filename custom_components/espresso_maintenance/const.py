"""Constants for Espresso Maintenance."""

from __future__ import annotations

import logging
from typing import Final

from .model import HardnessUnit, Kind, MachineType

DOMAIN: Final = "espresso_maintenance"
LOGGER = logging.getLogger(__package__)

# Device registry models are plain text, not translated.
MACHINE_TYPE_MODELS: Final = {
    MachineType.SEMI_AUTOMATIC: "Semi-automatic espresso machine",
    MachineType.SUPER_AUTOMATIC: "Super-automatic espresso machine",
    MachineType.CAPSULE: "Capsule machine",
    MachineType.LEVER: "Lever espresso machine",
    MachineType.OTHER: "Espresso machine",
}

# Config entry data (what the machine is) and options (how it is tracked).
CONF_MACHINE_TYPE: Final = "machine_type"
CONF_THREE_WAY_VALVE: Final = "three_way_valve"
CONF_TRACK_DESCALE: Final = "track_descale"
CONF_SHOTS_PER_DAY: Final = "shots_per_day"
CONF_WATER_HARDNESS: Final = "water_hardness"
CONF_HARDNESS_UNIT: Final = "hardness_unit"
CONF_BACKFLUSH_INTERVAL_SHOTS: Final = "backflush_interval_shots"
CONF_BACKFLUSH_INTERVAL_DAYS: Final = "backflush_interval_days"
CONF_DESCALE_INTERVAL_DAYS: Final = "descale_interval_days"
# Counting shots from another entity.
CONF_SHOT_SOURCE: Final = "shot_source"
CONF_SOURCE_ENTITY: Final = "source_entity"
CONF_MIN_SECONDS: Final = "min_seconds"
CONF_MAX_SECONDS: Final = "max_seconds"
CONF_POWER_ON_W: Final = "power_on_w"
CONF_POWER_OFF_W: Final = "power_off_w"
# The device of another integration a discovered machine belongs to, written as
# "<integration>:<identifier>" (also the config entry's unique ID, so the device
# is offered once and ignoring it sticks).
CONF_LINKED_DEVICE: Final = "linked_device"
# A pump adds its draw on top of the heater; these suit a single-boiler machine
# with a heater of about 1 kW and must be checked with the calibration aid.
DEFAULT_POWER_ON_W: Final = 1300.0
DEFAULT_POWER_OFF_W: Final = 1100.0
# Longer than any shot, steam or cleaning cycle.
MAX_SOURCE_SECONDS: Final = 600
# Recognising a backflush in a brewing or power source's pulses (defaults and
# their sources in detectors.py).
CONF_DETECT_BACKFLUSH: Final = "detect_backflush"
CONF_BACKFLUSH_PULSES: Final = "backflush_pulses"
CONF_BACKFLUSH_PULSE_SECONDS: Final = "backflush_pulse_seconds"
CONF_BACKFLUSH_PAUSE_SECONDS: Final = "backflush_pause_seconds"
# Fewer pulses is a pair of flushes; more than a few minutes of them is no pattern.
MIN_BACKFLUSH_PULSES: Final = 2
MAX_BACKFLUSH_PULSES: Final = 20
MAX_BACKFLUSH_PAUSE_SECONDS: Final = 300

# Maintenance recorded from the machine's own entities.
CONF_BACKFLUSH_SOURCE: Final = "backflush_source"
CONF_BACKFLUSH_SOURCE_ENTITY: Final = "backflush_source_entity"
CONF_DESCALE_SOURCE: Final = "descale_source"
CONF_DESCALE_SOURCE_ENTITY: Final = "descale_source_entity"
# The shortest on-time of a cleaning program entity that is a program run, not
# flapping: an automatic backflush program (La Marzocco's runs its pulses for
# about a minute and a half) and a descaling program (20 to 45 minutes on
# bean-to-cup machines, rinse included).
PROGRAM_MIN_SECONDS: Final = {Kind.BACKFLUSH: 20, Kind.DESCALE: 120}

# Descaling from use (options; a machine without them takes the defaults).
# The water a counted shot adds, in mL (default: model.DEFAULT_WATER_PER_SHOT_ML).
CONF_WATER_PER_SHOT_ML: Final = "water_per_shot_ml"
# A sensor metering the water through the machine; shots then add none.
CONF_WATER_SOURCE: Final = "water_source"
# The fewest and most days between descales, whatever the use. Without them the
# seed's one and three months apply, widened to hold the descale interval.
CONF_DESCALE_MIN_DAYS: Final = "descale_min_days"
CONF_DESCALE_MAX_DAYS: Final = "descale_max_days"
# A ristretto with no flush to a mug of hot water.
MIN_WATER_PER_SHOT_ML: Final = 10
MAX_WATER_PER_SHOT_ML: Final = 1000
# A water source rising by more at once is a glitch or a replaced meter: more
# than a home machine takes in a busy day, steam and hot water included.
MAX_WATER_JUMP_ML: Final = 20_000

# The starting point, used once when the machine's storage is created.
CONF_LAST_BACKFLUSH: Final = "last_backflush"
CONF_LAST_DESCALE: Final = "last_descale"
CONF_SHOTS_SINCE_BACKFLUSH: Final = "shots_since_backflush"
# Set once the machine's storage file exists, so a missing file is noticed.
CONF_STORAGE_CREATED: Final = "storage_created"

HARDNESS_UNKNOWN: Final = "unknown"
# How each unit is written after a number.
HARDNESS_UNIT_SYMBOLS: Final = {
    HardnessUnit.GERMAN_DEGREE: "°dH",
    HardnessUnit.FRENCH_DEGREE: "°fH",
    HardnessUnit.CLARK_DEGREE: "°e",
    HardnessUnit.MG_L_CACO3: "mg/L CaCO₃",
    HardnessUnit.GRAINS_PER_GALLON: "gpg",
    HardnessUnit.MMOL_L: "mmol/L",
}

# Two shots a day is a typical home default.
DEFAULT_SHOTS_PER_DAY: Final = 2.0
MAX_SHOTS_PER_DAY: Final = 50.0
MAX_INTERVAL_SHOTS: Final = 1000
MAX_INTERVAL_DAYS: Final = 365

# Action limits.
MAX_SHOTS_PER_CALL: Final = 20
MAX_SHOTS_SINCE_BACKFLUSH: Final = 10000
MAX_NOTE_LENGTH: Final = 255

ATTR_COUNT: Final = "count"
ATTR_PERFORMED_AT: Final = "performed_at"
ATTR_NOTE: Final = "note"
ATTR_SHOTS: Final = "shots"

SERVICE_RECORD_SHOT: Final = "record_shot"
SERVICE_RECORD_BACKFLUSH: Final = "record_backflush"
SERVICE_RECORD_DESCALE: Final = "record_descale"
SERVICE_UNDO_LAST_RECORD: Final = "undo_last_record"
SERVICE_SET_SHOTS_SINCE_BACKFLUSH: Final = "set_shots_since_backflush"
SERVICE_GET_STATUS: Final = "get_status"

EVENT_NAME: Final = f"{DOMAIN}_event"
EVENT_BACKFLUSH_RECORDED: Final = "backflush_recorded"
EVENT_DESCALE_RECORDED: Final = "descale_recorded"
EVENT_BACKFLUSH_DUE: Final = "backflush_due"
EVENT_DESCALE_DUE: Final = "descale_due"
EVENT_RECORD_UNDONE: Final = "record_undone"
EVENT_TYPES: Final = (
    EVENT_BACKFLUSH_RECORDED,
    EVENT_DESCALE_RECORDED,
    EVENT_BACKFLUSH_DUE,
    EVENT_DESCALE_DUE,
    EVENT_RECORD_UNDONE,
)
# The logbook's icon of each event type, the same as the event entity's in icons.json.
EVENT_ICONS: Final = {
    EVENT_BACKFLUSH_RECORDED: "mdi:coffee-maker-check",
    EVENT_DESCALE_RECORDED: "mdi:water-check",
    EVENT_BACKFLUSH_DUE: "mdi:coffee-maker-outline",
    EVENT_DESCALE_DUE: "mdi:water-alert",
    EVENT_RECORD_UNDONE: "mdi:undo",
}

STORAGE_VERSION: Final = 3
# 2.2 added the water log and scale bases for descaling from use; 2.3 the
# sources of detected records and the last readings of timestamp sources.
STORAGE_MINOR_VERSION: Final = 1
