"""The status page: server-rendered HTML from the status records, no script, no external asset.

Every value that comes from a target (a reason) or the config (group and check
names) goes through ``text()`` (HTML-escaped, quotes included) or ``link()``
(percent-encoded path segment, then escaped). The page ships with a
Content-Security-Policy that allows no script at all (``PAGE_HEADERS``), so even
a missed escape could not run one. Charts are inline SVG.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from vigil.status.periods import AVAILABILITY_WINDOWS
from vigil.status.records import CheckDetail, CheckSummary, LocationView, StatusOverview

PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

COLOURS = {
    "healthy": "#1a7f37",
    "degraded": "#b58100",
    "unhealthy": "#cf222e",
    "error": "#8250df",
    "unknown": "#6e7781",
}
NO_DATA = "#d0d7de"

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;
  color:#1f2328;background:#f6f8fa}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
a{color:#0969da;text-decoration:none} a:hover{text-decoration:underline}
.banner{padding:14px 18px;border-radius:8px;color:#fff;font-size:18px;font-weight:600;
  margin:16px 0}
.muted{color:#59636e;font-size:13px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d0d7de;
  border-radius:6px}
th,td{padding:7px 10px;text-align:left;border-bottom:1px solid #eaeef2;vertical-align:middle}
th{font-size:12px;color:#59636e;font-weight:600;background:#f6f8fa}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;
  font-weight:600}
.reason{overflow-wrap:anywhere;font-size:13px;color:#59636e}
td.name{min-width:220px} td.time{white-space:nowrap}
svg{display:block}
.dot{display:inline-block;width:8px;height:8px;border-radius:4px;margin-right:4px}
.location{white-space:nowrap}
.chart{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:8px}
"""


def text(value: object) -> str:
    """``value`` as HTML text, safe inside elements and quoted attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def link(*segments: str) -> str:
    """A site-relative path of percent-encoded segments, escaped for an ``href``."""
    return text("/" + "/".join(quote(s, safe="") for s in segments))


def badge(status: str) -> str:
    colour = COLOURS.get(status, COLOURS["unknown"])
    return f'<span class="badge" style="background:{colour}">{text(status)}</span>'


def figure(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}{unit}"


def availability_cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}%"


def day_bar(days: Sequence[tuple[str, float | None]]) -> str:
    """90 thin bars, one per day (oldest left): green at 100%, red below 99%, grey without data."""
    width, gap, height = 2, 1, 22
    rects = []
    for i, (day, value) in enumerate(days):
        if value is None:
            colour, label = NO_DATA, "no data"
        else:
            colour = (
                COLOURS["healthy"]
                if value >= 99.95
                else COLOURS["degraded"]
                if value >= 99.0
                else COLOURS["unhealthy"]
            )
            label = f"{value:.3f}%"
        rects.append(
            f'<rect x="{i * (width + gap)}" y="0" width="{width}" height="{height}" '
            f'fill="{colour}"><title>{text(day)}: {text(label)}</title></rect>'
        )
    total = len(days) * (width + gap)
    return (
        f'<svg class="bar" width="{total}" height="{height}" viewBox="0 0 {total} {height}" '
        f'role="img" aria-label="availability per day, last {len(days)} days">'
        + "".join(rects)
        + "</svg>"
    )


def line_chart(
    series: Sequence[tuple[str, str, Sequence[float | None]]],
    labels: Sequence[str],
    *,
    title: str,
    unit: str = "ms",
) -> str:
    """An inline SVG line chart: ``series`` = (name, colour, values aligned to ``labels``)."""
    width, height, left, bottom, top = 960, 220, 56, 28, 14
    plot_w, plot_h = width - left - 12, height - bottom - top
    values = [v for _, _, vs in series for v in vs if v is not None]
    parts = [
        f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{text(title)}">',
        f"<title>{text(title)}</title>",
    ]
    if not values:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#59636e">'
            "no latency measured in this window</text></svg>"
        )
        return "".join(parts)
    top_value = max(values) * 1.1 or 1.0
    count = max(1, len(labels) - 1)

    def x(i: int) -> float:
        return left + plot_w * i / count

    def y(v: float) -> float:
        return top + plot_h * (1 - v / top_value)

    # enough decimals that the gridlines' labels differ (sub-millisecond latencies)
    decimals = 0 if top_value >= 40 else 1 if top_value >= 4 else 2
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        value = top_value * fraction
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            'stroke="#eaeef2"/>'
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#59636e">{value:,.{decimals}f} {text(unit)}</text>'
        )
    step = max(1, len(labels) // 6)
    for i in range(0, len(labels), step):
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="middle" font-size="11" '
            f'fill="#59636e">{text(labels[i])}</text>'
        )
    for legend, (name, colour, points) in enumerate(series):
        segment: list[str] = []
        for i, value in enumerate(points):
            if value is None:
                if len(segment) > 1:
                    parts.append(_polyline(segment, colour))
                segment = []
                continue
            segment.append(f"{x(i):.1f},{y(value):.1f}")
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="2.5" fill="{colour}">'
                f"<title>{text(labels[i])} {text(name)}: {value:,.1f} {text(unit)}</title></circle>"
            )
        if len(segment) > 1:
            parts.append(_polyline(segment, colour))
        parts.append(
            f'<text x="{left + 8 + legend * 90}" y="{top + 10}" font-size="12" '
            f'fill="{colour}">● {text(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _polyline(points: list[str], colour: str) -> str:
    return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>'


def _document(title: str, body: Iterable[str]) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{text(title)}</title><style>{STYLE}</style></head><body><main>"
        + "".join(body)
        + "</main></body></html>"
    )


def _banner(status: str, words: str) -> str:
    colour = COLOURS.get(status, COLOURS["unknown"])
    return f'<div class="banner" id="overall" style="background:{colour}">{text(words)}</div>'


OVERALL_WORDS = {
    "healthy": "All checks are healthy",
    "degraded": "Some checks are degraded",
    "unhealthy": "Some checks are failing",
    "error": "Some checks cannot run",
    "unknown": "No check has a confirmed status yet",
}


def render_overview(overview: StatusOverview) -> str:
    """``GET /``: the overall status, then one table per group, one row per check."""
    body = [
        "<h1>Vigil status</h1>",
        f'<div class="muted">Last run scheduled at {text(overview.updated_at or "never")} '
        "(UTC). Availability = passed / judged runs; error runs are not judged.</div>",
        _banner(overview.status, OVERALL_WORDS.get(overview.status, overview.status)),
    ]
    for group in overview.groups:
        body.append(
            f'<h2 id="group-{text(group.group)}">{text(group.group)} {badge(group.status)}</h2>'
        )
        body.append(
            "<table><thead><tr><th>check</th><th>status</th><th class=num>last latency</th>"
            "<th>last 90 days</th>"
            + "".join(f"<th class=num>{w}</th>" for w in AVAILABILITY_WINDOWS)
            + "</tr></thead><tbody>"
        )
        for check in group.checks:
            body.append(_overview_row(check))
        body.append("</tbody></table>")
    return _document("Vigil status", body)


def _overview_row(check: CheckSummary) -> str:
    return (
        f'<tr class="check" data-status="{text(check.status)}">'
        f'<td class="name"><a href="{link("checks", check.group, check.check)}">'
        f'{text(check.check)}</a><div class="reason">{text(check.reason or "")}</div>'
        f"{_heartbeat_line(check)}{_locations_line(check)}</td>"
        f"<td>{badge(check.status)}</td>"
        f"<td class=num>{figure(check.latency_ms, ' ms')}</td>"
        f"<td>{day_bar(check.days)}</td>"
        + "".join(
            f"<td class=num>{availability_cell(check.availability[w])}</td>"
            for w in AVAILABILITY_WINDOWS
        )
        + "</tr>"
    )


def render_detail(detail: CheckDetail) -> str:
    """``GET /checks/{group}/{check}``: figures, latency chart, incidents, recent runs."""
    summary = detail.summary
    name = f"{summary.group}/{summary.check}"
    body = [
        '<div class="muted"><a href="/">← all checks</a></div>',
        f"<h1>{text(name)} {badge(summary.status)}</h1>",
        f'<div class="muted">confirmed {text(summary.status)} since '
        f"{text(summary.since or '–')} · last run {text(summary.last_run or 'never')} "
        f"· last latency {figure(summary.latency_ms, ' ms')}</div>",
        f'<p class="reason" id="reason">{text(summary.reason or "")}</p>',
        _heartbeat_line(summary),
        _locations_table(summary),
        "<h2>Availability</h2><table><thead><tr>"
        + "".join(f"<th class=num>{w}</th>" for w in AVAILABILITY_WINDOWS)
        + "<th class=num>7 d change (points)</th></tr></thead><tbody><tr>"
        + "".join(
            f"<td class=num>{availability_cell(summary.availability[w])}</td>"
            for w in AVAILABILITY_WINDOWS
        )
        + f"<td class=num>{figure(detail.trend['availability_change'], '', 3)}</td></tr>"
        "</tbody></table>",
        f"<p>{day_bar(summary.days)}</p>",
        "<h2>Latency</h2><table><thead><tr><th>window</th><th class=num>p50</th>"
        "<th class=num>p95</th><th class=num>p99</th></tr></thead><tbody>"
        + "".join(
            f"<tr><td>{window}</td>"
            + "".join(f"<td class=num>{figure(q[p], ' ms')}</td>" for p in ("p50", "p95", "p99"))
            + "</tr>"
            for window, q in detail.latency.items()
        )
        + "</tbody></table>",
        f'<p class="muted">24 h p95 against the 7 days before: '
        f"{figure(detail.trend['latency_p95_change'], '×', 3)}</p>",
        "<h2>Latency, last 24 hours (per hour)</h2>",
        line_chart(
            [
                ("p50", "#0969da", [h.p50 for h in detail.hourly]),
                ("p95", "#cf222e", [h.p95 for h in detail.hourly]),
            ],
            [h.hour[11:13] + ":00" for h in detail.hourly],
            title=f"{name}: latency per hour, last 24 hours",
        ),
    ]
    recent = list(reversed(detail.recent))
    body += [
        "<h2>Latency, last runs</h2>",
        line_chart(
            [("latency", "#1a7f37", [r.latency_ms for r in recent])],
            [r.time[11:16] for r in recent],
            title=f"{name}: latency of the last {len(recent)} runs",
        ),
        "<h2>Incidents (90 days)</h2>",
    ]
    if detail.incidents:
        body.append(
            "<table><thead><tr><th>status</th><th>started</th><th>ended</th>"
            "<th class=num>duration</th><th>reason</th></tr></thead><tbody>"
            + "".join(
                f'<tr class="incident"><td>{badge(i.status)}</td>'
                f'<td class="time">{text(i.started)}</td>'
                f"<td class=time>{text(i.ended or 'ongoing')}</td>"
                f"<td class=num>{_duration(i.duration_s)}</td>"
                f'<td class="reason">{text(i.reason)}</td></tr>'
                for i in detail.incidents
            )
            + "</tbody></table>"
        )
    else:
        body.append('<p class="muted">No incident in the last 90 days.</p>')
    body.append(
        "<h2>Recent runs</h2><table><thead><tr><th>scheduled</th><th>status</th>"
        "<th class=num>latency</th><th>reason</th></tr></thead><tbody>"
        + "".join(
            f'<tr class="run"><td class="time">{text(r.time)}</td><td>{badge(r.status)}</td>'
            f"<td class=num>{figure(r.latency_ms, ' ms')}</td>"
            f'<td class="reason">{text(r.reason)}</td></tr>'
            for r in detail.recent
        )
        + "</tbody></table>"
    )
    return _document(f"{name} · Vigil status", body)


def render_error(status_code: int, message: str) -> str:
    return _document(
        f"{status_code} · Vigil status",
        [
            f"<h1>{status_code}</h1>",
            f'<p class="reason">{text(message)}</p>',
            '<p><a href="/">← all checks</a></p>',
        ],
    )


def _heartbeat_line(check: CheckSummary) -> str:
    """A heartbeat check's last ping, when one is expected by, and its last run's duration."""
    beat = check.heartbeat
    if beat is None:
        return ""
    took = _duration(beat.last_duration_ms / 1000) if beat.last_duration_ms is not None else "–"
    return (
        f'<div class="muted heartbeat">last ping {text(beat.last_ping or "never")} · '
        f"expected by {text(beat.expected_by or '–')} · last run took {text(took)}</div>"
    )


def _dot(status: str | None) -> str:
    colour = COLOURS.get(status or "", NO_DATA)
    return f'<span class="dot" style="background:{colour}"></span>'


def _locations_line(check: CheckSummary) -> str:
    """Each location's own status and latency of the last run (with locations)."""
    if not check.locations:
        return ""
    parts = [
        f'<span class="location" data-region="{text(view.region)}" '
        f'data-status="{text(view.status or "none")}" title="{text(view.status or "no report")}">'
        f"{_dot(view.status)}{text(view.region)} "
        f"{text(_location_figure(view))}</span>"
        for view in check.locations
    ]
    return f'<div class="muted locations">{" · ".join(parts)}</div>'


def _location_figure(view: LocationView) -> str:
    if view.status is None:
        return "no report"
    return figure(view.latency_ms, " ms") if view.latency_ms is not None else view.status


def _locations_table(summary: CheckSummary) -> str:
    """The detail page's table of the last run as each location saw it."""
    if not summary.locations:
        return ""
    rows = "".join(
        f'<tr class="location" data-region="{text(view.region)}">'
        f"<td>{text(view.region)}</td>"
        f"<td>{badge(view.status) if view.status else 'no report in time'}</td>"
        f"<td class=num>{figure(view.latency_ms, ' ms')}</td>"
        f'<td class="reason">{text(view.reason or "")}</td></tr>'
        for view in summary.locations
    )
    return (
        "<h2>Last run, by location</h2><table><thead><tr><th>location</th><th>status</th>"
        "<th class=num>latency</th><th>reason</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} d {hours % 24} h"
