"""The packaging files follow Home Assistant's and HACS's rules for custom integrations."""

from __future__ import annotations

import json
from pathlib import Path

from awesomeversion import AwesomeVersion
from PIL import Image
import yaml

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "custom_components" / "espresso_maintenance"

# The rules of the integration quality scale, bronze to platinum.
QUALITY_RULES = {
    "action-setup", "appropriate-polling", "brands", "common-modules",
    "config-flow-test-coverage", "config-flow", "dependency-transparency",
    "docs-actions", "docs-high-level-description", "docs-installation-instructions",
    "docs-removal-instructions", "entity-event-setup", "entity-unique-id",
    "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
    "unique-config-entry", "action-exceptions", "config-entry-unloading",
    "docs-configuration-parameters", "docs-installation-parameters",
    "entity-unavailable", "integration-owner", "log-when-unavailable",
    "parallel-updates", "reauthentication-flow", "test-coverage", "devices",
    "diagnostics", "discovery-update-info", "discovery", "docs-data-update",
    "docs-examples", "docs-known-limitations", "docs-supported-devices",
    "docs-supported-functions", "docs-troubleshooting", "docs-use-cases",
    "dynamic-devices", "entity-category", "entity-device-class",
    "entity-disabled-by-default", "entity-translations", "exception-translations",
    "icon-translations", "reconfiguration-flow", "repair-issues", "stale-devices",
    "async-dependency", "inject-websession", "strict-typing",
}  # fmt: skip


def test_manifest() -> None:
    """The manifest has every key a custom integration needs, in hassfest's order."""
    manifest = json.loads((PACKAGE / "manifest.json").read_text(encoding="utf-8"))
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert manifest["domain"] == PACKAGE.name
    assert {
        "codeowners", "config_flow", "documentation", "integration_type",
        "iot_class", "issue_tracker", "requirements", "version",
    } <= set(manifest)  # fmt: skip
    assert manifest["config_flow"] is True
    assert manifest["integration_type"] == "device"
    assert manifest["iot_class"] == "calculated"
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    assert manifest["documentation"].startswith("https://")
    assert manifest["issue_tracker"].startswith("https://")
    assert AwesomeVersion(manifest["version"]).valid


def test_hacs() -> None:
    """HACS finds the name and the minimum Home Assistant version."""
    hacs = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))
    assert hacs["name"] == "Espresso Maintenance"
    assert hacs["homeassistant"] == "2025.4.0"


def test_brand_images() -> None:
    """The icon is 256 by 256 pixels; the logo exists."""
    with Image.open(PACKAGE / "brand" / "icon.png") as icon:
        assert icon.size == (256, 256)
    with Image.open(PACKAGE / "brand" / "logo.png") as logo:
        assert logo.format == "PNG"


def test_quality_scale() -> None:
    """Every rule up to platinum is done, or exempt with a reason."""
    rules = yaml.safe_load(
        (PACKAGE / "quality_scale.yaml").read_text(encoding="utf-8")
    )["rules"]
    assert set(rules) == QUALITY_RULES
    for rule, status in rules.items():
        if isinstance(status, dict):
            assert status["status"] == "exempt", rule
            assert len(status["comment"]) > 10, rule
        else:
            assert status == "done", rule
