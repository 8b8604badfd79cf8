"""Load datasets and print a digest of every row, as JSON: run by BOTH datasets 5.x (imported by the
tests) and datasets 3.6 (run as a script in the .venv-ds36 virtual environment), so the two can be
compared value for value. Needs only datasets, numpy and Pillow: no covidct, no pytest.

stdin: a JSON list of jobs {"key", "path", "config", "data_dir" (or null), "script": bool}.
stdout: a JSON object key -> {split: [row digest, ...]} or key -> "FAIL <error>".
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import traceback
from typing import Any


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()[:16]


def norm(v: Any) -> Any:
    """A JSON-able, version-independent digest of one value of a row."""
    import numpy as np
    from PIL import Image

    if isinstance(v, Image.Image):
        return ["img", v.mode, list(v.size), _sha(v.tobytes())]
    if isinstance(v, dict):
        return {k: norm(x) for k, x in sorted(v.items())}
    if isinstance(v, (list, tuple, np.ndarray)):
        try:
            a = np.asarray(v)
        except ValueError:  # ragged
            a = None
        if a is not None and a.dtype.kind in "biuf" and a.size:
            return ["arr", list(a.shape), _sha(np.ascontiguousarray(a, dtype=np.float64).tobytes())]
        return [norm(x) for x in v]
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    return v


def digest(dsdict: Any) -> dict[str, list[Any]]:
    return {split: [norm(row) for row in ds] for split, ds in sorted(dsdict.items())}


def main() -> None:
    import warnings

    warnings.simplefilter("ignore")
    import datasets

    datasets.disable_progress_bars()
    jobs = json.load(sys.stdin)
    out: dict[str, Any] = {"__version__": datasets.__version__}
    for job in jobs:
        kw: dict[str, Any] = {"cache_dir": os.environ.get("PROBE_CACHE")}
        if job.get("data_dir"):
            kw["data_dir"] = job["data_dir"]
        if job.get("script"):
            kw["trust_remote_code"] = True
        try:
            out[job["key"]] = digest(datasets.load_dataset(job["path"], job["config"], **kw))
        except Exception as exc:  # report, keep going: the test prints every failure at once
            cause = exc
            while cause.__cause__ is not None:
                cause = cause.__cause__
            out[job["key"]] = f"FAIL {type(cause).__name__}: {cause}\n{traceback.format_exc()[-2000:]}"
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
