"""Run a real Home Assistant process and talk to it over HTTP and WebSocket.

The end-to-end tests start `python -m homeassistant` from the environment running
pytest (so each leg tests its own Home Assistant) with a throwaway config dir,
onboard a user and add machines through the same REST endpoints the frontend
uses. Every wait has a timeout, and a process is always killed, with its whole
process group, when its test ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
import contextlib
import ctypes
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import re
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Self

import aiohttp

from custom_components.espresso_maintenance.const import DOMAIN, EVENT_NAME
from custom_components.espresso_maintenance.journal import read_journal
from custom_components.espresso_maintenance.model import apply_use
from custom_components.espresso_maintenance.store import (
    state_from_dict,
    state_to_dict,
)

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / DOMAIN
TRANSLATIONS = json.loads(
    (INTEGRATION / "translations" / "en.json").read_text(encoding="utf-8")
)

# A cold start takes about 5 s on two cores; a loaded CI runner may take longer.
START_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
CLIENT_NAME = "end-to-end tests"

CONFIGURATION = """\
homeassistant:
  name: End-to-end
  time_zone: {time_zone}
  country: IT
  currency: EUR
  unit_system: metric
  latitude: 45.46
  longitude: 9.19
  elevation: 120
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
websocket_api:
config:
onboarding:
repairs:
diagnostics:
logger:
  default: warning
{extra}
"""

# A semi-automatic with the README's recommendations for 2 shots a day at 8 °dH.
MACHINE_STEP: dict[str, Any] = {
    "three_way_valve": True,
    "track_descale": True,
    "shots_per_day": 2,
    "water_hardness": 8,
    "hardness_unit": "dh",
    "shot_source": "none",
}
# The options flow's limits step; the config flow's also asks for the starting point.
LIMITS_STEP: dict[str, Any] = {
    "backflush_interval_shots": 14,
    "backflush_interval_days": 7,
    "descale_interval_days": 60,
}
MAINTENANCE_STEP: dict[str, Any] = {**LIMITS_STEP, "shots_since_backflush": 0}

_LOG_ENTRY = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (?P<level>[A-Z]+) \((?P<thread>[^)]*)\) "
    r"\[(?P<logger>[^\]]+)\] ",
    re.MULTILINE,
)


def free_port() -> int:
    """Return a port that is free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def exception_text(key: str, **placeholders: Any) -> str:
    """Return the English text of one of our exceptions, with its placeholders."""
    text: str = TRANSLATIONS["exceptions"][key]["message"]
    for name, value in placeholders.items():
        text = text.replace(f"{{{name}}}", str(value))
    return text


def _environment() -> dict[str, str]:
    """Return pytest's environment without its coverage measurement.

    Coverage comes from the in-process tests; measuring Home Assistant itself
    would slow every start and leave data files from killed processes.
    """
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("COV_CORE_", "COVERAGE_"))
    }


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Have the kernel kill Home Assistant if pytest itself dies (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


@dataclass(frozen=True)
class LogEntry:
    """One entry of home-assistant.log, with its traceback if it has one."""

    level: str
    logger: str
    text: str

    @property
    def has_traceback(self) -> bool:
        """Tell whether the entry carries a traceback."""
        return "Traceback (most recent call last)" in self.text


def parse_log(text: str) -> list[LogEntry]:
    """Split a Home Assistant log into entries (continuation lines included)."""
    matches = list(_LOG_ENTRY.finditer(text))
    return [
        LogEntry(
            level=match["level"],
            logger=match["logger"],
            text=text[
                match.start() : matches[index + 1].start()
                if index + 1 < len(matches)
                else len(text)
            ],
        )
        for index, match in enumerate(matches)
    ]


class HassProcess:
    """One Home Assistant process on a config dir; it can be stopped and restarted."""

    def __init__(
        self,
        config_dir: Path,
        *,
        time_zone: str = "Europe/Rome",
        extra_config: str = "",
        env: dict[str, str] | None = None,
    ) -> None:
        """Write the configuration and link the integration into the config dir."""
        self.config_dir = config_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "configuration.yaml").write_text(
            CONFIGURATION.format(
                time_zone=time_zone, port=self.port, extra=extra_config
            ),
            encoding="utf-8",
        )
        custom = config_dir / "custom_components"
        custom.mkdir(exist_ok=True)
        link = custom / DOMAIN
        if not link.exists():
            link.symlink_to(INTEGRATION, target_is_directory=True)

    @property
    def log_path(self) -> Path:
        """Return Home Assistant's log file."""
        return self.config_dir / "home-assistant.log"

    @property
    def running(self) -> bool:
        """Tell whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def storage_path(self, entry_id: str) -> Path:
        """Return the storage file of a machine."""
        return self.config_dir / ".storage" / f"{DOMAIN}.{entry_id}"

    def read_log(self) -> str:
        """Return the log as written so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        """Return the log's length in characters, to read only what follows."""
        return len(self.read_log())

    def start(self) -> None:
        """Start the process in its own process group; does not wait for it."""
        assert not self.running, "already running"
        self.starts += 1
        output = (self.config_dir / f"run-{self.starts}.out").open("wb")
        with output:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter
                [
                    sys.executable,
                    "-m",
                    "homeassistant",
                    "--config",
                    str(self.config_dir),
                    "--log-no-color",
                    "--skip-pip",
                ],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - before any thread
                env={**_environment(), **self.env},
                cwd=self.config_dir,
            )

    def kill(self) -> None:
        """Kill the whole process group with SIGKILL and reap the process."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT)

    async def async_stop(self) -> int:
        """Stop gracefully with SIGTERM and return the exit code.

        Falls back to SIGKILL if Home Assistant does not stop in time, and fails.
        """
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("Home Assistant did not stop on SIGTERM")
            await asyncio.sleep(0.05)
        # The process group may hold helpers of the process; none may survive it.
        self.kill()
        return self.process.returncode

    def cleanup(self) -> None:
        """Kill whatever is left of this instance (the fixtures' finalizer)."""
        self.kill()

    def failure_context(self) -> str:
        """Return the end of the log and of the console output, for failures."""
        out = self.config_dir / f"run-{self.starts}.out"
        console = out.read_text(errors="replace") if out.exists() else ""
        return f"--- log tail ---\n{self.read_log()[-4000:]}\n--- console ---\n{console[-2000:]}"


async def async_poll(
    check: Callable[[], bool], seconds: float, interval: float = 0.05
) -> None:
    """Wait until a check of another process's files passes, at most `seconds`."""
    async with asyncio.timeout(seconds):
        while True:
            if check():
                return
            await asyncio.sleep(interval)


class CallError(Exception):
    """A REST or WebSocket call was answered with an error."""

    def __init__(self, status: int | str, body: Any) -> None:
        """Keep the status and the answer."""
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class WebSocket:
    """An authenticated WebSocket API connection with concurrent commands."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap an open connection; call `async_start` next."""
        self._ws = ws
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    async def async_start(self, token: str) -> None:
        """Authenticate and start reading answers."""
        async with asyncio.timeout(REQUEST_TIMEOUT):
            hello = await self._ws.receive_json()
            assert hello["type"] == "auth_required", hello
            await self._ws.send_json({"type": "auth", "access_token": token})
            answer = await self._ws.receive_json()
        assert answer["type"] == "auth_ok", answer
        self._reader = asyncio.create_task(self._async_read())

    async def _async_read(self) -> None:
        try:
            async for message in self._ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(message.data)
                for item in data if isinstance(data, list) else [data]:
                    self._dispatch(item)
        except (aiohttp.ClientError, ConnectionError):
            pass
        finally:
            self.closed.set()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("WebSocket closed"))
            self._pending.clear()

    def _dispatch(self, item: dict[str, Any]) -> None:
        if item.get("type") == "event" and item["id"] in self._events:
            self._events[item["id"]].put_nowait(item["event"])
        elif (
            future := self._pending.pop(item.get("id", -1), None)
        ) is not None and not future.done():
            future.set_result(item)

    async def async_send(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send a command and return its raw result message."""
        if self.closed.is_set():
            raise ConnectionError("WebSocket closed")
        message_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[dict[str, Any]] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending[message_id] = future
        try:
            await self._ws.send_json({**message, "id": message_id})
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as err:
            self._pending.pop(message_id, None)
            raise ConnectionError(str(err)) from err
        async with asyncio.timeout(REQUEST_TIMEOUT):
            return await future

    async def async_command(self, message: dict[str, Any]) -> Any:
        """Send a command; return its result or raise CallError."""
        answer = await self.async_send(message)
        if not answer.get("success"):
            raise CallError("ws", answer.get("error"))
        return answer.get("result")

    async def async_call_service(
        self,
        domain: str,
        service: str,
        data: dict[str, Any],
        *,
        return_response: bool = False,
    ) -> dict[str, Any]:
        """Call an action; return the raw result message."""
        message: dict[str, Any] = {
            "type": "call_service",
            "domain": domain,
            "service": service,
            "service_data": data,
        }
        if return_response:
            message["return_response"] = True
        return await self.async_send(message)

    async def async_subscribe(
        self, event_type: str = EVENT_NAME
    ) -> asyncio.Queue[dict[str, Any]]:
        """Subscribe to an event type; return the queue its events arrive in."""
        message_id = self._next_id
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._events[message_id] = queue
        await self.async_command({"type": "subscribe_events", "event_type": event_type})
        return queue

    async def async_close(self) -> None:
        """Close the connection and stop reading."""
        await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


async def next_event(
    queue: asyncio.Queue[dict[str, Any]], seconds: float = 10.0
) -> dict[str, Any]:
    """Return the next event of a subscription, waiting at most `seconds`."""
    async with asyncio.timeout(seconds):
        return await queue.get()


def drain(queue: asyncio.Queue[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the events that have arrived so far."""
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events


@dataclass
class Machine:
    """A machine added through the config flow."""

    entry_id: str
    name: str
    prefix: str

    @property
    def target(self) -> dict[str, str]:
        """Return an action target naming one of the machine's entities."""
        return {"entity_id": f"sensor.{self.prefix}_total_shots"}


@dataclass
class Client:
    """REST and WebSocket access to a Home Assistant process, as one user."""

    hass: HassProcess
    session: aiohttp.ClientSession
    token: str = ""
    sockets: list[WebSocket] = field(default_factory=list)

    @classmethod
    def create(cls, hass: HassProcess) -> Self:
        """Create a client with its own connection pool."""
        return cls(
            hass,
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=64, force_close=False),
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            ),
        )

    async def async_close(self) -> None:
        """Close every connection."""
        for ws in self.sockets:
            await ws.async_close()
        self.sockets.clear()
        await self.session.close()

    async def async_request(
        self,
        method: str,
        path: str,
        data: Any = None,
        *,
        form: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Call the REST API; return the status and the decoded body."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.request(
            method,
            f"{self.hass.base_url}{path}",
            json=data if form is None else None,
            data=form,
            headers=headers,
        ) as response:
            text = await response.text()
            try:
                body = json.loads(text) if text else None
            except ValueError:
                body = text
            return response.status, body

    async def async_ok(self, method: str, path: str, data: Any = None) -> Any:
        """Call the REST API and return the body of a 200 answer."""
        status, body = await self.async_request(method, path, data)
        if status != 200:
            raise CallError(status, body)
        return body

    async def async_service(
        self, service: str, data: dict[str, Any], *, domain: str = DOMAIN
    ) -> tuple[int, Any]:
        """Call an action over REST; return the status and the body."""
        return await self.async_request(
            "POST", f"/api/services/{domain}/{service}", data
        )

    async def async_websocket(self) -> WebSocket:
        """Open an authenticated WebSocket connection."""
        ws = WebSocket(
            await self.session.ws_connect(
                f"{self.hass.base_url}/api/websocket", max_msg_size=0
            )
        )
        await ws.async_start(self.token)
        self.sockets.append(ws)
        return ws

    async def async_wait_started(self, *, onboarded: bool) -> None:
        """Wait until the API answers and Home Assistant is running."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if not self.hass.running:
                raise AssertionError(
                    "Home Assistant exited while starting\n"
                    + self.hass.failure_context()
                )
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                if not onboarded:
                    status, _ = await self.async_request("GET", "/api/onboarding")
                    if status == 200:
                        return
                else:
                    status, body = await self.async_request("GET", "/api/config")
                    if status == 200 and body.get("state") == "RUNNING":
                        return
            if time.monotonic() > deadline:
                raise AssertionError(
                    "Home Assistant did not start in time\n"
                    + self.hass.failure_context()
                )
            await asyncio.sleep(0.1)

    async def async_onboard(self) -> None:
        """Create the owner through onboarding and keep a long-lived token."""
        client_id = f"{self.hass.base_url}/"
        user = await self.async_ok(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": client_id,
                "name": "Owner",
                "username": "owner",
                "password": "espresso-e2e-password",
                "language": "en",
            },
        )
        status, tokens = await self.async_request(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": user["auth_code"],
                "client_id": client_id,
            },
        )
        assert status == 200, tokens
        self.token = tokens["access_token"]
        ws = await self.async_websocket()
        self.token = await ws.async_command(
            {
                "type": "auth/long_lived_access_token",
                "client_name": CLIENT_NAME,
                "lifespan": 30,
            }
        )

    async def async_flow(
        self, steps: Iterable[dict[str, Any]], *, base: str, handler: str
    ) -> dict[str, Any]:
        """Run a config or options flow through REST, expecting each step to pass."""
        result = await self.async_ok("POST", base, {"handler": handler})
        for step in steps:
            assert result["type"] == "form", result
            assert not result.get("errors"), result
            result = await self.async_ok("POST", f"{base}/{result['flow_id']}", step)
        return dict(result)

    async def async_add_machine(
        self,
        name: str,
        *,
        machine: dict[str, Any] | None = None,
        maintenance: dict[str, Any] | None = None,
    ) -> Machine:
        """Add a machine through the config flow's REST endpoints."""
        result = await self.async_flow(
            [
                {"name": name, "machine_type": "semi_automatic"},
                {**MACHINE_STEP, **(machine or {})},
                {**MAINTENANCE_STEP, **(maintenance or {})},
            ],
            base="/api/config/config_entries/flow",
            handler=DOMAIN,
        )
        assert result["type"] == "create_entry", result
        return Machine(
            entry_id=result["result"]["entry_id"],
            name=name,
            prefix=re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_"),
        )

    async def async_change_options(
        self, machine: Machine, maintenance: dict[str, Any]
    ) -> dict[str, Any]:
        """Change a machine's limits through the options flow's REST endpoints.

        The descaling page after the limits keeps its defaults.
        """
        options = {k: v for k, v in MACHINE_STEP.items() if k != "three_way_valve"}
        result = await self.async_flow(
            [options, {**LIMITS_STEP, **maintenance}, {}],
            base="/api/config/config_entries/options/flow",
            handler=machine.entry_id,
        )
        assert result["type"] == "create_entry", result
        return result

    async def async_wait_saved(
        self, machines: Iterable[Machine], seconds: float = 30.0
    ) -> None:
        """Wait until Home Assistant's own delayed writes hold the token and machines.

        Home Assistant saves users, tokens and config entries a second or more
        after a change. A kill before that loses them, which is Home Assistant's
        behaviour, not the integration's; kill tests wait for it first.
        """
        storage = self.hass.config_dir / ".storage"
        wanted = {machine.entry_id for machine in machines}

        def saved() -> bool:
            try:
                auth = json.loads((storage / "auth").read_text(encoding="utf-8"))
                entries = json.loads(
                    (storage / "core.config_entries").read_text(encoding="utf-8")
                )
            except (OSError, ValueError):
                return False
            tokens = auth["data"]["refresh_tokens"]
            created = {
                entry["entry_id"]
                for entry in entries["data"]["entries"]
                if entry["data"].get("storage_created")
            }
            return (
                any(token["client_name"] == CLIENT_NAME for token in tokens)
                and wanted <= created
            )

        await async_poll(saved, seconds)

    async def async_status(self, machine: Machine) -> dict[str, Any]:
        """Return a machine's get_status answer, over REST."""
        body = await self.async_ok(
            "POST",
            f"/api/services/{DOMAIN}/get_status?return_response",
            machine.target,
        )
        machines = body["service_response"]["machines"]
        assert len(machines) == 1, machines
        return dict(machines[0])

    async def async_status_when(
        self,
        machine: Machine,
        check: Callable[[dict[str, Any]], bool],
        seconds: float = 30.0,
    ) -> dict[str, Any]:
        """Wait until the machine is loaded and its status passes a check."""
        async with asyncio.timeout(seconds):
            while True:
                with contextlib.suppress(CallError):
                    status = await self.async_status(machine)
                    if check(status):
                        return status
                await asyncio.sleep(0.05)

    async def async_diagnostics(self, machine: Machine) -> dict[str, Any]:
        """Return a machine's diagnostics download."""
        body = await self.async_ok(
            "GET", f"/api/diagnostics/config_entry/{machine.entry_id}"
        )
        return dict(body["data"])

    async def async_states(self, machine: Machine) -> dict[str, dict[str, Any]]:
        """Return the state and attributes of each of the machine's entities."""
        states = await self.async_ok("GET", "/api/states")
        return {
            item["entity_id"]: {
                "state": item["state"],
                "attributes": item["attributes"],
            }
            for item in states
            if item["entity_id"].split(".", 1)[1].startswith(f"{machine.prefix}_")
        }

    async def async_state(self, entity_id: str) -> str:
        """Return one entity's state."""
        body = await self.async_ok("GET", f"/api/states/{entity_id}")
        return str(body["state"])

    async def async_entries(self) -> dict[str, dict[str, Any]]:
        """Return our config entries by entry ID, as the integrations page lists them."""
        entries = await self.async_ok(
            "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
        )
        return {entry["entry_id"]: entry for entry in entries}


async def async_restart(hass: HassProcess, client: Client) -> None:
    """Stop Home Assistant with SIGTERM and start it again on the same config dir."""
    for ws in client.sockets:
        await ws.async_close()
    client.sockets.clear()
    assert await hass.async_stop() == 0, hass.failure_context()
    hass.start()
    await client.async_wait_started(onboarded=True)


async def async_start_onboarded(
    hass_factory: Callable[..., HassProcess], **kwargs: Any
) -> tuple[HassProcess, Client]:
    """Start a fresh Home Assistant, onboard the owner and return a client."""
    hass = hass_factory(**kwargs)
    client = Client.create(hass)
    hass.start()
    await client.async_wait_started(onboarded=False)
    await client.async_onboard()
    await client.async_wait_started(onboarded=True)
    return hass, client


def read_storage(hass: HassProcess, machine: Machine) -> dict[str, Any]:
    """Read a machine's storage file; fails if it is not valid JSON."""
    data: dict[str, Any] = json.loads(
        hass.storage_path(machine.entry_id).read_text(encoding="utf-8")
    )
    return data


def read_durable(hass: HassProcess, machine: Machine) -> dict[str, Any]:
    """Return what is on disk for a machine: its file with the journal's newer uses."""
    data = read_storage(hass, machine)["data"]
    journal = hass.storage_path(machine.entry_id).with_name(
        f"{DOMAIN}.{machine.entry_id}.journal"
    )
    content = journal.read_bytes() if journal.exists() else b""
    state = state_from_dict(data)
    for use in read_journal(content, data["journal_seq"]).uses:
        state = apply_use(state, use)
    return state_to_dict(state)
