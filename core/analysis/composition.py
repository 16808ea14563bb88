"""Composition: does a bundle's gain equal the product of its parts' gains?

If the parts of a bundle (e.g. "2017 Transformer → modern Transformer") acted
independently, its CEG at a compute C would be the product of theirs. The ratio
measured / product says how far from that it is: above 1 the parts help each other,
below 1 they overlap. Parts are read from their own verdicts in the same tier and
version; a part without a usable CEG at C is listed as missing, and the product is
then left out (a partial product would mislead).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Composition:
    compute: float
    measured: float
    measured_low: float
    measured_high: float
    parts: tuple[dict, ...]  # {"name", "ceg"} of the parts that have one
    missing: tuple[str, ...]
    product: float | None
    ratio: float | None


def part_ceg_at(ceg_points: list[dict], compute: float) -> float | None:
    """A part's CEG at ``compute`` from its verdict's ``ceg`` list; None if absent or NaN."""
    for point in ceg_points:
        if math.isclose(point["compute"], compute, rel_tol=1e-9):
            value = point["ceg"]
            return value if value is not None and math.isfinite(value) else None
    return None


def compose(measured: dict, part_cegs: dict[str, list[dict] | None]) -> Composition:
    """Compare the bundle's ``measured`` CEG point ({"compute", "ceg", "low", "high"})
    with the product of its parts' CEGs at the same compute.

    ``part_cegs`` maps each part's name, in declaration order, to its verdict's ``ceg``
    list, or None when it has no verdict.
    """
    compute = measured["compute"]
    parts, missing = [], []
    for name, points in part_cegs.items():
        value = part_ceg_at(points or [], compute)
        if value is None:
            missing.append(name)
        else:
            parts.append({"name": name, "ceg": value})
    product = math.prod(p["ceg"] for p in parts) if parts and not missing else None
    ratio = measured["ceg"] / product if product else None
    return Composition(compute, measured["ceg"], measured["low"], measured["high"],
                       tuple(parts), tuple(missing), product, ratio)


def parts_first(names: list[str], parts_of: dict[str, list[str]]) -> list[str]:
    """``names`` reordered so that every bundle comes after those of its parts that are
    also in ``names`` (otherwise in the given order)."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name):
        if name in ordered or name in visiting:  # done, or a cycle: keep the given order
            return
        visiting.add(name)
        for part in parts_of.get(name, []):
            if part in names:
                visit(part)
        ordered.append(name)

    for name in names:
        visit(name)
    return ordered
