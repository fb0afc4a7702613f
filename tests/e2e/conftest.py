"""Fixtures for the end-to-end tests, which run Home Assistant as a separate process.

These tests do not use the test harness's in-process `hass`, so the suite-wide
fixture that enables custom integrations on it is replaced by a no-op here.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .harness import Client, HassProcess, Machine, async_start_onboarded


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of these tests, so `-m "not e2e"` can leave them out."""
    config.addinivalue_line(
        "markers", "e2e: runs Home Assistant as a separate process (slow)"
    )


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Replace the suite's fixture: the integration is linked into the config dir."""


@pytest.fixture(autouse=True)
def loopback_sockets(socket_enabled: None) -> None:
    """Let the tests open TCP sockets; connections stay limited to 127.0.0.1."""


@pytest.fixture
def hass_factory(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Generator[Callable[..., HassProcess]]:
    """Create Home Assistant processes on throwaway config dirs; kill them at the end.

    The finalizer kills each process group with SIGKILL, whatever the test did,
    so a failing or timed-out test never leaves Home Assistant running.
    """
    processes: list[HassProcess] = []

    def make(**kwargs: Any) -> HassProcess:
        hass = HassProcess(tmp_path / f"config-{len(processes)}", **kwargs)
        processes.append(hass)
        return hass

    yield make
    for hass in processes:
        hass.cleanup()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for hass in processes:
            print(hass.failure_context())  # noqa: T201 - shown with the failure


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test, so fixtures can see a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@dataclass
class Instance:
    """A running, onboarded Home Assistant with one machine added through the flow."""

    hass: HassProcess
    client: Client
    machine: Machine


@pytest.fixture
async def instance(
    hass_factory: Callable[..., HassProcess],
) -> AsyncGenerator[Instance]:
    """Start Home Assistant, onboard the owner and add the machine Gaggia."""
    hass, client = await async_start_onboarded(hass_factory)
    try:
        machine = await client.async_add_machine("Gaggia")
        yield Instance(hass, client, machine)
    finally:
        await client.async_close()
