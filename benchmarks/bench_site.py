"""Site build time: covidct's plugin with N generated cards vs plain mkdocs-material on N equivalent
static pages (named baseline, measured in the same run; medians).

    python benchmarks/bench_site.py            # 500 cards, 5 timed runs of each
    python benchmarks/bench_site.py --cards 100 --repeat 5

The N cards are copies of the registry's cards with new ids, names and aliases (lineage rewired to
the copies). The baseline's docs folder holds, as ordinary Markdown files, exactly the pages the
plugin generates from those cards (same text, same titles, the same CSS/JS files), with the same
mkdocs.yml minus the covidct plugin. So the ratio is what the plugin adds: validating the cards,
generating the pages, JSON-LD and Croissant files. Both builds are strict, in fresh processes.

Prints the medians and ratio = covidct / baseline (target: <= 1.2), for wall time and for the CPU
time of the build process (steadier when other jobs share the machine). The covidct build runs with
its card index warm (a cache folder of the benchmark's own, filled by the first build) and, with
``--no-index-too``, also without any index (COVIDCT_NO_INDEX=1: every card validated, as a first build).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def make_cards(n: int, out: Path) -> list[str]:
    """``n`` valid cards in ``out``: the registry's cards, copied with suffixed ids, names, aliases."""
    from covidct.registry import Registry

    templates = sorted(Registry(REPO / "cards").cards().values(), key=lambda c: c.id)
    out.mkdir(parents=True, exist_ok=True)
    ids = []
    for i in range(n):
        t = templates[i % len(templates)]
        k = i // len(templates)
        d = t.model_dump(mode="json", exclude_defaults=True)
        sfx = f"-g{k}"
        d["id"] = t.id + sfx
        d["name"] = f"{t.name} (copy {k})"
        d["aliases"] = [f"{a} {k}" for a in t.aliases]
        d["lineage"] = [dict(lin, card=lin["card"] + sfx) for lin in d.get("lineage", [])]
        if not d["lineage"]:
            d.pop("lineage", None)
        (out / f"{d['id']}.yaml").write_text(yaml.safe_dump(d, allow_unicode=True, sort_keys=False),
                                             encoding="utf-8")
        ids.append(d["id"])
    # lineage may name a template whose copy with this suffix was not generated: drop those entries
    have = set(ids)
    for p in out.glob("*.yaml"):
        d = yaml.safe_load(p.read_text(encoding="utf-8"))
        if "lineage" in d:
            kept = [lin for lin in d["lineage"] if lin["card"] in have]
            if len(kept) != len(d["lineage"]):
                if kept:
                    d["lineage"] = kept
                else:
                    del d["lineage"]
                p.write_text(yaml.safe_dump(d, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return ids


def covidct_config(work: Path, cards: Path) -> Path:
    cfg = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    cfg["docs_dir"] = str(REPO / "site")
    for p in cfg["plugins"]:
        if isinstance(p, dict) and "covidct" in p:
            p["covidct"]["cards_dir"] = str(cards)
    path = work / "mkdocs-covidct.yml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def capture_pages(config: Path, site: Path) -> dict[str, tuple[str, dict]]:
    """The Markdown and meta of every page the plugin generates (one in-process build)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    cfg = load_config(config_file=str(config), site_dir=str(site))
    plugin = cfg.plugins["covidct"]
    pages: dict[str, tuple[str, dict]] = {}
    original = plugin.on_page_markdown

    def spy(markdown, page, config, files):
        md = original(markdown, page, config, files)
        if page.file.generated_by is not None:
            pages[page.file.src_uri] = (md, dict(page.meta))
        return md

    plugin.on_page_markdown = spy
    cfg.plugins.events["page_markdown"] = [spy if getattr(e, "__self__", None) is plugin else e
                                           for e in cfg.plugins.events["page_markdown"]]
    cfg.plugins.on_startup(command="build", dirty=False)
    try:
        build(cfg)
    finally:
        cfg.plugins.on_shutdown()
    return pages


def baseline_project(work: Path, pages: dict[str, tuple[str, dict]]) -> Path:
    docs = work / "baseline-docs"
    shutil.copytree(REPO / "site", docs)
    for src_uri, (md, meta) in pages.items():
        p = docs / src_uri
        p.parent.mkdir(parents=True, exist_ok=True)
        front = "".join(f"{k}: {json.dumps(v, ensure_ascii=True)}\n" for k, v in meta.items())
        p.write_text(f"---\n{front}---\n\n{md}", encoding="utf-8")
    assets = docs / "assets" / "covidct"
    assets.mkdir(parents=True, exist_ok=True)
    src_assets = REPO / "src" / "covidct" / "site" / "assets"
    for name in ("covidct.css", "covidct.js"):
        shutil.copy(src_assets / name, assets / name)
    cfg = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    cfg["docs_dir"] = str(docs)
    cfg["plugins"] = [p for p in cfg["plugins"] if not (isinstance(p, dict) and "covidct" in p) and p != "covidct"]
    cfg["extra_css"] = ["assets/covidct/covidct.css"]
    cfg["extra_javascript"] = ["assets/covidct/covidct.js"]
    path = work / "mkdocs-baseline.yml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def timed_build(config: Path, site: Path, **extra_env: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the build process): CPU time is less disturbed by other load."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", **extra_env)
    if site.exists():
        shutil.rmtree(site)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(config),
                        "-d", str(site)], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"build failed ({config.name}):\n{r.stdout}\n{r.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cards", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-index-too", action="store_true", help="also time the covidct build without its index")
    ns = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        work = Path(tmp)
        os.environ["COVIDCT_CACHE_DIR"] = str(work / "cache")  # never the user's cache
        cards = work / "cards"
        t0 = time.perf_counter()
        make_cards(ns.cards, cards)
        print(f"generated {ns.cards} cards in {time.perf_counter() - t0:.1f} s")
        cov_cfg = covidct_config(work, cards)
        pages = capture_pages(cov_cfg, work / "capture")
        n_datasets = sum(1 for k in pages if k.startswith("datasets/") and not k.endswith("index.md"))
        if n_datasets != ns.cards:
            sys.exit(f"the plugin generated {n_datasets} dataset pages for {ns.cards} cards")
        base_cfg = baseline_project(work, pages)
        print(f"baseline: {len(pages)} static pages ({n_datasets} dataset pages) + the hand-written ones")
        index = {"COVIDCT_CACHE_DIR": str(work / "cache")}  # the index of the generated cards: the benchmark's own
        first = timed_build(cov_cfg, work / "warm-a", **index)  # warms the OS file cache, .pyc files and the index
        print(f"first covidct build (cold index, cold file cache): {first[0]:.2f} s wall / {first[1]:.2f} s CPU")
        timed_build(base_cfg, work / "warm-b")
        runs: dict[str, list[tuple[float, float]]] = {"covidct": [], "baseline": []}
        variants = [("covidct", index)]
        if ns.no_index_too:
            runs["covidct --no-index"] = []
            variants.append(("covidct --no-index", dict(index, COVIDCT_NO_INDEX="1")))
        for i in range(ns.repeat):
            order = [*variants, ("baseline", {})]
            for name, env in order if i % 2 == 0 else order[::-1]:
                cfg = base_cfg if name == "baseline" else cov_cfg
                runs[name].append(timed_build(cfg, work / "site-run", **env))
            print(f"run {i + 1}: " + ", ".join(f"{k} {v[-1][0]:.2f} s wall / {v[-1][1]:.2f} s CPU"
                                             for k, v in runs.items()))
        wb = statistics.median(x[0] for x in runs["baseline"])
        cb = statistics.median(x[1] for x in runs["baseline"])
        print(f"baseline mkdocs-material, {len(pages)} pages: median {wb:.2f} s wall, {cb:.2f} s CPU")
        for name, _ in variants:
            wa = statistics.median(x[0] for x in runs[name])
            ca = statistics.median(x[1] for x in runs[name])
            print(f"{name} plugin, {ns.cards} cards: median {wa:.2f} s wall, {ca:.2f} s CPU; "
                  f"ratio to baseline {wa / wb:.3f} wall, {ca / cb:.3f} CPU (target <= 1.2)")

if __name__ == "__main__":
    main()
