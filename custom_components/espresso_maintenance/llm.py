"""LLM tools: the Assist intents, offered to LLM conversation agents.

Home Assistant 2026 collects the Assist API's tools from each integration's
`llm` platform. Older versions offer every registered intent on their own and
never load this module.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.components.llm import (  # type: ignore[import-not-found,unused-ignore]
    LLMTools,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, intent
from homeassistant.helpers.llm import LLM_API_ASSIST, IntentTool, LLMContext

from .assist import HANDLERS, loaded_machines
from .const import DOMAIN


def _exposed(hass: HomeAssistant, assistant: str | None) -> bool:
    """Whether the assistant may see at least one loaded machine."""
    machines = loaded_machines(hass)
    if assistant is None:
        return bool(machines)
    registry = er.async_get(hass)
    return any(
        async_should_expose(hass, assistant, entity.entity_id)
        for machine in machines
        for entity in er.async_entries_for_config_entry(
            registry, machine.entry.entry_id
        )
    )


@callback
def async_get_tools(hass: HomeAssistant, llm_context: LLMContext, api_id: str) -> Any:
    """Return a tool for each intent while a machine is exposed to the assistant."""
    if api_id != LLM_API_ASSIST or not _exposed(hass, llm_context.assistant):
        return None
    ours = {handler.intent_type for handler in HANDLERS}
    # The keyword arguments tag each tool with this integration; they exist
    # wherever this platform is loaded.
    tag: dict[str, Any] = {"integration": DOMAIN}
    return LLMTools(
        tools=[
            IntentTool(f"{DOMAIN}__{handler.intent_type}", handler, **tag)
            for handler in intent.async_get(hass)
            if handler.intent_type in ours
        ]
    )
