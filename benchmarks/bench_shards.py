"""Benchmark: preparing with num_proc=2 against num_proc=1 (issue 15), on synthesized 16-bit DICOM slices.

Synthesizes --n 512x512 16-bit CT slices (_synth.patient_slices and its card, as bench_memory: 200 slices per patient),
then prepares them --repeats times with each num_proc, each time from an empty cache in a fresh child
process, and prints the median preparation times, their ratio (target: num_proc=2 at least 1.7x
faster) and the peak RSS of the main process and of the largest worker (target < 1 GiB per worker).

    python benchmarks/bench_shards.py [--n 20000] [--repeats 3] [--format dicom|tiff] [--procs 1 2]

The ratio needs two idle cores (the load average is printed beside it); on a busy machine the CPU
time of all processes gives the speed-up two idle cores would allow. No assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, os, resource, sys, time, warnings
warnings.simplefilter("ignore")
import datasets
from covidct.hf import builder as hb
from _synth import patient_slices_card
datasets.disable_progress_bars()
fmt, data, cache, num_proc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
b = hb.builder_for(patient_slices_card(fmt), data_dir=data, cache_dir=cache)
def cpu(who=resource.RUSAGE_SELF):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime
single = hb.CardBuilder._prepare_split_single
def timed(self, *args, **kwargs):  # one job of datasets' writer loop: when it ran, and its process's CPU
    begin, c = time.time(), cpu()
    yield from single(self, *args, **kwargs)
    print("JOB " + json.dumps({"pid": os.getpid(), "begin": begin, "end": time.time(), "job_cpu": cpu() - c,
                               "process_cpu": cpu()}), file=sys.stderr, flush=True)
hb.CardBuilder._prepare_split_single = timed
c, t, t0 = cpu(), time.perf_counter(), time.time()
b.download_and_prepare(num_proc=num_proc if num_proc > 1 else None)
took, main_cpu, end = time.perf_counter() - t, cpu() - c, time.time()
rows = b.as_dataset(split="train").num_rows
print(json.dumps({"seconds": took, "main_cpu": main_cpu, "children_cpu": cpu(resource.RUSAGE_CHILDREN),
                  "cpu": main_cpu + cpu(resource.RUSAGE_CHILDREN), "t0": t0, "t1": end,
                  "rows": rows, "files": len(b.as_dataset(split="train").cache_files),
                  "main_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "worker_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def run(fmt: str, data: Path, cache: Path, num_proc: int) -> dict[str, float]:
    shutil.rmtree(cache, ignore_errors=True)
    out = subprocess.run([sys.executable, "-c", CHILD, fmt, str(data), str(cache), str(num_proc)],
                         capture_output=True, text=True, check=False, cwd=HERE)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["jobs"] = sorted((json.loads(line[4:]) for line in out.stderr.splitlines() if line.startswith("JOB ")),
                            key=lambda j: j["begin"])
    return result


def processes(rs: list[dict[str, Any]], base_cpu: float | None) -> str:
    """The CPU of each process of the median run, and when its workers began and ended within the preparation."""
    r = sorted(rs, key=lambda r: r["seconds"])[len(rs) // 2]
    jobs = r["jobs"] if len(r["jobs"]) > 1 else []  # one job: it ran in the main process
    workers = sum(j["process_cpu"] for j in jobs)
    own = r["main_cpu"] - sum(j["job_cpu"] for j in r["jobs"] if not jobs)
    line = f"    CPU of run {r['seconds']:.1f}s: main {r['main_cpu']:.1f}s"
    if jobs:
        each = " + ".join(f"{j['process_cpu']:.1f}" for j in jobs)
        began = ", ".join(f"{j['begin'] - r['t0']:.1f}" for j in jobs)
        ended = ", ".join(f"{r['t1'] - j['end']:.1f}" for j in jobs)
        line += (f" + workers {each}s (+ {r['children_cpu'] - workers:.1f}s datasets' queue process) = {r['cpu']:.1f}s;"
                 f" workers began at {began}s, ended {ended}s before the end")
    else:
        line += f" ({own:.1f}s outside the writer loop)"
    if base_cpu is not None:
        line += f"; {r['cpu'] - base_cpu:+.1f}s CPU against the first"
    return line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000, help="slices to synthesize (default 20,000)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--format", choices=["dicom", "tiff"], default="dicom")
    ap.add_argument("--procs", type=int, nargs="+", default=[1, 2], help="num_proc values; the first is the base")
    ns = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from _synth import patient_slices

    with tempfile.TemporaryDirectory(prefix="covidct-shards-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        patient_slices(root / "data", ns.n, ns.format)
        print(f"{ns.n:,} synthesized 512x512 16-bit {ns.format} slices in {time.perf_counter() - t:.0f}s; "
              f"{os.cpu_count()} cores; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        results: dict[int, list[dict[str, float]]] = {p: [] for p in ns.procs}
        for _ in range(ns.repeats):  # alternate, so that a change of the machine's load hits both alike
            for p in ns.procs:
                results[p].append(run(ns.format, root / "data", root / f"cache{p}", p))
        base = statistics.median(r["seconds"] for r in results[ns.procs[0]])
        base_cpu = statistics.median(r["cpu"] for r in results[ns.procs[0]])
        for p, rs in results.items():
            med = statistics.median(r["seconds"] for r in rs)
            each = ", ".join(f"{r['seconds']:.1f}" for r in rs)
            print(f"num_proc={p}: median {med:6.1f}s over {len(rs)} ({each}); "
                  f"{int(rs[0]['rows']):,} rows in {int(rs[0]['files'])} file(s); peak RSS main "
                  f"{max(r['main_mib'] for r in rs):.0f} MiB, largest worker "
                  f"{max(r['worker_mib'] for r in rs) if p > 1 else 0:.0f} MiB (target < 1024)"
                  + (f"; speed-up {base / med:.2f}x (target >= 1.7 for 2)" if p != ns.procs[0] else ""))
            cpu_med = statistics.median(r["cpu"] for r in rs)
            print(f"    CPU time (all processes) median {cpu_med:.1f}s"
                  + (f"; on {p} idle cores at best {base_cpu / (cpu_med / p):.2f}x (CPU of num_proc={ns.procs[0]} / "
                     f"CPU per process here, if shared evenly)" if p != ns.procs[0] else ""))
            print(processes(rs, None if p == ns.procs[0] else sorted(
                results[ns.procs[0]], key=lambda r: r["seconds"])[len(results[ns.procs[0]]) // 2]["cpu"]))
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
