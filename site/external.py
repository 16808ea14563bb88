"""The site's pages for external tiers (runs trained elsewhere: ``cegbench import
--external``): one page per tier with its source, citation, licence, scale and how its
frontier was read, its pairs' verdicts, and its predictive-validity table; and the index's
list of them (``_external.html``).

Read through ``cegbench.registry.db`` and ``cegbench.registry.external`` only, like
``render``; the words describing a read come from ``analysis.curves`` (no numbers).
"""

from __future__ import annotations

from cegbench.analysis.curves import CHECKPOINT_BIAS, CURVE_READS, DEFAULT_CURVE_READ, READS
from cegbench.present.numbers import MISSING, fmt_ceg, fmt_compute, fmt_count, fmt_drift, fmt_ratio
from cegbench.present.validity_table import COLUMNS as VALIDITY_COLUMNS
from cegbench.present.validity_table import row_cells, summary_line
from cegbench.registry import db as registry_db
from cegbench.registry import external_tiers
from cegbench.registry.external_import import DEFAULT_MARGIN, source_url
from cegbench.site import verdict_text as words
from cegbench.site.context import (
    ExternalPairRow,
    ExternalTierContext,
    ExternalTierSummary,
    ValidityRow,
)

FOLDER = "external"
LADDER_NOTE = ("IsoFLOP ladders: a ladder of more than five sizes is cut to its best size and two either "
               "side before its parabola is fitted, and a ladder that does not bracket its optimum is left "
               "out (an external file's ladders cannot be widened); the verdicts' warnings list them.")


def page_name(tier) -> str:
    return f"{tier.name}-v{tier.version}.html"


def is_external_tier(db, name: str, version: int) -> bool:
    return external_tiers.get_external_tier(db, name, version) is not None


def tier_runs(db, innovation: str, tier_name: str, tier_version: int):
    """The runs the site shows for an innovation on a tier version: ``db.runs`` for a
    built-in tier, the external rows in that shape for an external one."""
    tier = external_tiers.get_external_tier(db, tier_name, tier_version)
    if tier is not None:
        return external_tiers.site_runs(db, innovation, tier)
    return registry_db.runs(db, innovation, tier_name, tier_version)


def tier_run_records(db, tier_name: str, tier_version: int) -> list[dict]:
    """Every run of a tier version as ``registry.db.tier_runs`` gives them (what the index's
    scale line counts): the registry's runs for a built-in tier, the external rows' runs for
    an external one (its dataset is the source's: not named here)."""
    tier = external_tiers.get_external_tier(db, tier_name, tier_version)
    if tier is None:
        return registry_db.tier_runs(db, tier_name, tier_version)
    records = []
    for name in external_tiers.tier_innovations(db, tier):
        runs = external_tiers.site_runs(db, name, tier)
        records += [{**row, "innovation": name, "dataset": None, "finished_at": None}
                    for row in runs.to_dict("records")]
    return records


def reproduce_command(tier) -> str:
    """What reproduces an external tier's verdicts: importing its files again."""
    files = " ".join(f["name"] for f in tier.files) or "FILE"
    read = f" --read {tier.read}" if tier.read in CURVE_READS and tier.read != DEFAULT_CURVE_READ else ""
    margin = f" --margin {tier.margin:g}" if tier.margin != DEFAULT_MARGIN else ""
    return f"cegbench import --external {files}{read}{margin}"


def _scale(db, tier) -> tuple[str, str]:
    frames = [external_tiers.external_rows(db, name, tier)
              for name in external_tiers.tier_innovations(db, tier)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return MISSING, MISSING
    flops = [x for f in frames for x in f["flops"]]
    params = [x for f in frames for x in f["params"]]
    n_runs = sum(f.groupby(["arm", "run"]).ngroups if tier.curves else len(f) for f in frames)
    seeds = max(max(f["seed"].nunique(), 1) for f in frames)
    scale = (f"{fmt_compute(min(flops))}–{fmt_compute(max(flops))} FLOPs; models of "
             f"{fmt_count(min(params))}–{fmt_count(max(params))} parameters")
    counts = f"{sum(map(len, frames))} rows, {n_runs} runs, {seeds} seed{'s' if seeds != 1 else ''}"
    return scale, counts


def summaries(db) -> list[ExternalTierSummary]:
    """The index's list of external tiers."""
    rows = []
    for tier in external_tiers.external_tiers(db):
        rows.append(ExternalTierSummary(
            name=tier.name, version=tier.version, url=f"{FOLDER}/{page_name(tier)}",
            citation=tier.citation or MISSING,
            n_pairs=len(external_tiers.tier_innovations(db, tier)),
            scale=_scale(db, tier)[0]))
    return rows


def tier_context(db, tier, page: dict, literature_rows) -> ExternalTierContext:
    """One external tier's page; ``literature_rows(innovation, verdict)`` from ``render``."""
    pairs = []
    for name in external_tiers.tier_innovations(db, tier):
        inn = registry_db.get_innovation(db, name)
        verdict = registry_db.current_verdict(db, name, tier)
        v = verdict or {}
        point = words.headline(v)
        pairs.append(ExternalPairRow(
            name=name, title=inn["title"], url=f"../innovation/{name}.html",
            label=v.get("label") or "no verdict yet", direction=v.get("direction") or "",
            drift=fmt_drift(v.get("drift"), v.get("drift_low"), v.get("drift_high")),
            ceg=fmt_ceg(point.ceg, point.low, point.high) if point else MISSING,
            ceg_compute=fmt_compute(point.compute) if point else "",
            runs=f"{v.get('n_runs') or 0} runs", literature=literature_rows(inn, verdict)))
    checks = external_tiers.validity_rows(db, tier)
    scale, counts = _scale(db, tier)
    source, url = tier.source or "", source_url(tier.source) or ""
    notes = ([CHECKPOINT_BIAS] if tier.read in CURVE_READS else []) + (
        [LADDER_NOTE] if tier.read != "envelope" else [])
    return ExternalTierContext(
        **page, name=tier.name, tier_version=tier.version, source=source or MISSING,
        source_url=url, source_rest=source[len(url):].lstrip(" ,;") if url else "",
        citation=tier.citation or MISSING, licence=tier.licence or MISSING,
        read=READS.get(tier.read, tier.read), read_notes=notes, margin=fmt_ratio(tier.margin),
        scale=scale, counts=counts, files=list(tier.files), pairs=pairs,
        validity_columns=list(VALIDITY_COLUMNS[1:]),
        validity=[ValidityRow(name=r["innovation"], url=f"../innovation/{r['innovation']}.html",
                              cells=row_cells(r)[1:]) for r in checks],
        validity_summary=summary_line(f"{tier.name} v{tier.version}", checks, len(pairs)) if checks else "",
    )
