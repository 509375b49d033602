"""``sentinelkit stats`` as text: one table of tool KPIs, one of Azure requests per tenant, breaches marked."""

from __future__ import annotations

from typing import Any

_WINDOWS = (("last_hour", "last hour"), ("since_start", "since start"))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def _uptime(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h {rest // 60:02d}m" if hours else f"{rest // 60}m {rest % 60:02d}s"


def render(report: dict[str, Any]) -> str:
    server = report.get("server") or {}
    thresholds = report["thresholds"]
    lines = [f"{server.get('name', 'sentinelkit')} (pid {server.get('pid', '?')}, up {_uptime(report['uptime_seconds'])}"
             f"{', config ' + server['config_file'] if server.get('config_file') else ''}) - thresholds: errors > "
             f"{thresholds['error_rate']:.0%}, average response > {thresholds['avg_response_seconds']:g} s", ""]
    header = f"{'tool':<28} {'tenant':<16} {'window':<12} {'calls':>6} {'success':>8} {'errors':>9} " \
             f"{'avg':>9} {'p50':>9} {'p95':>9}"
    lines.append(header)
    for row in report["tools"]:
        for index, (key, label) in enumerate(_WINDOWS):
            cell = row[key]
            first = index == 0
            name = row["tool"] if first else ""
            tenant = (row["tenant"] or "(all)") if first else ""
            if not cell.get("calls"):
                lines.append(f"{name:<28} {tenant:<16} {label:<12} {0:>6}")
                continue
            breached = cell.get("breached", [])
            errors = _pct(cell["error_rate"]) + (" !" if "error_rate" in breached else "  ")
            average = _ms(cell["avg_ms"]) + ("!" if "avg_response" in breached else " ")
            lines.append(f"{name:<28} {tenant:<16} {label:<12} {cell['calls']:>6} {_pct(cell['success_rate']):>8} "
                         f"{errors:>9} {average:>9} {_ms(cell['p50_ms']):>9} {_ms(cell['p95_ms']):>9}")
    if not report["tools"]:
        lines.append("(no tool call yet)")
    if report["azure"]:
        lines += ["", f"{'Azure, per target tenant':<28} {'window':<12} {'requests':>9} {'429s':>6} "
                      f"{'Retry-After wait':>17}  statuses"]
        for row in report["azure"]:
            for index, (key, label) in enumerate(_WINDOWS):
                cell = row[key]
                statuses = ", ".join(f"{k}: {v}" for k, v in cell["by_status"].items())
                lines.append(f"{row['tenant'] if index == 0 else '':<28} {label:<12} {cell['requests']:>9} "
                             f"{cell['throttled']:>6} {cell['retry_after_wait_seconds']:>15.1f} s  {statuses}")
    cache = report["cache"]
    lookups = cache["hits"] + cache["misses"]
    ratio = f"{cache['hit_ratio']:.0%} hits ({cache['hits']} of {lookups} lookups)" if lookups else "no lookups yet"
    lines += ["", f"read cache: {ratio} - open confirmations: {report['confirmations_open']}"]
    if report["breaches"]:
        lines += ["", "BREACHED (marked ! above):", *(f"  {b}" for b in report["breaches"])]
    return "\n".join(lines)
