"""Charts as inline SVG drawn on the server, pure: no script, no CDN, readable without JS."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from pydantic import BaseModel

PALETTE = [
    "#1d70b8",
    "#d4351c",
    "#00703c",
    "#f47738",
    "#4c2c92",
    "#28a197",
    "#912b88",
    "#505a5f",
    "#b58840",
    "#003078",
]
WIDTH, HEIGHT = 790, 380
LEFT, RIGHT, TOP, BOTTOM = 78, 200, 20, 48


class Series(BaseModel):
    name: str
    points: list[tuple[str, float]]


class ChartData(BaseModel):
    """What a chart shows, kept as data so that the page's JSON twin carries it too."""

    title: str
    kind: str
    x_label: str
    y_label: str
    series: list[Series]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high], as people would label an axis."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 0.5:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _label(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if abs(value) >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"


def _categories(series: Sequence[Series]) -> list[str]:
    seen: dict[str, None] = {}
    for s in series:
        for x, _ in s.points:
            seen.setdefault(x, None)
    return sorted(seen)


def render_svg(chart: ChartData, ident: str = "chart") -> str:
    """The chart as an accessible SVG element: a title, axes, gridlines, series and a legend.

    ``ident`` names the chart's title element; give each chart on one page its own.
    """
    xs = _categories(chart.series)
    values = [y for s in chart.series for _, y in s.points]
    if not xs or not values:
        return ""
    ticks = nice_ticks(min(0.0, min(values)), max(values))
    low, high = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y_at(value: float) -> float:
        return TOP + plot_h - (value - low) / (high - low) * plot_h

    slot = plot_w / len(xs)

    def x_at(index: int) -> float:
        return LEFT + slot * (index + 0.5)

    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="trusthub-chart" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{escape(ident)}-title" data-series="{len(chart.series)}" '
        f'data-points="{len(values)}">',
        f'<title id="{escape(ident)}-title">{escape(chart.title)}</title>',
    ]
    for tick in ticks:
        y = y_at(tick)
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d8d8d8"/>'
        )
        parts.append(
            f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="#0b0c0c">'
            f"{escape(_label(tick))}</text>"
        )
    every = max(1, math.ceil(len(xs) / 8))
    for index, x in enumerate(xs):
        if index % every == 0:
            parts.append(
                f'<text x="{x_at(index):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle" '
                f'font-size="12" fill="#0b0c0c">{escape(x)}</text>'
            )
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        'stroke="#0b0c0c"/>'
    )
    parts.append(
        f'<text x="16" y="{TOP + plot_h / 2:.1f}" '
        f'transform="rotate(-90 16 {TOP + plot_h / 2:.1f})" '
        f'text-anchor="middle" font-size="12" fill="#0b0c0c">{escape(chart.y_label)}</text>'
    )
    position = {x: i for i, x in enumerate(xs)}
    bar_w = slot * 0.8 / max(1, len(chart.series))
    for n, series in enumerate(chart.series):
        colour = PALETTE[n % len(PALETTE)]
        if chart.kind == "bar":
            for x, y in series.points:
                left = x_at(position[x]) - slot * 0.4 + n * bar_w
                top = y_at(max(y, 0))
                height = abs(y_at(y) - y_at(0))
                parts.append(
                    f'<rect class="trusthub-chart__bar" x="{left:.1f}" y="{top:.1f}" '
                    f'width="{bar_w:.1f}" height="{height:.1f}" fill="{colour}">'
                    f"<title>{escape(x)}: {y:g}</title></rect>"
                )
        else:
            points = " ".join(f"{x_at(position[x]):.1f},{y_at(y):.1f}" for x, y in series.points)
            parts.append(
                f'<polyline class="trusthub-chart__line" fill="none" stroke="{colour}" '
                f'stroke-width="2" points="{points}">'
                f"<title>{escape(series.name)}</title></polyline>"
            )
        if len(chart.series) > 1 or chart.kind == "line":
            ly = TOP + 14 + n * 18
            lx = LEFT + plot_w + 14
            parts.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{colour}"/>')
            parts.append(
                f'<text x="{lx + 18}" y="{ly}" font-size="12" fill="#0b0c0c">'
                f"{escape(series.name)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
