"""Every icon the integration names exists in the frontend of the Home Assistant it runs on.

The frontend draws `mdi:` icons from the list it ships; a name missing there shows
as a blank space on the device page, in lists and in the logbook.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
import re

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "custom_components" / "espresso_maintenance"
ICON = re.compile(r"mdi:[a-z0-9-]+")


def frontend_icons() -> set[str]:
    """Return the icon names the installed frontend package ships."""
    spec = importlib.util.find_spec("hass_frontend")
    if spec is None or spec.origin is None:
        pytest.skip("the home-assistant-frontend package is not installed")
    icon_list = Path(spec.origin).parent / "static" / "mdi" / "iconList.json"
    return {f"mdi:{icon['name']}" for icon in json.loads(icon_list.read_text())}


def named_icons() -> dict[str, set[str]]:
    """Return every `mdi:` icon named in the integration's files, by file."""
    files = [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.json"), *PACKAGE.rglob("*.yaml")]
    files += list((ROOT / "blueprints").rglob("*.yaml"))
    found: dict[str, set[str]] = {}
    for path in files:
        if icons := set(ICON.findall(path.read_text(encoding="utf-8"))):
            found[str(path.relative_to(ROOT))] = icons
    return found


def test_frontend_ships_a_full_icon_list() -> None:
    """The list read is the real one (thousands of icons), not an empty file."""
    icons = frontend_icons()
    assert len(icons) > 5000
    assert "mdi:coffee" in icons
    assert "mdi:calendar-wrench" not in icons


def test_every_icon_exists() -> None:
    """Each icon in icons.json and in the code is one the frontend can draw."""
    available = frontend_icons()
    named = named_icons()
    assert "custom_components/espresso_maintenance/icons.json" in named
    missing = {
        path: sorted(icons - available)
        for path, icons in named.items()
        if icons - available
    }
    assert not missing
