"""Calendar of Espresso Maintenance: maintenance done, and when it is due next.

Upcoming: the next backflush, predicted from the machine's recent shot rate, and
the next descale, as all-day events (an overdue one lasts until today). Past: the
backflushes and descales in the history, and the last ones entered when the
machine was added. Every summary starts with the machine's name, so calendars of
several machines shown together can be told apart.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date, datetime, timedelta

from homeassistant.components.calendar import (
    CalendarEntity,
    CalendarEntityDescription,
    CalendarEvent,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.util import dt as dt_util

from .const import CONF_LAST_BACKFLUSH, CONF_LAST_DESCALE
from .entity import EspressoEntity
from .language import Texts
from .machine import EspressoConfigEntry, Machine
from .model import Kind, local_date
from .todo import descale_description

PARALLEL_UPDATES = 0

CALENDAR = CalendarEntityDescription(
    key="maintenance_calendar", translation_key="maintenance_calendar"
)
# Records are moments; they show as short events.
RECORD_DURATION = timedelta(minutes=10)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EspressoConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Set up the machine's maintenance calendar."""
    async_add_entities([EspressoCalendar(entry.runtime_data, CALENDAR)])


def _all_day(day: date, today: date) -> tuple[date, date]:
    # An overdue maintenance stays on the calendar until it is done.
    return day, max(day, today) + timedelta(days=1)


def _summary(machine: Machine, texts: Texts, key: str) -> str:
    return texts.text("calendar_summary", name=machine.name, summary=texts.text(key))


def upcoming_days(machine: Machine) -> list[tuple[date, date, Kind]]:
    """Return the next backflush and descale, as all-day spans, soonest first."""
    tz = dt_util.get_default_time_zone()
    today = local_date(dt_util.utcnow(), tz)
    days: list[tuple[date, date, Kind]] = []
    if (backflush := machine.predicted_backflush()) is not None:
        days.append((*_all_day(backflush, today), Kind.BACKFLUSH))
    if (descale := machine.status.next_descale) is not None:
        days.append((*_all_day(local_date(descale, tz), today), Kind.DESCALE))
    return sorted(days, key=lambda span: span[0])


def upcoming_event(
    machine: Machine, texts: Texts, start: date, end: date, kind: Kind
) -> CalendarEvent:
    """Return the event of an upcoming maintenance, with what its date rests on."""
    if kind is Kind.BACKFLUSH:
        description = texts.text(
            "calendar_predicted", rate=f"{machine.shot_rate():.1f}"
        )
    else:
        description = descale_description(machine, texts)
    return CalendarEvent(
        start=start,
        end=end,
        summary=_summary(machine, texts, f"calendar_{kind}_due"),
        description=description,
        uid=f"{machine.entry.entry_id}_next_{kind}",
    )


def upcoming_events(machine: Machine, texts: Texts) -> list[CalendarEvent]:
    """Return the next backflush and the next descale, when they can be told."""
    return [upcoming_event(machine, texts, *span) for span in upcoming_days(machine)]


def past_events(machine: Machine, texts: Texts) -> list[CalendarEvent]:
    """Return the maintenance in the history."""
    events = []
    for record in machine.state.history:
        lines = []
        if record.kind is Kind.BACKFLUSH:
            lines.append(
                texts.text(
                    "calendar_shots",
                    shots=record.shots_since_backflush,
                    total=record.total_shots,
                )
            )
        if record.note:
            lines.append(texts.text("calendar_note", note=record.note))
        if record.source:
            lines.append(texts.text("calendar_source", source=record.source))
        start = dt_util.as_local(record.performed_at)
        events.append(
            CalendarEvent(
                start=start,
                end=start + RECORD_DURATION,
                summary=_summary(machine, texts, f"calendar_{record.kind}"),
                description="\n".join(lines) or None,
                uid=f"{machine.entry.entry_id}_{record.kind}_{record.performed_at.isoformat()}",
            )
        )
    return events + setup_events(machine, texts)


SETUP_DATES = {Kind.BACKFLUSH: CONF_LAST_BACKFLUSH, Kind.DESCALE: CONF_LAST_DESCALE}


def setup_events(machine: Machine, texts: Texts) -> list[CalendarEvent]:
    """Return the last backflush and descale entered when the machine was added.

    They are dates without a time, so they show as all-day events; a record of
    the same kind on that day (a back-dated one) is shown instead.
    """
    tz = dt_util.get_default_time_zone()
    events = []
    for kind, key in SETUP_DATES.items():
        if not (value := machine.entry.data.get(key)):
            continue
        day = date.fromisoformat(value)
        if any(
            record.kind is kind and local_date(record.performed_at, tz) == day
            for record in machine.state.history
        ):
            continue
        events.append(
            CalendarEvent(
                start=day,
                end=day + timedelta(days=1),
                summary=_summary(machine, texts, f"calendar_{kind}"),
                description=texts.text("calendar_setup"),
                uid=f"{machine.entry.entry_id}_{kind}_setup",
            )
        )
    return events


def _start(event: CalendarEvent) -> datetime:
    return event.start_datetime_local


def _end(event: CalendarEvent) -> datetime:
    return event.end_datetime_local


class EspressoCalendar(EspressoEntity, CalendarEntity):
    """Past and upcoming maintenance of a machine.

    Its state is the next upcoming maintenance: the state is written when that
    event's days or kind change, not when only its description does (the rate
    of shots it is predicted at moves with every shot). The event is built
    when it changes; the calendar itself always shows the current descriptions.
    """

    # The next event's days and kind for a state, status and day (Home
    # Assistant asks for the event several times per write).
    _next: tuple[object, object, date, tuple[date, date, Kind] | None] | None = None
    _shown: tuple[Hashable, CalendarEvent | None] = (None, None)

    def _next_days(self) -> tuple[date, date, Kind] | None:
        machine = self.machine
        today = local_date(dt_util.utcnow(), dt_util.get_default_time_zone())
        cached = self._next
        if (
            cached is None
            or cached[0] is not machine.state
            or cached[1] is not machine.status
            or cached[2] != today
        ):
            upcoming = upcoming_days(machine)
            cached = self._next = (
                machine.state,
                machine.status,
                today,
                upcoming[0] if upcoming else None,
            )
        return cached[3]

    def state_key(self) -> Hashable:
        """Return what the calendar shows as its state: the next event's days and kind."""
        days = self._next_days()
        return None if days is None else (*days, self.hass.config.language)

    @property
    def event(self) -> CalendarEvent | None:
        """Return the current or next upcoming maintenance."""
        key = self.state_key()
        if key != self._shown[0]:
            days = self._next_days()
            self._shown = (
                key,
                None
                if days is None
                else upcoming_event(self.machine, Texts(self.hass), *days),
            )
        return self._shown[1]

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """Return the events between two moments."""
        texts = Texts(hass)
        events = past_events(self.machine, texts) + upcoming_events(self.machine, texts)
        return sorted(
            (
                event
                for event in events
                if _start(event) < end_date and _end(event) > start_date
            ),
            key=_start,
        )
