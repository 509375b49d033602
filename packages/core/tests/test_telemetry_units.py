"""The pieces of telemetry that need no server: KPI windows, percentiles and thresholds; which exporters the
configuration and the OTEL_* environment choose; URL templates; open confirmations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sentinelkit.call import ToolCall
from sentinelkit.contract import READ_ONLY, ToolSpec
from sentinelkit.settings import ConfigError, Settings, TelemetryConfig
from sentinelkit.telemetry.confirmations import OpenConfirmations
from sentinelkit.telemetry.kpi import Sketch, Stats
from sentinelkit.telemetry.setup import plan
from sentinelkit.telemetry.urls import path_template
from sentinelkit.workspaces import Workspace


async def _noop(kit: Any) -> None: ...


def _call(tool: str = "incident_list", *, tenants: tuple[str, ...] = ("fabrikam",), failed: tuple[str, ...] = (),
          arguments: dict[str, Any] | None = None) -> ToolCall:
    call = ToolCall(ToolSpec(_noop, tool, READ_ONLY, pack="incidents"), arguments or {}, caller="local:me")
    for i, tenant in enumerate(tenants):
        call.targets.append(Workspace.from_id(f"/subscriptions/s{i}/resourceGroups/rg/providers/"
                                              f"Microsoft.OperationalInsights/workspaces/law-{tenant}-{i}", tenant=tenant))
    call.failures.extend((tenant, f"law-{tenant}") for tenant in failed)
    return call


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_last_hour_and_since_start_per_tool_and_tenant() -> None:
    clock = Clock()
    stats = Stats(clock=clock)
    for _ in range(19):
        stats.record_call(_call(), "ok", 0.1)
    stats.record_call(_call(), "error", 0.1)
    clock.now += 2 * 3600  # two hours later: the first 20 calls leave the last hour
    stats.record_call(_call(tenants=("fabrikam", "northwind"), failed=("northwind",)), "partial", 4.0)
    rows = {(r["tool"], r["tenant"]): r for r in stats.report()["tools"]}
    assert set(rows) == {("incident_list", None), ("incident_list", "fabrikam"), ("incident_list", "northwind")}
    since = rows[("incident_list", None)]["since_start"]
    assert (since["calls"], since["error_rate"], since["success_rate"]) == (21, round(1 / 21, 4), round(19 / 21, 4))
    assert since["breached"] == []  # 4.8 % errors, 0.29 s average
    hour = rows[("incident_list", None)]["last_hour"]
    assert (hour["calls"], hour["success_rate"], hour["error_rate"], hour["breached"]) == (1, 0.0, 0.0, ["avg_response"])
    assert rows[("incident_list", "northwind")]["last_hour"]["error_rate"] == 1.0  # its only workspace failed
    assert rows[("incident_list", "fabrikam")]["last_hour"]["success_rate"] == 1.0
    assert stats.report()["breaches"] == [
        "incident_list (all tenants), last hour: average response 4.00 s > 3 s",
        "incident_list (fabrikam), last hour: average response 4.00 s > 3 s",
        "incident_list (northwind), last hour: error rate 100.0% > 5%, average response 4.00 s > 3 s",
        "incident_list (northwind), since start: error rate 100.0% > 5%, average response 4.00 s > 3 s"]


def test_thresholds_are_configurable() -> None:
    stats = Stats(error_rate=0.5, avg_response_seconds=10)
    stats.record_call(_call(), "error", 5.0)
    stats.record_call(_call(), "ok", 5.0)
    assert stats.report()["tools"][0]["last_hour"]["breached"] == []
    stats.record_call(_call(), "failed", 5.0)
    assert stats.report(tenant="fabrikam")["tools"][0]["last_hour"]["breached"] == ["error_rate"]


def test_percentiles_are_within_two_percent() -> None:
    sketch = Sketch()
    for ms in range(1, 1001):
        sketch.add(ms / 1000)
    assert sketch.quantile_ms(0.5) == pytest.approx(500, rel=0.02)
    assert sketch.quantile_ms(0.95) == pytest.approx(950, rel=0.02)
    assert Sketch().quantile_ms(0.5) is None


def test_stats_survive_the_file_round_trip() -> None:
    clock = Clock()
    stats = Stats(clock=clock)
    call = _call()
    call.tally.azure("fabrikam", 429, None)
    call.tally.azure("fabrikam", 200, 1.5)
    call.tally.cache(True)
    stats.record_call(call, "ok", 0.25)
    again = Stats.from_json(stats.to_json(), clock=clock)
    assert again.report() == stats.report()
    azure = again.report()["azure"][0]["since_start"]
    assert azure == {"requests": 2, "throttled": 1, "retry_after_wait_seconds": 1.5, "by_status": {"200": 1, "429": 1}}


def test_a_confirmation_is_open_until_the_same_call_comes_back() -> None:
    clock = Clock()
    open_ = OpenConfirmations(ttl=900, clock=clock)
    asked = _call("incident_close", arguments={"incident_id": "1", "classification": "BenignPositive"})
    open_.update(asked, "preview")
    open_.update(_call("incident_close", arguments={"incident_id": "2"}), "preview")
    assert open_.count() == 2
    answered = _call("incident_close", arguments={"incident_id": "1", "classification": "BenignPositive",
                                                  "confirm": True})
    open_.update(answered, "applied")
    assert open_.count() == 1
    clock.now += 901  # abandoned
    assert open_.count() == 0


def _settings(**telemetry: Any) -> Settings:
    return Settings(telemetry=TelemetryConfig(**telemetry))


def test_nothing_is_set_up_unless_configured() -> None:
    assert plan(_settings(), {}) is None
    assert plan(_settings(exporters=["console"]), {"OTEL_SDK_DISABLED": "true"}) is None
    assert plan(_settings(exporters=["console"], enabled=False), {}) is None
    on = plan(_settings(enabled=True), {})
    assert on is not None and (on.traces, on.metrics) == ((), ())  # ids in logs, nothing sent


def test_the_environment_chooses_exporters_over_the_file() -> None:
    chosen = plan(_settings(exporters=["otlp"]), {"OTEL_TRACES_EXPORTER": "console,otlp", "OTEL_METRICS_EXPORTER": "none"})
    assert chosen is not None and (chosen.traces, chosen.metrics) == (("console", "otlp"), ())
    by_connection = plan(_settings(), {"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=k"})
    assert by_connection is not None and by_connection.traces == ("azure_monitor",) == by_connection.metrics
    by_endpoint = plan(_settings(), {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert by_endpoint is not None and by_endpoint.traces == ("otlp",)


def test_configuration_mistakes_are_explained() -> None:
    with pytest.raises(ConfigError, match="OTEL_TRACES_EXPORTER='zipkin': unknown exporter 'zipkin'"):
        plan(_settings(), {"OTEL_TRACES_EXPORTER": "zipkin"})
    with pytest.raises(ConfigError, match="APPLICATIONINSIGHTS_CONNECTION_STRING"):
        plan(_settings(exporters=["azure_monitor"]), {})


def test_a_malformed_connection_string_is_explained_without_showing_it() -> None:
    from sentinelkit.telemetry.setup import configure

    placeholder = "InstrumentationKey=...;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;..."
    with pytest.raises(ConfigError, match="connection string .* is not valid: copy it whole") as raised:
        configure(_settings(), {"APPLICATIONINSIGHTS_CONNECTION_STRING": placeholder}, set_global=False)
    assert "westeurope-5" not in str(raised.value)


def test_telemetry_in_the_file_is_validated(tmp_path: Path) -> None:
    from sentinelkit.settings import load_settings

    path = tmp_path / "sentinelkit.toml"
    path.write_text('[telemetry]\nexporters = ["jaeger"]\n')
    with pytest.raises(ConfigError, match=r"telemetry\.exporters\.0"):
        load_settings(path)
    path.write_text("[telemetry.thresholds]\nerror_rate = 0.02\navg_response_seconds = 1.5\n")
    thresholds = load_settings(path).telemetry.thresholds
    assert (thresholds.error_rate, thresholds.avg_response_seconds) == (0.02, 1.5)


def test_url_templates_keep_no_ids() -> None:
    sentinel = ("/subscriptions/8d3f-1/resourceGroups/rg-sentinel/providers/Microsoft.OperationalInsights/workspaces/"
                "law-fabrikam-prod/providers/Microsoft.SecurityInsights/incidents/1b2c/comments")
    assert path_template(sentinel) == (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.OperationalInsights/"
        "workspaces/{name}/providers/Microsoft.SecurityInsights/incidents/{name}/comments")
    assert path_template("/v1/workspaces/6e4f3c1a-27aa-4b8e-9d4a-0c1d2e3f4a5b/query") == "/v1/workspaces/{workspaceId}/query"
    assert path_template("/subscriptions") == "/subscriptions"
    assert path_template("/subscriptions/x/providers/Microsoft.OperationalInsights/locations/westeurope/"
                         "operationStatuses/6e4f3c1a-27aa-4b8e-9d4a-0c1d2e3f4a5b") == (
        "/subscriptions/{subscriptionId}/providers/Microsoft.OperationalInsights/locations/{name}/operationStatuses/"
        "{name}")


STARTUP = """
import asyncio, sys
from fastmcp import Client
from sentinelkit.cli import _telemetry
from sentinelkit.server import build_server
from sentinelkit.settings import load_settings

settings = load_settings()
assert _telemetry(settings) is None

async def main():
    async with Client(build_server(settings)) as client:
        await client.list_tools()

asyncio.run(main())
print(" ".join(sorted(m for m in sys.modules if m.startswith(("opentelemetry.sdk", "opentelemetry.exporter",
                                                             "opentelemetry.metrics", "azure.monitor")))))
"""


def test_start_up_without_telemetry_configured_loads_no_sdk(tmp_path: Path) -> None:
    """The extra installed but not configured: serving and listing tools import neither the SDK, nor an exporter,
    nor the metrics API (what `sentinelkit serve` does before its first call)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "APPLICATIONINSIGHTS_", "SENTINELKIT_"))}
    env["SENTINELKIT_AUDIT_LOG"] = str(tmp_path / "audit.jsonl")
    done = subprocess.run([sys.executable, "-c", STARTUP], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
