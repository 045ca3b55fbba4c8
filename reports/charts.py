"""A tiny server-side SVG bar chart (no JavaScript, nothing fetched): horizontal bars, one or more series; a label
and its bars link to the list behind them when the chart is given `links`.

Pixel geometry uses floats; the values printed beside the bars are the Decimal amounts as given. Text is drawn at
`font` pixels: the page must not scale the chart down (its width is the width it needs)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.html import escape

COLOURS = ("#417690", "#d68a2e", "#5b9a68", "#a05195")


@dataclass
class Chart:
    title: str
    labels: list[str] = field(default_factory=list)
    series: list[tuple[str, list[Decimal]]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # one address per label, or none


def bar_chart_svg(chart: Chart, *, width: int = 760, bar: int = 14, label_width: int = 190, font: int = 12) -> str:
    """The chart as an inline <svg> element (labels escaped)."""
    values = [v for _name, vs in chart.series for v in vs]
    top = max([abs(v) for v in values] + [Decimal(1)])
    plot = width - label_width - 8 * font
    bar = max(bar, font + 4)
    group = bar * max(len(chart.series), 1) + 8
    legend = font + 12 if len(chart.series) > 1 else 0
    title = font + 4
    height = title + 16 + legend + group * max(len(chart.labels), 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(chart.title)}" '
           f'font-family="sans-serif" font-size="{font}">',
           f'<text x="0" y="{title}" font-size="{title}" font-weight="bold">{escape(chart.title)}</text>']
    if legend:
        x = 0
        for i, (name, _vs) in enumerate(chart.series):
            out.append(f'<rect x="{x}" y="{title + 10}" width="{font - 2}" height="{font - 2}" '
                       f'fill="{COLOURS[i % len(COLOURS)]}"/>'
                       f'<text x="{x + font + 2}" y="{title + 8 + font}">{escape(name)}</text>')
            x += 2 * font + font * len(str(name))
    y = title + 12 + legend
    for row, label in enumerate(chart.labels):
        link = chart.links[row] if row < len(chart.links) else ""
        if link:
            out.append(f'<a href="{escape(link)}" class="chart-link">')
        out.append(f'<text x="{label_width - 6}" y="{y + (group + font) / 2 - 4:.0f}" text-anchor="end" '
                   f'class="chart-label">{escape(label)}</text>')
        for i, (_name, vs) in enumerate(chart.series):
            value = vs[row]
            length = abs(Decimal(value)) / top * plot  # pixels; Decimal like the amounts it draws
            by = y + i * bar
            out.append(f'<rect x="{label_width}" y="{by}" width="{length:.1f}" height="{bar - 2}" '
                       f'fill="{COLOURS[i % len(COLOURS)]}"><title>{escape(label)}: {value}</title></rect>'
                       f'<text x="{label_width + length + 4:.1f}" y="{by + (bar + font) / 2 - 2:.0f}">{value}</text>')
        if link:
            out.append("</a>")
        y += group
    out.append("</svg>")
    return "".join(out)


def single(title: str, name: str, pairs: Sequence[tuple[str, Decimal]]) -> Chart:
    return Chart(title=title, labels=[str(k) for k, _v in pairs], series=[(name, [v for _k, v in pairs])])
