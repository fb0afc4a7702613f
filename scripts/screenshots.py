"""Take the README's screenshots from a real Home Assistant frontend.

Starts the newest supported Home Assistant (the newest test leg, through
../shared/tools/py314) with a throwaway config dir, adds a machine through the
config flow, gives it some history, saves the README's dashboard, and photographs
the dashboard, the first config-flow step and the device page with headless
Chromium (Debian's chromium package). Run it with scripts/screenshots, which
installs what it needs.

The classes here also drive other walks through the UI: `HomeAssistant` runs and
talks to the server, `Page` opens pages, fills forms and takes pictures.

Environment:
  LATEST_PYTHON  the Python of the newest leg (default .venv-latest/bin/python)
  PY314_TOOL     the py314 tool (default ../shared/tools/py314)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import tempfile
from typing import Any, Self

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "screenshots"
SCRATCH = ROOT / "scripts" / ".work"
INTEGRATION = ROOT / "custom_components" / "espresso_maintenance"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NAME = "Gaggia Classic"
PREFIX = "gaggia_classic"
DASHBOARD = "dashboard-espresso"
# Bounded waits, in seconds.
START_TIMEOUT = 180
PAGE_TIMEOUT = 60
SETTLE_SECONDS = 10

CONFIGURATION = """
homeassistant:
  name: Home
  time_zone: Europe/Rome
  country: IT
  unit_system: metric
  auth_providers:
    - type: trusted_networks
      trusted_networks: [127.0.0.1/32]
      allow_bypass_login: true
    - type: homeassistant
http:
  server_host: 127.0.0.1
  server_port: {port}
frontend:
config:
api:
history:
logbook:
repairs:
diagnostics:
lovelace:
  mode: storage
"""

# Finds an element through every open shadow root; the frontend is built of them.
DEEP_QUERY = """
const deep = (selector, root = document) => {
  const found = root.querySelector(selector);
  if (found) return found;
  for (const element of root.querySelectorAll("*")) {
    if (element.shadowRoot) {
      const inner = deep(selector, element.shadowRoot);
      if (inner) return inner;
    }
  }
  return null;
};
const deepAll = (selector, root = document, found = []) => {
  found.push(...root.querySelectorAll(selector));
  for (const element of root.querySelectorAll("*")) {
    if (element.shadowRoot) deepAll(selector, element.shadowRoot, found);
  }
  return found;
};
// The last shown button labelled `label`, as a user would find it.
const button = (label, root = document) => deepAll(
  "ha-button, mwc-button, ha-progress-button, button", root
).filter(
  (element) => element.textContent.trim() === label && element.getClientRects().length
).pop();
"""


def newest_leg() -> tuple[list[str], Path]:
    """Return the command that runs the newest leg's Python, and where to run it.

    The py314 tool bind-mounts only the directory it is started from, so that is
    the deepest directory holding both this checkout and the Python.
    """
    python = Path(os.environ.get("LATEST_PYTHON", ROOT / ".venv-latest/bin/python"))
    py314 = Path(os.environ.get("PY314_TOOL", ROOT.parent / "shared/tools/py314"))
    where = Path(os.path.commonpath([ROOT, python.absolute()]))
    return [str(py314), str(python)], where


def dashboard() -> dict[str, Any]:
    """Return the dashboard from the README (the one users paste)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Dashboard", 1)[1]
    block = section.split("```yaml", 1)[1].split("```", 1)[0]
    config: dict[str, Any] = yaml.safe_load(block)
    return config


def free_port() -> int:
    """Return a free port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HomeAssistant:
    """A Home Assistant process and an authenticated client for it."""

    def __init__(
        self,
        config_dir: Path,
        port: int,
        *,
        integration: Path = INTEGRATION,
        python: tuple[list[str], Path] | None = None,
        language: str = "en",
    ) -> None:
        """Prepare the config dir, with the integration linked into it."""
        self.config_dir = config_dir
        self.base = f"http://127.0.0.1:{port}"
        self.language = language
        self.python, self.cwd = python or newest_leg()
        (config_dir / "configuration.yaml").write_text(
            CONFIGURATION.format(port=port), encoding="utf-8"
        )
        (config_dir / "custom_components").mkdir()
        (config_dir / "custom_components" / "espresso_maintenance").symlink_to(
            integration
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.session: aiohttp.ClientSession | None = None
        self.token = ""
        self.device_id = ""

    async def __aenter__(self) -> Self:
        """Start, and onboard the owner."""
        await self.start()
        await self.onboard()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        """Stop."""
        await self.stop()

    async def start(self) -> None:
        """Start Home Assistant and wait for its API."""
        log = (self.config_dir / "run.log").open("wb")
        self.process = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child
            [*self.python, "-m", "homeassistant", "--config", str(self.config_dir)],
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.session = aiohttp.ClientSession()
        for _ in range(START_TIMEOUT * 2):
            if self.process.poll() is not None:
                break
            with contextlib.suppress(aiohttp.ClientError):
                async with self.session.get(f"{self.base}/api/onboarding") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.5)
        raise RuntimeError(f"Home Assistant did not start; see {log.name}")

    async def stop(self) -> None:
        """Stop Home Assistant, and its whole process group."""
        if self.session:
            await self.session.close()
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    async def request(self, method: str, path: str, data: Any = None) -> Any:
        """Call the REST API."""
        assert self.session is not None
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.request(
            method, f"{self.base}{path}", json=data, headers=headers
        ) as response:
            response.raise_for_status()
            return await response.json()

    async def websocket(self, message: dict[str, Any]) -> Any:
        """Send one WebSocket command and return its result."""
        assert self.session is not None
        async with self.session.ws_connect(f"{self.base}/api/websocket") as socket_:
            await socket_.receive_json()
            await socket_.send_json({"type": "auth", "access_token": self.token})
            await socket_.receive_json()
            await socket_.send_json({"id": 1, **message})
            result = await socket_.receive_json()
        if not result.get("success"):
            raise RuntimeError(f"{message['type']} failed: {result}")
        return result.get("result")

    async def onboard(self) -> None:
        """Create the owner and finish onboarding, so the frontend opens the dashboard."""
        assert self.session is not None
        client_id = f"{self.base}/"
        user = await self.request(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": client_id,
                "name": "Owner",
                "username": "owner",
                "password": "espresso-screenshots",
                "language": self.language,
            },
        )
        async with self.session.post(
            f"{self.base}/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": user["auth_code"],
                "client_id": client_id,
            },
        ) as response:
            self.token = (await response.json())["access_token"]
        await self.request("POST", "/api/onboarding/core_config", {})
        await self.request("POST", "/api/onboarding/analytics", {})
        await self.request(
            "POST",
            "/api/onboarding/integration",
            {"client_id": client_id, "redirect_uri": f"{client_id}?auth_callback=1"},
        )
        # Home Assistant 2026 moves the http YAML into storage on trial, and asks
        # in the UI to keep it; keep it here. Older versions have no such command.
        with contextlib.suppress(RuntimeError):
            await self.websocket({"type": "http/config/promote"})
        # What onboarding added that needs the internet fails to set up here
        # (radio browser); drop what failed within the first seconds.
        for _ in range(SETTLE_SECONDS * 2):
            for entry in await self.request("GET", "/api/config/config_entries/entry"):
                if entry["state"] in ("setup_retry", "setup_error"):
                    await self.request(
                        "DELETE",
                        f"/api/config/config_entries/entry/{entry['entry_id']}",
                    )
            await asyncio.sleep(0.5)

    async def flow(self, *steps: dict[str, Any]) -> dict[str, Any]:
        """Run the config flow through its REST endpoints; return the last result."""
        result: dict[str, Any] = await self.request(
            "POST",
            "/api/config/config_entries/flow",
            {"handler": "espresso_maintenance"},
        )
        for step in steps:
            result = await self.request(
                "POST", f"/api/config/config_entries/flow/{result['flow_id']}", step
            )
        return result

    async def add_machine(
        self,
        machine: dict[str, Any] | None = None,
        maintenance: dict[str, Any] | None = None,
    ) -> None:
        """Add the machine through the config flow, and find its device."""
        result = await self.flow(
            {"name": NAME, "machine_type": "semi_automatic"},
            {
                "three_way_valve": True,
                "track_descale": True,
                "shots_per_day": 2,
                "water_hardness": 3,
                "hardness_unit": "dh",
                "shot_source": "none",
            }
            | (machine or {}),
            {
                "backflush_interval_shots": 14,
                "backflush_interval_days": 7,
                "descale_interval_days": 45,
                "shots_since_backflush": 0,
            }
            | (maintenance or {}),
        )
        if result["type"] != "create_entry":
            raise RuntimeError(f"The machine was not added: {result}")
        devices = await self.websocket({"type": "config/device_registry/list"})
        self.device_id = next(d["id"] for d in devices if d["name"] == NAME)

    async def action(self, name: str, data: dict[str, Any]) -> None:
        """Call one of the integration's actions on the machine."""
        target = {"entity_id": f"sensor.{PREFIX}_total_shots"}
        await self.request(
            "POST", f"/api/services/espresso_maintenance/{name}", {**target, **data}
        )

    async def save_dashboard(self) -> None:
        """Save the README's dashboard as a dashboard of its own.

        Home Assistant 2026 opens its new overview by default, so the README's
        dashboard gets its own address.
        """
        await self.websocket(
            {
                "type": "lovelace/dashboards/create",
                "url_path": DASHBOARD,
                "title": "Espresso",
                "icon": "mdi:coffee",
                "mode": "storage",
            }
        )
        await self.websocket(
            {
                "type": "lovelace/config/save",
                "url_path": DASHBOARD,
                "config": dashboard(),
            }
        )


async def history(hass: HomeAssistant) -> None:
    """Give the machine a realistic few weeks."""
    await hass.action(
        "record_descale", {"performed_at": "2026-10-20 19:00", "note": "Citric acid"}
    )
    for day in ("2026-11-06", "2026-11-13", "2026-11-20"):
        await hass.action("record_shot", {"count": 14})
        await hass.action(
            "record_backflush", {"performed_at": f"{day} 08:00", "note": "Cafiza"}
        )
    await hass.action("record_shot", {"count": 12})


# What each page shows once the frontend has rendered it.
DASHBOARD_READY = 'deep("hui-calendar-card") && deep("hui-todo-list-card")'
FLOW_READY = 'deep("step-flow-form") && deep("step-flow-form").shadowRoot.querySelector("ha-form")'
DEVICE_READY = (
    'deep("ha-config-device-page") && deepAll("state-badge, ha-state-icon").length > 5'
)


class Page:
    """The page of a headless Chromium, driven over the DevTools protocol."""

    def __init__(self, socket_: aiohttp.ClientWebSocketResponse, base: str) -> None:
        """Use an open DevTools connection."""
        self._socket = socket_
        self._id = 0
        self.base = base

    async def send(self, method: str, **params: Any) -> Any:
        """Send a DevTools command and wait for its result."""
        self._id += 1
        await self._socket.send_json(
            {"id": self._id, "method": method, "params": params}
        )
        while True:
            message = await self._socket.receive_json()
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    async def size(self, width: int, height: int) -> None:
        """Set the window size, in CSS pixels."""
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    async def js(self, expression: str) -> Any:
        """Evaluate JavaScript (with `deep` and `deepAll` defined) and return its value."""
        result = await self.send(
            "Runtime.evaluate",
            expression=f"(async () => {{ {DEEP_QUERY} {expression} }})()",
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    async def wait_for(self, condition: str) -> None:
        """Wait until a JavaScript condition holds, then let rendering settle."""
        for _ in range(PAGE_TIMEOUT * 4):
            with contextlib.suppress(RuntimeError):
                if await self.js(f"return Boolean({condition});"):
                    await asyncio.sleep(1.5)
                    return
            await asyncio.sleep(0.25)
        await self.shot(SCRATCH / "timed-out.png")
        raise RuntimeError(f"Timed out waiting for {condition}; see timed-out.png")

    async def goto(self, path: str, until: str) -> None:
        """Open a page of the frontend and wait until `until` holds."""
        await self.send("Page.navigate", url=f"{self.base}{path}")
        await self.wait_for(until)

    async def shot(self, path: Path) -> None:
        """Save a screenshot of what is shown."""
        shot = await self.send("Page.captureScreenshot", format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))  # noqa: ASYNC240 - a one-off script
        print(f"saved {path}")

    async def open_flow(self, path: str) -> None:
        """Open a page that starts a flow; confirm starting it where asked."""
        await self.goto(path, f'deep("dialog-box") || ({FLOW_READY})')
        await self.js(
            """
            const box = deep("dialog-box");
            if (box) button("OK", box.shadowRoot).click();
            """
        )
        await self.wait_for(FLOW_READY)

    async def click_item(self, text: str) -> None:
        """Press the shown list item or link that says `text`."""
        await self.js(
            f"""
            const found = deepAll("ha-md-list-item, ha-list-item, ha-list-item-new, ha-list-item-button, mwc-list-item, a")
              .filter((element) => element.textContent.includes({json.dumps(text)})
                && element.getClientRects().length)
              .pop();
            if (!found) throw new Error("nothing says " + {json.dumps(text)});
            found.click();
            """
        )
        await asyncio.sleep(2)

    async def fill_flow_form(self, values: dict[str, Any]) -> None:
        """Change fields of the open flow form, as the fields report a user's input."""
        await self.js(
            f"""
            const form = deep("step-flow-form");
            const fields = form.shadowRoot.querySelector("ha-form");
            fields.dispatchEvent(new CustomEvent("value-changed", {{
              detail: {{ value: {{ ...fields.data, ...{json.dumps(values)} }} }},
              bubbles: true, composed: true,
            }}));
            """
        )
        await asyncio.sleep(0.5)

    async def click(self, *labels: str) -> None:
        """Press the shown button labelled with the first of `labels` there is."""
        await self.js(
            f"""
            const found = {json.dumps(labels)}.map((label) => button(label)).find(Boolean);
            if (!found) throw new Error("no button " + {json.dumps(labels)});
            found.click();
            """
        )
        await asyncio.sleep(3)


class Browser:
    """Headless Chromium with an empty profile."""

    def __init__(self, profile: Path) -> None:
        """Start the browser."""
        self.profile = profile
        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.session = aiohttp.ClientSession()

    async def __aenter__(self) -> Self:
        """Return the running browser."""
        return self

    async def __aexit__(self, *_exc: object) -> None:
        """Close the browser."""
        await self.session.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    @contextlib.asynccontextmanager
    async def page(
        self, base: str, width: int = 1280, height: int = 900
    ) -> Any:  # an async iterator of Page
        """Connect to the browser's page, sized `width` by `height`."""
        port_file = self.profile / "DevToolsActivePort"
        for _ in range(150):
            if port_file.exists() and port_file.read_text().strip():
                break
            await asyncio.sleep(0.2)
        port = port_file.read_text().split()[0]
        async with self.session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        address = next(t for t in targets if t["type"] == "page")[
            "webSocketDebuggerUrl"
        ]
        async with self.session.ws_connect(address, max_msg_size=0) as socket_:
            page = Page(socket_, base)
            await page.size(width, height)
            await page.send("Page.enable")
            yield page


async def photograph_readme(hass: HomeAssistant, browser: Browser) -> None:
    """Take the README's pictures."""
    async with browser.page(hass.base, 1280, 1000) as page:
        await page.goto(f"/{DASHBOARD}/espresso", DASHBOARD_READY)
        await page.shot(OUTPUT / "dashboard.png")
        await page.size(420, 1600)
        await page.goto(f"/{DASHBOARD}/espresso", DASHBOARD_READY)
        await page.shot(OUTPUT / "dashboard-phone.png")
        await page.size(1280, 1250)
        await page.goto(f"/config/devices/device/{hass.device_id}", DEVICE_READY)
        await page.shot(OUTPUT / "device.png")
        await page.size(1280, 900)
        await page.open_flow(
            "/config/integrations/dashboard/add?domain=espresso_maintenance"
        )
        await page.shot(OUTPUT / "config-flow.png")


async def main() -> None:
    """Run Home Assistant, add a machine and the dashboard, and photograph them."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    SCRATCH.mkdir(parents=True, exist_ok=True)
    # Under the checkout, which the newest leg's tool mounts.
    with tempfile.TemporaryDirectory(dir=SCRATCH) as directory:
        config_dir = Path(directory) / "config"
        config_dir.mkdir()
        async with HomeAssistant(config_dir, free_port()) as hass:
            await hass.add_machine(machine={"water_hardness": 8})
            await history(hass)
            await hass.save_dashboard()
            async with Browser(Path(directory) / "chromium") as browser:
                await photograph_readme(hass, browser)
            states = await hass.request("GET", "/api/states")
            print(
                json.dumps(
                    {
                        s["entity_id"]: s["state"]
                        for s in states
                        if PREFIX in s["entity_id"]
                    },
                    indent=2,
                )
            )
    print(f"Saved the screenshots in {OUTPUT}")


if __name__ == "__main__":
    asyncio.run(main())
