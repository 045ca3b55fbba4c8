"""A tiny server-side SVG bar chart (no JavaScript, nothing fetched): horizontal bars, one or more series.

Pixel geometry uses floats; the values printed beside the bars are the Decimal amounts as given."""

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


def bar_chart_svg(chart: Chart, *, width: int = 760, bar: int = 14, label_width: int = 190) -> str:
    """The chart as an inline <svg> element (labels escaped)."""
    values = [v for _name, vs in chart.series for v in vs]
    top = max([abs(v) for v in values] + [Decimal(1)])
    plot = width - label_width - 110
    group = bar * max(len(chart.series), 1) + 8
    legend = 22 if len(chart.series) > 1 else 0
    height = 30 + legend + group * max(len(chart.labels), 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(chart.title)}" '
           'font-family="sans-serif" font-size="11">',
           f'<text x="0" y="14" font-size="13" font-weight="bold">{escape(chart.title)}</text>']
    if legend:
        x = 0
        for i, (name, _vs) in enumerate(chart.series):
            out.append(f'<rect x="{x}" y="24" width="10" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>'
                       f'<text x="{x + 14}" y="33">{escape(name)}</text>')
            x += 20 + 7 * len(str(name))
    y = 26 + legend
    for row, label in enumerate(chart.labels):
        out.append(f'<text x="{label_width - 6}" y="{y + group / 2:.0f}" text-anchor="end">{escape(label)}</text>')
        for i, (_name, vs) in enumerate(chart.series):
            value = vs[row]
            length = abs(Decimal(value)) / top * plot  # pixels; Decimal like the amounts it draws
            by = y + i * bar
            out.append(f'<rect x="{label_width}" y="{by}" width="{length:.1f}" height="{bar - 2}" '
                       f'fill="{COLOURS[i % len(COLOURS)]}"><title>{escape(label)}: {value}</title></rect>'
                       f'<text x="{label_width + length + 4:.1f}" y="{by + bar - 4}">{value}</text>')
        y += group
    out.append("</svg>")
    return "".join(out)


def single(title: str, name: str, pairs: Sequence[tuple[str, Decimal]]) -> Chart:
    return Chart(title=title, labels=[str(k) for k, _v in pairs], series=[(name, [v for _k, v in pairs])])
