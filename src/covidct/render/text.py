"""`covidct show`: a card as plain terminal text."""

from __future__ import annotations

from covidct.card.model import Card


def card_text(card: Card) -> str:
    lines = [f"{card.name}  (covidct/{card.id})", card.summary, ""]
    if card.aliases:
        lines.append("aliases:    " + ", ".join(card.aliases))
    lines.append("modality:   " + ", ".join(m.value for m in card.modality))
    lines.append("anatomy:    " + ", ".join(card.anatomy))
    lic = card.license
    lines.append(f"license:    {lic.id}" + (f" ({lic.name})" if lic.name else "")
                 + f"; redistribution {lic.redistribution.value}")
    lines.append(f"access:     {card.access.kind.value}" + (f" - {card.access.url}" if card.access.url else ""))
    if card.homepage:
        lines.append(f"homepage:   {card.homepage}")
    if card.citation and card.citation.doi:
        lines.append(f"doi:        {card.citation.doi}")
    for cfg in card.configs:
        lines.append("")
        lines.append(f"config {cfg.name}: {', '.join(t.value for t in cfg.tasks)}; {cfg.dimensionality.value}; "
                     f"one example = {cfg.example.value}" + ("; loadable" if cfg.layout else ""))
        for lab in cfg.labels:
            vals = ", ".join(f"{c.value}={c.name}" for c in lab.classes) or ", ".join(
                f"{m.value}={m.name}" for m in lab.mask_values)
            lines.append(f"  label {lab.name} ({lab.kind.value}, per {lab.granularity.value}): {vals}")
        for cnt in cfg.counts:
            per = ", ".join(f"{k} {v:,}" for k, v in cnt.by_class.items())
            total = f"{cnt.total:,}" if cnt.total is not None else "?"
            where = f" [{cnt.split}]" if cnt.split else ""
            lines.append(f"  {cnt.level.value}{where}: {total}" + (f" ({per})" if per else ""))
    if card.caveats:
        lines.append("")
        lines.append("caveats:")
        lines.extend(f"  - {c.text.strip().splitlines()[0]}" for c in card.caveats)
    return "\n".join(lines)
