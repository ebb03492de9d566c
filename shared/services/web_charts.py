"""Charts for the web pages as inline SVG, drawn on the server: no chart script, nothing to load,
readable by a screen reader (each chart has a title and a table of its values beside it).

- team trends: one line chart per metric over the chosen range and granularity;
- analysis diagnostics, when the stored result has them: propensity overlap (two histograms)
  and covariate balance (standardised mean differences before and after adjustment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any

WIDTH, HEIGHT, PAD = 560, 180, 36
TEAM_METRICS = (
    ("degree_in", "Contacts in (mean per person)"),
    ("weighted_in", "Interaction volume in (mean)"),
    ("betweenness", "Betweenness (mean)"),
    ("clustering", "Clustering (mean)"),
    ("cross_team_ratio", "Cross-team share of ties"),
    ("after_hours_share", "After-hours share"),
    ("meeting_hours", "Meeting hours (mean)"),
)
BALANCE_THRESHOLD = 0.1  # |SMD| under this is conventionally balanced


@dataclass
class Chart:
    title: str
    svg: str
    rows: list[tuple[str, str]] = field(default_factory=list)  # the values as text, for the table


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def line_chart(title: str, points: list[tuple[datetime, float]]) -> Chart:
    if not points:
        return Chart(title, "", [])
    xs = [p[0].timestamp() for p in points]
    ys = [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if y0 == y1:
        y0, y1 = y0 - 1, y1 + 1
    sx = (WIDTH - 2 * PAD) / ((x1 - x0) or 1)
    sy = (HEIGHT - 2 * PAD) / (y1 - y0)
    coords = [(PAD + (x - x0) * sx, HEIGHT - PAD - (y - y0) * sy) for x, y in zip(xs, ys, strict=True)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>' for x, y in coords) if len(coords) <= 60 else ""
    first, last = points[0][0], points[-1][0]
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" class="chart">'
        f"<title>{escape(title)}</title>"
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" class="axis"/>'
        f'<text x="{PAD - 4}" y="{PAD + 4}" text-anchor="end">{_fmt(y1)}</text>'
        f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" text-anchor="end">{_fmt(y0)}</text>'
        f'<text x="{PAD}" y="{HEIGHT - 10}">{first:%Y-%m-%d %H:%M}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 10}" text-anchor="end">{last:%Y-%m-%d %H:%M}</text>'
        f'<polyline points="{path}" class="series"/><g class="dots">{dots}</g></svg>'
    )
    return Chart(title, svg, [(f"{t:%Y-%m-%d %H:%M}", _fmt(v)) for t, v in points])


def team_charts(rows: list[dict[str, Any]]) -> list[Chart]:
    charts = []
    for key, title in TEAM_METRICS:
        points = [(r["time"], float(r[key])) for r in rows if r.get(key) is not None]
        if points:
            charts.append(line_chart(title, points))
    return charts


def bar_pairs(title: str, labels: list[str], before: list[float], after: list[float], names: tuple[str, str]) -> Chart:
    """Horizontal paired bars (e.g. |SMD| before/after), with the 0.1 balance line when it applies."""
    n = len(labels)
    row_h = 22
    height = PAD + n * row_h + 10
    top = max([abs(v) for v in before + after] + [BALANCE_THRESHOLD * 1.5])
    left = 160
    scale = (WIDTH - left - 20) / top
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="14" class="legend-a">{escape(names[0])}</text>',
        f'<text x="{left + 120}" y="14" class="legend-b">{escape(names[1])}</text>',
    ]
    for i, label in enumerate(labels):
        y = PAD + i * row_h
        parts.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{escape(label[:24])}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{abs(before[i]) * scale:.1f}" height="8" class="bar-a"/>')
        parts.append(f'<rect x="{left}" y="{y + 9}" width="{abs(after[i]) * scale:.1f}" height="8" class="bar-b"/>')
    x = left + BALANCE_THRESHOLD * scale
    parts.append(f'<line x1="{x:.1f}" y1="{PAD - 6}" x2="{x:.1f}" y2="{height - 6}" class="threshold"/>')
    parts.append("</svg>")
    rows = [(label, f"{_fmt(b)} -> {_fmt(a)}") for label, b, a in zip(labels, before, after, strict=True)]
    return Chart(title, "".join(parts), rows)


def histogram_pair(title: str, edges: list[float], a: list[float], b: list[float], names: tuple[str, str]) -> Chart:
    """Two overlaid histograms over the same bins (propensity overlap of treated and control)."""
    bins = min(len(a), len(b))
    if bins == 0:
        return Chart(title, "", [])
    top = max(a[:bins] + b[:bins]) or 1.0
    w = (WIDTH - 2 * PAD) / bins
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="{PAD}" y="14" class="legend-a">{escape(names[0])}</text>',
        f'<text x="{PAD + 120}" y="14" class="legend-b">{escape(names[1])}</text>',
    ]
    for i in range(bins):
        for series, cls, offset in ((a, "bar-a", 0.0), (b, "bar-b", w / 2)):
            h = (HEIGHT - 2 * PAD) * series[i] / top
            x, y = PAD + i * w + offset, HEIGHT - PAD - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w / 2 - 1:.1f}" height="{h:.1f}" class="{cls}"/>')
    parts.append(f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>')
    if len(edges) >= 2:
        parts.append(f'<text x="{PAD}" y="{HEIGHT - 10}">{_fmt(edges[0])}</text>')
        parts.append(f'<text x="{WIDTH - PAD}" y="{HEIGHT - 10}" text-anchor="end">{_fmt(edges[-1])}</text>')
    parts.append("</svg>")
    labels = [f"bin {i + 1}" if len(edges) <= i + 1 else f"{_fmt(edges[i])}-{_fmt(edges[i + 1])}" for i in range(bins)]
    rows = [(label, f"{_fmt(x)} / {_fmt(y)}") for label, x, y in zip(labels, a, b, strict=False)]
    return Chart(title, "".join(parts), rows)


def _numbers(value: Any) -> list[float] | None:
    if isinstance(value, list) and all(isinstance(v, int | float) for v in value):
        return [float(v) for v in value]
    return None


def diagnostics_charts(result: dict[str, Any]) -> list[Chart]:
    """Plots for whatever diagnostics the stored result carries (shapes read leniently: the engine
    may add them later; an unknown shape is skipped, never an error)."""
    diagnostics = result.get("diagnostics")
    if not isinstance(diagnostics, dict):
        return []
    charts: list[Chart] = []
    overlap = diagnostics.get("overlap")
    if isinstance(overlap, dict):
        treated = _numbers(overlap.get("treated") or overlap.get("treated_hist") or overlap.get("treated_counts"))
        control = _numbers(overlap.get("control") or overlap.get("control_hist") or overlap.get("control_counts"))
        edges = _numbers(overlap.get("bins") or overlap.get("bin_edges") or overlap.get("edges")) or []
        if treated and control:
            charts.append(histogram_pair("Propensity overlap", edges, treated, control, ("treated", "control")))
    balance = diagnostics.get("balance")
    items: list[tuple[str, float, float]] = []
    if isinstance(balance, dict):
        for name, v in balance.items():
            if isinstance(v, dict):
                before = v.get("smd_before", v.get("before"))
                after = v.get("smd_after", v.get("after"))
                if isinstance(before, int | float) and isinstance(after, int | float):
                    items.append((str(name), float(before), float(after)))
    elif isinstance(balance, list):
        for v in balance:
            if isinstance(v, dict):
                name = v.get("covariate") or v.get("name")
                before = v.get("smd_before", v.get("before"))
                after = v.get("smd_after", v.get("after"))
                if name and isinstance(before, int | float) and isinstance(after, int | float):
                    items.append((str(name), float(before), float(after)))
    if items:
        charts.append(
            bar_pairs(
                "Covariate balance (|standardised mean difference|)",
                [i[0] for i in items],
                [i[1] for i in items],
                [i[2] for i in items],
                ("before adjustment", "after adjustment"),
            )
        )
    return charts
