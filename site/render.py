"""Render the static leaderboard from the registry alone.

    build_site(db, out_dir) ─▶ index.html, innovation/<name>.html, about.html,
                               static/app.<hash>.{css,js},
                               downloads/ (the registry, leaderboard and runs as JSON and CSV)

Every number shown is computed from the registry, read only through
``cegbench.registry.db``'s functions (nothing is hand-entered); nothing here imports
plugins or torch. Pages use relative links only, so the site
works from ``file://`` as well as from any web server.

Here: the index's context and the build; ``innovation_page`` builds an innovation's page,
``values`` what both share (``cegbench.present.numbers`` holds the number formats,
``verdict_text`` a verdict's words, ``summary`` what a tier's runs say, ``plots`` the
charts, ``downloads`` the files, ``about`` the About page).
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import sqlite_utils
from jinja2 import Environment, FileSystemLoader, StrictUndefined

import cegbench
from cegbench import standing
from cegbench.bounds import largest_point
from cegbench.innovations import SLUG
from cegbench.present.numbers import (
    MISSING,
    as_number,
    as_text,
    fmt_bytes,
    fmt_compute,
    fmt_delta,
    fmt_drift,
    fmt_timestamp,
)
from cegbench.registry import db as registry_db
from cegbench.registry import external_tiers as registry_external
from cegbench.site import about, downloads, plots, summary
from cegbench.site import external as external_site
from cegbench.site import verdict_text as words
from cegbench.site.context import (
    Download,
    IndexContext,
    LeaderboardRow,
    LiteratureRow,
    Marker,
    OverviewPanel,
)
from cegbench.site.innovation_page import innovation_context
from cegbench.site.publish import publish
from cegbench.site.values import bounded, literature_rows, point_at, run_counts, sort_key
from cegbench.site.verdict_text import parse_json

HERE = Path(__file__).parent
STATIC_FILES = ("app.css", "app.js")


# -------------------------------------------------------------------------
# contexts


def _runs_text(n_ok: int, n_seeds: int, n_failed: int) -> str:
    text = f"{n_ok} runs · {n_seeds} seed{'s' if n_seeds != 1 else ''}"
    return text + (f" · {n_failed} failed" if n_failed else "")


def _hardware(runs) -> str:
    return ", ".join(sorted(runs["hardware"].dropna().astype(str).unique())) or MISSING


def leaderboard_record(db, inn: dict, tier_name: str | None, tier_version: int | None,
                       verdict: dict | None) -> dict:
    """One leaderboard row as plain numbers (None where missing): for the page and the downloads."""
    record = {"innovation": inn["name"], "title": inn["title"], "category": inn["category"],
              "year": inn["year"], "tier": tier_name, "tier_version": tier_version}
    v = verdict or {}
    if tier_name is not None:
        runs = external_site.tier_runs(db, inn["name"], tier_name, tier_version)
        n_ok, n_seeds, n_failed = run_counts(runs)
        hardware = _hardware(runs)
    else:
        n_ok = n_seeds = n_failed = 0
        hardware = None
    ceg = parse_json(v.get("ceg"), [])
    reference = largest_point(ceg, extrapolated=False) or {}
    frontier = largest_point(ceg, extrapolated=True) or {}
    wall = point_at(parse_json(v.get("wall_ceg"), []), as_number(reference.get("compute")))
    head = words.headline(verdict)
    record.update(
        label=(v.get("label") or "inconclusive") if verdict else None,
        standing=standing.standing(v) if verdict else None,
        direction=v.get("direction"), fragile=bool(v.get("fragile")),
        headline_compute=head.compute if head else None, headline_ceg=head.ceg if head else None,
        headline_low=head.low if head else None, headline_high=head.high if head else None,
        headline_extrapolated=head.extrapolated if head else None,
        headline_basis=head.basis if head else None,
        reference_compute=reference.get("compute"), ceg=reference.get("ceg"),
        ceg_low=reference.get("low"), ceg_high=reference.get("high"),
        frontier_compute=frontier.get("compute"), frontier_ceg=frontier.get("ceg"),
        frontier_ceg_low=frontier.get("low"), frontier_ceg_high=frontier.get("high"),
        wall_ceg=wall.get("ceg"), wall_ceg_low=wall.get("low"), wall_ceg_high=wall.get("high"),
        delta_alpha=v.get("delta_alpha"), delta_alpha_low=v.get("delta_alpha_low"),
        delta_alpha_high=v.get("delta_alpha_high"),
        drift=v.get("drift"), drift_low=v.get("drift_low"), drift_high=v.get("drift_high"),
        n_runs=n_ok, n_seeds=n_seeds, n_failed=n_failed,
        hardware=None if hardware == MISSING else hardware,
    )
    return record


STANDING_ORDER = {name: i for i, name in enumerate(standing.STANDINGS)}


def shared_markers(name: str, shared: list[summary.SharedTrainings]) -> list[Marker]:
    return [Marker(text=f"same runs as {s.other}", slug="shared", title=summary.shared_text(s))
            for s in shared]


def _headline_note(r: dict, headline_compute: str) -> str:
    """Where the row's headline CEG was read, when the index states no one compute for all rows."""
    if headline_compute or as_number(r["headline_ceg"]) is None:
        return ""
    note = f"at {fmt_compute(r['headline_compute'])} FLOPs"
    if r["headline_basis"] == words.LARGEST_MEASURED:
        return note + " (largest measured budget)"
    return note + (" (extrapolated)" if r["headline_extrapolated"] else "")


def leaderboard_row(r: dict, verdict: dict | None, findings: list[LiteratureRow] = (), *,
                    headline_compute: str = "", shared: list[Marker] = ()) -> LeaderboardRow:
    has_runs = r["tier"] is not None
    v = verdict or {}
    fitted = v.get("label_basis") in (None, "", "fitted law")
    head = words.headline(verdict)
    return LeaderboardRow(
        name=r["innovation"], title=r["title"], url=f"innovation/{r['innovation']}.html",
        category=as_text(r["category"]), year=as_text(r["year"]),
        has_verdict=verdict is not None, label=words.shown_label(verdict),
        direction=r["direction"] or "", standing=r["standing"] or "no results yet",
        standing_sort=str(STANDING_ORDER.get(r["standing"], len(STANDING_ORDER))),
        markers=[*words.markers(verdict), *shared],
        headline=head.value if head else MISSING, headline_interval=head.interval if head else "",
        headline_note=_headline_note(r, headline_compute), headline_sort=sort_key(r["headline_ceg"]),
        drift=fmt_drift(as_number(r.get("drift")), as_number(r.get("drift_low")),
                           as_number(r.get("drift_high"))),
        drift_sort=sort_key(r.get("drift")),
        delta_alpha=fmt_delta(r["delta_alpha"], r["delta_alpha_low"], r["delta_alpha_high"]),
        delta_alpha_result=fitted, delta_alpha_sort=sort_key(r["delta_alpha"]) if fitted else "",
        runs=_runs_text(r["n_runs"], r["n_seeds"], r["n_failed"]) if has_runs else "no results yet",
        runs_sort=str(r["n_runs"]) if has_runs else "",
        tier=f"{r['tier']} v{r['tier_version']}" if has_runs else MISSING,
        tier_name=r["tier"] or "", literature=list(findings),
    )


def leaderboard_records(db, inns: list[dict], verdicts: list[dict]) -> list[dict]:
    """One record per verdict, per tier with runs but no verdict, or per innovation with neither."""
    records = []
    for inn in inns:
        by_tier = {(v["tier"], v["tier_version"]): v for v in verdicts if v["innovation"] == inn["name"]}
        keys = list(by_tier) + [k for k in registry_db.run_tiers(db, inn["name"]) if k not in by_tier]
        records += [leaderboard_record(db, inn, tier_name, tier_version, by_tier.get((tier_name, tier_version)))
                    for tier_name, tier_version in keys or [(None, None)]]
    return _sort_records(records)


def _sort_records(records: list[dict]) -> list[dict]:
    """Per tier, the surest standing first, then the largest headline CEG; rows without a
    headline after them, then those without a verdict."""
    def key(r):
        value = as_number(r["headline_ceg"])
        return (r["label"] is None, r["tier"] or "", -(r["tier_version"] or 0),
                STANDING_ORDER.get(r["standing"], len(STANDING_ORDER)), value is None, -(value or 0),
                r["title"].lower())
    return sorted(records, key=key)


def _facets(rows: list[LeaderboardRow]) -> dict[str, list[str]]:
    present = {r.standing for r in rows}
    return {"standing": [s for s in (*standing.STANDINGS, "no results yet") if s in present],
            "label": sorted({r.label or "no results yet" for r in rows}),
            "category": sorted({r.category for r in rows}),
            "tier": sorted({r.tier_name for r in rows if r.tier_name})}


def overview_panels(records: list[dict], verdicts: dict, rows: list[LeaderboardRow]) -> list[OverviewPanel]:
    """One small multiple per verdict with a measured CEG, on axes shared within its tier."""
    tiers = {(r["tier"], r["tier_version"]) for r in records if r["label"] is not None}
    points = {key: bounded(parse_json(v["ceg"], [])) for key, v in verdicts.items()}
    panels = []
    for r, row in zip(records, rows):
        key = (r["innovation"], r["tier"], r["tier_version"])
        if key not in verdicts:
            continue
        same_tier = [p for k, ps in points.items() if k[1:] == key[1:] for p in ps]
        head = words.headline(verdicts[key])
        svg = plots.ceg_panel(points[key], same_tier, headline=head.compute if head and head.stated else None,
                              label=row.label, title=r["title"], salt=f"panel-{'-'.join(map(str, key))}")
        if svg is None:
            continue
        title = r["title"] + (f" ({r['tier']} v{r['tier_version']})" if len(tiers) > 1 else "")
        panels.append(OverviewPanel(title=title, url=row.url, label=row.label,
                                    headline=f"{row.headline} {row.headline_interval}".strip(), plot=svg))
    return panels


def index_context(db, inns: list[dict], verdicts: list[dict], records: list[dict],
                  shared: dict, page: dict, files: list[Download]) -> IndexContext:
    """The leaderboard page. ``shared``: (tier, version) → ``summary.shared_trainings``."""
    by_name = {inn["name"]: inn for inn in inns}
    by_key = {(v["innovation"], v["tier"], v["tier_version"]): v for v in verdicts}
    compute = summary.stated_compute(by_key.values())
    headline_compute = fmt_compute(compute) if compute is not None else ""
    rows = []
    for r in records:
        key = (r["innovation"], r["tier"], r["tier_version"])
        verdict = by_key.get(key)
        notes = shared.get(key[1:], {}).get(r["innovation"], [])
        rows.append(leaderboard_row(r, verdict, literature_rows(by_name[r["innovation"]], verdict),
                                    headline_compute=headline_compute,
                                    shared=shared_markers(r["innovation"], notes)))
    tiers = []
    for tier_name, tier_version in sorted({key[1:] for key in by_key}, key=lambda k: (k[0], -k[1])):
        mine = [v for key, v in by_key.items() if key[1:] == (tier_name, tier_version)]
        tiers.append(summary.tier_summary(f"{tier_name} v{tier_version}", mine,
                                          summary.tier_scale(external_site.tier_run_records(db, tier_name, tier_version))))
    return IndexContext(
        **page, rows=rows, n_innovations=len(inns), tiers=tiers, headline_compute=headline_compute,
        show_delta_alpha=any(row.delta_alpha_result and row.delta_alpha != MISSING for row in rows),
        facets=_facets(rows), panels=overview_panels(records, by_key, rows),
        external_tiers=external_site.summaries(db), downloads=files)


# -------------------------------------------------------------------------
# the build


def environment() -> Environment:
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def copy_static(out_dir: Path) -> dict[str, Path]:
    """Copy the assets to ``out_dir/static/`` as ``app.<sha256[:12]>.css``; name → path."""
    static = out_dir / "static"
    static.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in STATIC_FILES:
        source = HERE / "static" / name
        digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
        stem, suffix = name.rsplit(".", 1)
        target = static / f"{stem}.{digest}.{suffix}"
        shutil.copyfile(source, target)
        written[name] = target
    return written


def build_site(db: sqlite_utils.Database, out_dir: Path, *, repository: str = "", force: bool = False,
               inputs=()) -> list[Path]:
    """Render the leaderboard from the registry ``db`` into ``out_dir``; return the files written.

    ``repository``: the code's URL for the footer, the About page and the citation ('' to
    leave it out). The site is built aside and swapped in (``cegbench.site.publish``): the
    files an earlier build wrote and this one does not are removed, nothing else; a folder
    with other files and no earlier build in it is refused unless ``force``, and so is an
    ``out_dir`` holding one of ``inputs`` (the registry, exports).
    """
    registry_db.check_stored_json(db)  # a damaged value is one line naming its row
    inns = registry_db.innovations(db)
    for inn in inns:
        if not SLUG.match(inn["name"] or ""):
            raise ValueError(f"innovation name {inn['name']!r} is not a slug [a-z0-9-]; "
                             "refusing to use it as a file name")
    if repository and not repository.startswith(("https://", "http://")):
        raise ValueError(f"repository {repository!r} is not an http(s) URL")
    return publish(Path(out_dir), lambda folder: render_site(db, inns, folder, repository), force=force,
                   inputs=inputs)


def render_site(db: sqlite_utils.Database, inns: list[dict], out_dir: Path, repository: str = "") -> list[Path]:
    """Write the whole site for the innovations ``inns`` into the empty folder ``out_dir``;
    return the files written."""
    assets = copy_static(out_dir)
    written = list(assets.values())
    urls = {name: f"static/{path.name}" for name, path in assets.items()}
    last_run = registry_db.last_run_finished(db)
    shared = dict(assets=urls, version=cegbench.__version__, data_as_of=fmt_timestamp(last_run),
                  repository=repository)
    env = environment()

    verdicts = registry_db.verdicts(db)
    records = leaderboard_records(db, inns, verdicts)
    files = downloads.write_downloads(db, records, out_dir)
    written += [path for path, _ in files]
    trainings = {key: summary.shared_trainings(registry_db.tier_runs(db, *key))
                 for key in {(v["tier"], v["tier_version"]) for v in verdicts}}
    index = index_context(db, inns, verdicts, records, trainings, dict(root="", **shared), [
        Download(href=path.relative_to(out_dir).as_posix(), title=title, size=fmt_bytes(path.stat().st_size))
        for path, title in files])
    written.append(_write(env, "index.html", index, out_dir / "index.html"))
    written.append(_write(env, "about.html", about.about_context(dict(root="", **shared), last_run),
                          out_dir / "about.html"))

    names = {inn["name"]: inn["title"] for inn in inns}
    for inn in inns:
        mine = [v for v in verdicts if v["innovation"] == inn["name"]]
        context = innovation_context(db, inn, mine, names, dict(root="../", **shared), trainings)
        written.append(_write(env, "innovation.html", context,
                              out_dir / "innovation" / f"{inn['name']}.html"))
    for tier in registry_external.external_tiers(db):  # runs trained elsewhere: a page per tier
        context = external_site.tier_context(db, tier, dict(root="../", **shared), literature_rows)
        written.append(_write(env, "external_tier.html", context,
                              out_dir / external_site.FOLDER / external_site.page_name(tier)))
    return written


def _write(env: Environment, template: str, context, path: Path) -> Path:
    """Render ``template`` with the dataclass ``context``'s fields as variables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = {f.name: getattr(context, f.name) for f in dataclasses.fields(context)}
    path.write_text(env.get_template(template).render(**fields), encoding="utf-8")
    return path
