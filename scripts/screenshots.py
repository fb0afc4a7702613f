"""Take the README's dashboard screenshots from a real Home Assistant frontend.

Starts Home Assistant with a throwaway config dir, adds a machine through the
config flow, gives it some history, saves the README's dashboard, and photographs
it with headless Chromium (Debian's chromium package). Run it with
scripts/screenshots, which installs what it needs.
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
import sys
import tempfile
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NAME = "Gaggia Classic"
PREFIX = "gaggia_classic"

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
lovelace:
  mode: storage
"""


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

    def __init__(self, config_dir: Path, port: int) -> None:
        """Prepare the config dir."""
        self.config_dir = config_dir
        self.base = f"http://127.0.0.1:{port}"
        (config_dir / "configuration.yaml").write_text(
            CONFIGURATION.format(port=port), encoding="utf-8"
        )
        (config_dir / "custom_components").mkdir()
        (config_dir / "custom_components" / "espresso_maintenance").symlink_to(
            ROOT / "custom_components" / "espresso_maintenance"
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.session: aiohttp.ClientSession | None = None
        self.token = ""

    async def start(self) -> None:
        """Start Home Assistant and wait for its API."""
        log = (self.config_dir / "run.log").open("wb")
        self.process = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child
            [sys.executable, "-m", "homeassistant", "--config", str(self.config_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.session = aiohttp.ClientSession()
        for _ in range(240):
            with contextlib.suppress(aiohttp.ClientError):
                async with self.session.get(f"{self.base}/api/onboarding") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.5)
        raise RuntimeError("Home Assistant did not start; see run.log")

    async def stop(self) -> None:
        """Stop Home Assistant."""
        if self.session:
            await self.session.close()
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    async def request(self, method: str, path: str, data: Any = None) -> Any:
        """Call the REST API."""
        assert self.session is not None
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.request(
            method, f"{self.base}{path}", json=data, headers=headers
        ) as response:
            response.raise_for_status()
            return await response.json()

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
                "language": "en",
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

    async def add_machine(self) -> None:
        """Add a machine through the config flow."""
        flow = await self.request(
            "POST",
            "/api/config/config_entries/flow",
            {"handler": "espresso_maintenance"},
        )
        path = f"/api/config/config_entries/flow/{flow['flow_id']}"
        await self.request(
            "POST", path, {"name": NAME, "machine_type": "semi_automatic"}
        )
        await self.request(
            "POST",
            path,
            {
                "three_way_valve": True,
                "track_descale": True,
                "shots_per_day": 2,
                "water_hardness": 8,
                "hardness_unit": "dh",
                "shot_source": "none",
            },
        )
        await self.request(
            "POST",
            path,
            {
                "backflush_interval_shots": 14,
                "backflush_interval_days": 7,
                "descale_interval_days": 45,
                "shots_since_backflush": 0,
            },
        )

    async def action(self, name: str, data: dict[str, Any]) -> None:
        """Call one of the integration's actions on the machine."""
        target = {"entity_id": f"sensor.{PREFIX}_total_shots"}
        await self.request(
            "POST", f"/api/services/espresso_maintenance/{name}", {**target, **data}
        )

    async def save_dashboard(self) -> None:
        """Save the README's dashboard as the default one, over the WebSocket API."""
        assert self.session is not None
        async with self.session.ws_connect(f"{self.base}/api/websocket") as socket_:
            await socket_.receive_json()
            await socket_.send_json({"type": "auth", "access_token": self.token})
            await socket_.receive_json()
            await socket_.send_json(
                {"id": 1, "type": "lovelace/config/save", "config": dashboard()}
            )
            result = await socket_.receive_json()
            if not result.get("success"):
                raise RuntimeError(f"Could not save the dashboard: {result}")


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


class Chromium:
    """Headless Chromium driven over the DevTools protocol."""

    def __init__(self, profile: Path) -> None:
        """Start the browser with an empty profile."""
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
        self._id = 0

    async def page(self, session: aiohttp.ClientSession) -> str:
        """Return the DevTools WebSocket address of the browser's page."""
        port_file = self.profile / "DevToolsActivePort"
        for _ in range(100):
            if port_file.exists() and port_file.read_text().strip():
                break
            await asyncio.sleep(0.2)
        port = port_file.read_text().split()[0]
        async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        return str(
            next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"]
        )

    async def send(
        self, socket_: aiohttp.ClientWebSocketResponse, method: str, **params: Any
    ) -> Any:
        """Send a DevTools command and wait for its result."""
        self._id += 1
        await socket_.send_json({"id": self._id, "method": method, "params": params})
        while True:
            message = await socket_.receive_json()
            if message.get("id") == self._id:
                return message.get("result", {})

    async def photograph(self, url: str, path: Path, width: int, height: int) -> None:
        """Open a page, let the frontend settle, and save a screenshot."""
        async with aiohttp.ClientSession() as session:
            address = await self.page(session)
            async with session.ws_connect(address, max_msg_size=0) as socket_:
                await self.send(
                    socket_,
                    "Emulation.setDeviceMetricsOverride",
                    width=width,
                    height=height,
                    deviceScaleFactor=1,
                    mobile=False,
                )
                await self.send(socket_, "Page.enable")
                await self.send(socket_, "Page.navigate", url=url)
                # The frontend logs in (trusted network), connects and renders.
                await asyncio.sleep(12)
                shot = await self.send(socket_, "Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))  # noqa: ASYNC240 - a one-off script

    def stop(self) -> None:
        """Close the browser."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def main() -> None:
    """Run Home Assistant, build the dashboard and photograph it."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as directory:
        hass = HomeAssistant(Path(directory), free_port())
        try:
            await hass.start()
            await hass.onboard()
            await hass.add_machine()
            await history(hass)
            await hass.save_dashboard()
            browser = Chromium(Path(directory) / "chromium")
            try:
                url = f"{hass.base}/lovelace/espresso"
                await browser.photograph(url, OUTPUT / "dashboard.png", 1280, 1000)
                await browser.photograph(url, OUTPUT / "dashboard-phone.png", 420, 1900)
            finally:
                browser.stop()
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
        finally:
            await hass.stop()
    print(f"Saved the screenshots in {OUTPUT}")


if __name__ == "__main__":
    asyncio.run(main())
