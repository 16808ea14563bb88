"""Runs from files, analysed: a registry made from exports (``cegbench site --from``,
``table --from``) and runs trained elsewhere (``cegbench import --external``)."""

from __future__ import annotations

from cegbench.registry.db import innovation_row, run_innovations, save_innovations
from cegbench.registry.exchange import import_runs
from cegbench.registry.external import is_external_file
from cegbench.registry.external_import import DEFAULT_MARGIN, import_external
from cegbench.registry.external_tiers import get_external_tier
from cegbench.registry.status import recorded_tier_names
from cegbench.sweep.progress import Progress
from cegbench.sweep.verdicts import analyze_external, analyze_innovations
from cegbench.tiers import TIERS


def declared_rows(catalog) -> dict[str, dict]:
    """The ``innovations`` row of every innovation ``catalog`` declares, by name."""
    return {i.name: innovation_row(i, catalog.plugin_info(i.plugin))
            for i in (catalog.innovations.get(n) for n in catalog.innovations)}


def registry_from_exports(db, catalog, paths, *, progress: Progress | None = None) -> int:
    """Fill the new registry ``db`` with every innovation ``catalog`` declares (with or
    without runs), the runs of the exports ``paths`` (validated as by ``cegbench import``;
    ``ImportRejected`` otherwise) and a verdict per innovation and tier present: what
    ``cegbench site --from`` renders. Files in the external format
    (``registry.external.is_external_file``) are imported as by ``cegbench import
    --external`` with the default read and margin. Returns how many runs (external rows)
    were imported."""
    declared = declared_rows(catalog)
    save_innovations(db, list(declared.values()))
    external = [path for path in paths if is_external_file(path)]
    exports = [path for path in paths if path not in external]
    imported = import_runs(db, exports, declared, catalog.components).imported if exports else 0
    names = run_innovations(db)
    recorded = recorded_tier_names(db)
    for tier in [TIERS.get(name) for name in TIERS if name in recorded]:
        analyze_innovations(db, names, tier, quiet_when_empty=True, progress=progress)
    if external:  # runs trained elsewhere (`cegbench import --external`), analysed on their own tiers
        imported += import_external_runs(db, catalog, external, progress=progress).imported
    return imported


def import_external_runs(db, catalog, paths, *, read=None, margin=None, analyze: bool = True,
                         options: dict | None = None, dry_run: bool = False,
                         progress: Progress | None = None):
    """``cegbench import --external``: validate and merge the external files ``paths``
    (``registry.external_import.import_external``), then analyse every innovation they
    touched on its external tier. Returns the ``ExternalReport``."""
    report = import_external(db, paths, declared_rows(catalog), read=read,
                             margin=DEFAULT_MARGIN if margin is None else margin, dry_run=dry_run)
    if analyze and not dry_run:
        by_tier: dict[tuple[str, int], list[str]] = {}
        for tier_name, tier_version, name in report.touched:
            by_tier.setdefault((tier_name, tier_version), []).append(name)
        for (tier_name, tier_version), names in by_tier.items():
            analyze_external(db, get_external_tier(db, tier_name, tier_version), names, options=options,
                             progress=progress)
    return report
