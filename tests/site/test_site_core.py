"""The site core makes every page and file without mkdocs: the mkdocs plugin is only an adapter."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap

from conftest import REPO

SCRIPT = textwrap.dedent("""
    import json, sys
    sys.modules["mkdocs"] = None  # any import of mkdocs (or a submodule) now fails
    sys.modules["material"] = None
    from covidct.registry import registry
    from covidct.site.core import Site, SiteOptions, inject_head

    cards = registry().cards()
    site = Site(cards, SiteOptions(repo_url="https://github.com/o/r", site_url="https://o.github.io/r/"))
    files = site.files()
    known = {f.src_uri for f in files}
    rel = lambda src: ("../" + src) if src in known else None
    absolute = lambda src: ("https://o.github.io/r/" + src) if src in known else None
    kinds, heads = {}, 0
    for f in files:
        if f.kind == "static":
            continue
        page = site.render(f, f.content or "", rel, absolute)
        assert page.markdown or f.kind == "home", f.src_uri
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
        if page.head:
            heads += 1
            assert inject_head("<head></head>", page.head).startswith("<head><script")
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("mkdocs", "material") and sys.modules[m])
    print(json.dumps({"kinds": kinds, "heads": heads, "cards": len(cards), "mkdocs": loaded,
                      "croissant": sum(f.src_uri.startswith("croissant/") for f in files)}))
""")


def test_core_renders_every_page_without_mkdocs() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["mkdocs"] == []
    assert got["kinds"]["dataset"] == got["cards"] == got["heads"] > 0
    assert {"home", "catalog", "reference", "issues", "concepts"} <= set(got["kinds"])


def test_plugin_is_a_thin_adapter() -> None:
    """No page knowledge in the adapter: it imports the core and mkdocs, no renderer."""
    tree = ast.parse((REPO / "src" / "covidct" / "site" / "plugin.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    covidct = {m for m in imported if m and m.startswith("covidct")}
    assert covidct <= {"covidct.site.core", "covidct.card.model", "covidct.settings", "covidct.registry"}, covidct
