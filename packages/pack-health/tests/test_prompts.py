"""The health prompts: listed, and rendered into instructions that drive the health check."""

from __future__ import annotations

from typing import Any


async def test_prompts_are_listed_with_their_arguments(client: Any) -> None:
    prompts = {p.name: p for p in await client.list_prompts()}
    assert {"sentinel-health-report", "sentinel-quick-status"} <= set(prompts)
    args = {a.name: a for a in prompts["sentinel-health-report"].arguments or []}
    assert set(args) == {"tenant_scope", "depth"}
    assert all(a.description and not a.required for a in args.values())
    assert prompts["sentinel-quick-status"].description


async def test_health_report_prompt_renders_the_call_and_the_report_shape(client: Any) -> None:
    result = await client.get_prompt(
        "sentinel-health-report", {"tenant_scope": "fabrikam, northwind", "depth": "detailed"}
    )
    text = result.messages[0].content.text
    assert 'tenant_scope=["fabrikam", "northwind"]' in text and 'check_depth="detailed"' in text
    assert "sentinel_health_check" in text and "SOC lead" in text and "evidence" in text


async def test_quick_status_prompt(client: Any) -> None:
    result = await client.get_prompt("sentinel-quick-status", {})
    text = result.messages[0].content.text
    assert 'check_depth="quick"' in text and "ten lines" in text
