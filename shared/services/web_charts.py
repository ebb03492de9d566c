"""Charts for the web pages as inline SVG, drawn on the server: no chart script, nothing to load,
readable by a screen reader (each chart has a title and a table of its values beside it).

- team trends: one line chart per metric over the chosen range and granularity;
- analysis diagnostics, when the stored result has them: propensity overlap (score range per
  arm) and covariate balance (standardised mean differences before and after adjustment).
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


def quantile_ranges(title: str, arms: dict[str, dict[str, float]]) -> Chart:
    """Propensity score spread per arm on [0, 1]: whisker min..max, box p25..p75, tick at the median."""
    names = sorted(arms)
    row_h = 34
    height = PAD + len(names) * row_h + 24
    left = 90
    scale = WIDTH - left - 20
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for i, arm in enumerate(names):
        q = arms[arm]
        y = PAD + i * row_h

        def x(key: str, q: dict[str, float] = q) -> float:
            return left + max(0.0, min(1.0, float(q.get(key, 0.0)))) * scale

        cls = "bar-a" if i % 2 == 0 else "bar-b"
        parts.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{escape(arm)}</text>')
        parts.append(f'<line x1="{x("min"):.1f}" y1="{y + 8}" x2="{x("max"):.1f}" y2="{y + 8}" class="axis"/>')
        box_w = max(1.0, x("p75") - x("p25"))
        parts.append(f'<rect x="{x("p25"):.1f}" y="{y}" width="{box_w:.1f}" height="16" class="{cls}"/>')
        parts.append(f'<line x1="{x("p50"):.1f}" y1="{y - 3}" x2="{x("p50"):.1f}" y2="{y + 19}" class="threshold"/>')
    axis_y = height - 18
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + scale}" y2="{axis_y}" class="axis"/>')
    parts.append(f'<text x="{left}" y="{height - 4}">0</text>')
    parts.append(f'<text x="{left + scale}" y="{height - 4}" text-anchor="end">1</text>')
    parts.append("</svg>")
    rows = [(arm, ", ".join(f"{k} {_fmt(v)}" for k, v in arms[arm].items())) for arm in names]
    return Chart(title, "".join(parts), rows)


def diagnostics_charts(result: dict[str, Any]) -> list[Chart]:
    """Plots for the diagnostics the stored result carries (``shared.domain.analysis.Diagnostics``):
    propensity overlap per arm and covariate balance before/after adjustment. Read leniently: an
    older result without them, or a shape this page does not know, draws nothing."""
    diagnostics = result.get("diagnostics")
    if not isinstance(diagnostics, dict):
        return []
    charts: list[Chart] = []
    overlap = diagnostics.get("overlap")
    if isinstance(overlap, dict) and isinstance(overlap.get("propensity_quantiles"), dict):
        arms = {
            str(arm): {k: float(v) for k, v in q.items() if isinstance(v, int | float)}
            for arm, q in overlap["propensity_quantiles"].items()
            if isinstance(q, dict)
        }
        if arms:
            charts.append(quantile_ranges("Propensity overlap (score range per arm)", arms))
    balance = diagnostics.get("balance")
    items: list[tuple[str, float, float]] = []
    if isinstance(balance, list):
        for v in balance:
            if isinstance(v, dict):
                name = v.get("column") or v.get("covariate") or v.get("name")
                before = v.get("smd_before")
                after = v.get("smd_after")
                if name and isinstance(before, int | float):
                    items.append((str(name), float(before), float(after) if isinstance(after, int | float) else 0.0))
    if items:
        charts.append(
            bar_pairs(
                "Covariate balance (|standardised mean difference|; dashed line: 0.1)",
                [i[0] for i in items],
                [i[1] for i in items],
                [i[2] for i in items],
                ("before adjustment", "after adjustment"),
            )
        )
    return charts
