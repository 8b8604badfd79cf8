"""The declarative file layout: matching patterns, joining label tables, splits, grouping slices into scans.

>>> from covidct.layout import make_plan
>>> plan = make_plan(card, "lesion-seg", ["~/data/cncb"])     # doctest: +SKIP
>>> for record in plan.records("train"): ...                  # doctest: +SKIP
"""

from __future__ import annotations

from covidct.layout.plan import LayoutWarning, Plan, Record, examples, make_plan
from covidct.layout.walk import LayoutError

__all__ = ["LayoutError", "LayoutWarning", "Plan", "Record", "examples", "make_plan"]
