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

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import datasets
from covidct.hf.builder import builder_for
from _synth import patient_slices_card
datasets.disable_progress_bars()
fmt, data, cache, num_proc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
b = builder_for(patient_slices_card(fmt), data_dir=data, cache_dir=cache)
def cpu():
    return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))
c, t = cpu(), time.perf_counter()
b.download_and_prepare(num_proc=num_proc if num_proc > 1 else None)
took, cpu_s = time.perf_counter() - t, cpu() - c
rows = b.as_dataset(split="train").num_rows
print(json.dumps({"seconds": took, "cpu": cpu_s, "rows": rows, "files": len(b.as_dataset(split="train").cache_files),
                  "main_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "worker_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def run(fmt: str, data: Path, cache: Path, num_proc: int) -> dict[str, float]:
    shutil.rmtree(cache, ignore_errors=True)
    out = subprocess.run([sys.executable, "-c", CHILD, fmt, str(data), str(cache), str(num_proc)],
                         capture_output=True, text=True, check=False, cwd=HERE)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


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
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
