"""Class-balance charts as inline SVG, drawn at build time (no JavaScript chart library).

One chart per config: a group of horizontal bars per count (level and split), one bar per class,
scaled to the largest class of that group so that an imbalance such as 58 vs 1,342 shows at a
glance. Counts that give only a total are listed with their total and no bars.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from covidct.site.html import colour, esc

PALETTE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c",
           "#ccb974", "#64b5cd"]
MAX_BARS = 40
WIDTH = 640
LABEL_W = 180
BAR_W = 320
ROW_H = 22
BAR_H = 15


@dataclass
class Group:
    title: str  # e.g. "scans" or "slices (train)"
    total: int | None
    bars: list[tuple[str, int]] = field(default_factory=list)


def _fmt(n: int) -> str:
    return f"{n:,}"


def _short(text: str, n: int = 26) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def chart(groups: list[Group], colours: dict[str, str], *, title: str) -> str:
    """The SVG element (a string) for ``groups``; empty when there is nothing to draw."""
    if not groups:
        return ""
    palette: dict[str, str] = {}
    rows: list[str] = []
    y = 4
    for g in groups:
        total_txt = f": {_fmt(g.total)} in total" if g.total is not None else ""
        rows.append(f'<text x="0" y="{y + 14}" class="covidct-chart__group">{esc(_short(g.title, 60))}'
                    f"{esc(total_txt)}</text>")
        y += ROW_H
        if not g.bars:
            rows.append(f'<text x="12" y="{y + 14}" class="covidct-chart__muted">per-class counts not given '
                        f"in the card</text>")
            y += ROW_H
            continue
        biggest = max(v for _, v in g.bars) or 1
        whole = max(sum(v for _, v in g.bars), g.total or 0) or 1
        shown = g.bars[:MAX_BARS]
        for name, value in shown:
            fill = colours.get(name) or palette.setdefault(name, PALETTE[len(palette) % len(PALETTE)])
            w = 0.0 if value == 0 else max(1.5, BAR_W * value / biggest)
            pct = 100.0 * value / whole
            rows.append(
                f'<g class="covidct-chart__bar"><title>{esc(name)}: {_fmt(value)} ({pct:.1f}%)</title>'
                f'<text x="{LABEL_W - 8}" y="{y + 13}" text-anchor="end">{esc(_short(name))}</text>'
                f'<rect x="{LABEL_W}" y="{y + 3}" width="{w:.1f}" height="{BAR_H}" rx="2" fill="{fill}"'
                f' stroke="currentColor" stroke-opacity="0.25"/>'
                f'<text x="{LABEL_W + w + 6:.1f}" y="{y + 14}">{_fmt(value)} ({pct:.1f}%)</text></g>'
            )
            y += ROW_H
        if len(g.bars) > len(shown):
            rows.append(f'<text x="{LABEL_W}" y="{y + 14}" class="covidct-chart__muted">'
                        f"… {len(g.bars) - len(shown)} more classes (see the table)</text>")
            y += ROW_H
        y += 6
    height = y + 4
    return (
        f'<svg class="covidct-chart" role="img" aria-label="{esc(title)}" viewBox="0 0 {WIDTH} {height}"'
        f' width="100%" style="max-width:{WIDTH}px" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{esc(title)}</title>{''.join(rows)}</svg>"
    )


def mask_colours(labels: list) -> dict[str, str]:
    """Class name -> display colour, from mask values that declare one."""
    out: dict[str, str] = {}
    for lab in labels:
        for mv in lab.mask_values:
            c = colour(mv.color)
            if c:
                out.setdefault(mv.name, c)
    return out
