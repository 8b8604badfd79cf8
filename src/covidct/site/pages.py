"""The generated pages other than dataset pages: the catalog, the card reference and the issue codes.

The card reference reads the model (``Card.model_json_schema()`` plus the vocabularies' own
descriptions), the issue page reads ``covidct.card.issues.KINDS``: nothing here is written twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from covidct.card import vocab as vocab_mod
from covidct.card.issues import KINDS, Severity
from covidct.card.model import Card
from covidct.card.vocab import CountLevel, Vocab
from covidct.render.facts import layout_status, unavailable_note
from covidct.site.html import esc, inline_code, macros

# ----------------------------------------------------------------------------------------- catalog

FILTERS = [("modality", "Modality"), ("task", "Task"), ("anatomy", "Anatomy"), ("license", "License"),
           ("access", "Access"), ("layout", "Layout")]


def _facets(card: Card) -> dict[str, list[str]]:
    return {
        "modality": [m.value for m in card.modality],
        "task": sorted({t.value for cfg in card.configs for t in cfg.tasks}),
        "anatomy": list(dict.fromkeys(card.anatomy)),
        "license": [card.license.id],
        "access": [card.access.kind.value],
        "layout": sorted({layout_status(card, cfg) for cfg in card.configs}),
    }


def _num(v: int | None) -> tuple[str, str]:
    return ("", "") if v is None else (str(v), f"{v:,}")


def catalog_html(cards: dict[str, Card], page_url: Callable[[str], str]) -> str:
    """The catalog table with its filter controls (enhanced by covidct.js; readable without it)."""
    ordered = sorted(cards.values(), key=lambda c: c.name.casefold())
    facets = {c.id: _facets(c) for c in ordered}
    options: dict[str, set[str]] = {k: set() for k, _ in FILTERS}
    for f in facets.values():
        for k, vals in f.items():
            options[k].update(vals)
    heads = [("name", "Name", "text"), ("modality", "Modality", "text"), ("task", "Task", "text"),
             ("anatomy", "Anatomy", "text"), ("patients", "Patients", "number"), ("images", "Images", "number"),
             ("license", "License", "text"), ("access", "Access", "text")]
    rows = []
    for c in ordered:
        f = facets[c.id]
        images = c.headline_count(CountLevel.IMAGES) or c.headline_count(CountLevel.SLICES)
        search = " ".join([c.id, c.name, *c.aliases, c.summary, *c.tags, *f["modality"], *f["task"],
                           *f["anatomy"]]).lower()  # JS lower-cases the query
        rows.append({"card": c, "facets": f, "url": page_url(c.id), "search": search,
                     "data": [(k, json.dumps(v, ensure_ascii=False)) for k, v in f.items()],
                     "patients": _num(c.headline_count(CountLevel.PATIENTS)), "images": _num(images),
                     "gone": unavailable_note(c)})
    sorted_options = {k: sorted(v, key=str.casefold) for k, v in options.items()}
    return str(macros("pages.html").catalog(rows, sorted_options, FILTERS, heads))


def catalog_markdown(cards: dict[str, Card], page_url: Callable[[str], str]) -> str:
    intro = (
        "Every dataset of the registry, generated from its card. Filter by modality, task, anatomy, "
        "license and access, search names (aliases in any language too), and sort by any column. "
        "The same table is `covidct.catalog()` in Python and `covidct list` on the command line."
    )
    return f"{intro}\n\n{catalog_html(cards, page_url)}\n"


# ------------------------------------------------------------------------------------- card reference


def _anchor(name: str) -> str:
    return "ref-" + name.lower()


def _type(node: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        d = defs.get(name, {})
        kind = "one of" if "enum" in d else "object"
        return f'<a href="#{_anchor(name)}">{esc(name)}</a> <span class="covidct-muted">({kind})</span>'
    if "anyOf" in node:
        alts = [a for a in node["anyOf"] if a.get("type") != "null"]
        return " or ".join(_type(a, defs) for a in alts)
    if "enum" in node:
        return "one of " + ", ".join(f"<code>{esc(v)}</code>" for v in node["enum"])
    t = node.get("type")
    if t == "array":
        return "list of " + _type(node.get("items", {}), defs)
    if t == "object":
        ap = node.get("additionalProperties")
        if isinstance(ap, dict):
            return "map of text → " + _type(ap, defs)
        return "mapping"
    base = {"string": "text", "integer": "integer", "number": "number", "boolean": "true/false"}.get(t, t or "any")
    if node.get("format") == "date":
        base = "date (YYYY-MM-DD)"
    cons = []
    if "pattern" in node:
        cons.append(f"matching <code>{esc(node['pattern'])}</code>")
    if "minLength" in node or "maxLength" in node:
        cons.append(f"{node.get('minLength', 0)}–{node.get('maxLength', '∞')} characters")
    if "minimum" in node or "maximum" in node:
        cons.append(f"{node.get('minimum', '−∞')} to {node.get('maximum', '∞')}")
    if "minItems" in node:
        cons.append(f"at least {node['minItems']}")
    return esc(base) + (f" <span class=\"covidct-muted\">({'; '.join(cons)})</span>" if cons else "")


def _refs(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        if "$ref" in node:
            out.append(node["$ref"].rsplit("/", 1)[-1])
        for v in node.values():
            out.extend(_refs(v))
    elif isinstance(node, list):
        for v in node:
            out.extend(_refs(v))
    return out


def card_reference_markdown() -> str:
    schema = Card.model_json_schema()
    defs: dict[str, Any] = schema.get("$defs", {})
    order = _models_in_order(schema, defs)
    models = [n for n in order if "properties" in (schema if n == "Card" else defs[n])]
    enums = sorted(n for n in defs if "enum" in defs[n])
    out = [
        "Every field a card may hold, generated from the Pydantic model (`covidct.card.model`). The same model "
        "gives the JSON Schema (`covidct schema`, committed as `schema/card.schema.json`) that editors use to "
        "complete and check cards as you type. Unknown fields are errors.\n",
    ]
    for name in models:
        out += _model_section(name, schema if name == "Card" else defs[name], defs)
    out.append("\n## Vocabularies\n\nThe allowed values of the fields above, with their meaning.\n")
    for name in enums:
        out += _vocabulary_section(name, defs[name]["enum"])
    return "".join(out)


def _models_in_order(schema: dict[str, Any], defs: dict[str, Any]) -> list[str]:
    """The schema's models in the order a card mentions them (breadth first from ``Card``)."""
    order: list[str] = []
    queue = ["Card"]
    while queue:
        name = queue.pop(0)
        if name in order:
            continue
        order.append(name)
        node = schema if name == "Card" else defs[name]
        for pname in node.get("properties", {}):
            for r in _refs(node["properties"][pname]):
                if r not in order and r not in queue:
                    queue.append(r)
    return order


def _model_section(name: str, node: dict[str, Any], defs: dict[str, Any]) -> list[str]:
    """A model's heading and its table of fields."""
    required = set(node.get("required", []))
    desc = node.get("description") if name != "Card" else "The top level of a card file."
    rows = []
    for pname, p in node["properties"].items():
        if "default" in p:
            dflt = p["default"]
            req = "optional" + ("" if dflt in (None, [], {}) else
                                f", default <code>{esc(json.dumps(dflt, ensure_ascii=False))}</code>")
        else:
            req = "<strong>required</strong>" if pname in required else "optional"
        rows.append(f'<tr id="{_anchor(name)}-{esc(pname)}"><td><code>{esc(pname)}</code></td>'
                    f"<td>{_type(p, defs)}</td><td>{req}</td>"
                    f"<td>{inline_code(p.get('description', ''))}</td></tr>")
    table = ('<div class="covidct-reference"><table><thead><tr><th>Field</th><th>Type</th><th>Required</th>'
             f"<th>Description</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>")
    intro = f"<p>{inline_code(desc)}</p>" if desc else ""
    return [f"\n## {name}\n", f'\n<div class="covidct-section" id="{_anchor(name)}">{intro}{table}</div>\n']


def _vocabulary_section(name: str, values: list[str]) -> list[str]:
    """A vocabulary's heading and its table of values with their meaning."""
    cls = getattr(vocab_mod, name, None)
    is_vocab = isinstance(cls, type) and issubclass(cls, Vocab)
    described = cls.describe() if is_vocab else {}
    doc = (cls.__doc__ or "").strip() if is_vocab else ""
    if doc.startswith("A string vocabulary"):
        doc = ""
    rows = "".join(f"<tr><td><code>{esc(v)}</code></td><td>{inline_code(described.get(v, ''))}</td></tr>"
                   for v in values)
    return [f"\n### {name}\n",
            f'\n<div class="covidct-section" id="{_anchor(name)}">'
            + (f"<p>{inline_code(doc)}</p>" if doc else "")
            + f'<div class="covidct-reference"><table><thead><tr><th>Value</th><th>Meaning</th></tr></thead>'
              f"<tbody>{rows}</tbody></table></div></div>\n"]


# ----------------------------------------------------------------------------------------- issues

FAMILIES = {"Y": "The file and its YAML", "S": "The schema", "C": "Consistency checks", "W": "Warnings",
            "L": "Reading the data (warnings of `load`, `export` and `check`)"}


def issues_markdown() -> str:
    out = [
        "Every problem `covidct validate` reports has a code. Errors make the command exit with status 1; "
        "warnings (W) do not, unless `--strict` is given. Each message is located as `file:line:column`. "
        "Reading a dataset's files (`covidct load`, `export`, `check`) warns with the L codes, after the card "
        "and config (`card/config: L503 ...`). This page is generated from `covidct.card.issues.KINDS`.\n"
    ]
    by_family: dict[str, list] = {}
    for k in KINDS.values():
        by_family.setdefault(k.code[0], []).append(k)
    for fam, kinds in by_family.items():
        out.append(f"\n## {FAMILIES.get(fam, fam)}\n")
        rows = "".join(
            f'<tr id="{esc(k.code)}"><td><code>{esc(k.code)}</code></td>'
            f'<td><span class="covidct-badge covidct-badge--{"error" if k.severity is Severity.ERROR else "warning"}">'
            f"{esc(k.severity.value)}</span></td><td>{esc(k.title)}</td><td>{inline_code(k.description)}</td></tr>"
            for k in kinds)
        out.append('\n<div class="covidct-section covidct-issues"><table><thead><tr><th>Code</th>'
                   f"<th>Severity</th><th>Title</th><th>Meaning</th></tr></thead><tbody>{rows}</tbody></table></div>\n")
    return "".join(out)


# ------------------------------------------------------------------------------------------- concepts


def concepts_markdown(cards: dict[str, Card], page_url: Callable[[str], str]) -> str:
    """Each concept the registry's classes carry, with the datasets (and classes) that carry it."""
    from covidct.concepts import by_concept, concept_rows

    groups = by_concept(concept_rows(cards[c] for c in sorted(cards)))
    out = [
        "Each concept that a class of some dataset stands for (SNOMED CT, RadLex, UMLS codes in the cards), with "
        "the datasets carrying it: the class, how it matches the concept, what it asserts, how it was "
        "established, and its counts. Negative and uncertain classes are left out. The same is "
        "`covidct list --concept CODE` and the `concepts` column of `covidct.catalog()`.",
        "",
    ]
    page = macros("pages.html")
    for curie, rows in groups.items():
        first = rows[0]
        out.append(str(page.concept_head(curie, curie.replace(":", "-").lower())))
        out.append(str(page.concept_title(first)))
        out.append('<table class="covidct-concept__table"><thead><tr><th>Dataset</th><th>Modality</th>'
                   "<th>Class</th><th>Match</th><th>Assertion</th><th>Reference standard</th><th>Patients</th>"
                   "<th>Scans</th><th>Images</th></tr></thead><tbody>")
        out += [str(page.concept_row(r, page_url(r.card.id))) for r in rows]
        out.append("</tbody></table></section>")
        out.append("")
    return "\n".join(out) + "\n"
