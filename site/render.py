"""Render the static leaderboard from the registry alone.

    build_site(db, out_dir) ─▶ index.html, innovation/<name>.html, about.html,
                               static/app.<hash>.{css,js},
                               downloads/ (the registry, leaderboard and runs as JSON and CSV)

Every number shown is computed from the registry, read only through
``cegbench.registry.db``'s functions (nothing is hand-entered); nothing here imports
plugins or torch. Pages use relative links only, so the site
works from ``file://`` as well as from any web server.

About 550 lines: the builders of the index's and the innovation pages' contexts
(``cegbench.present.numbers`` holds the number formats, ``verdict_text`` a verdict's words, ``summary``
what a tier's runs say, ``plots`` the charts, ``downloads`` the files, ``about`` the About
page); splitting the page builders apart would only split what one page shows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shlex
import shutil
from pathlib import Path

import sqlite_utils
from jinja2 import Environment, FileSystemLoader, StrictUndefined

import cegbench
from cegbench import literature, standing
from cegbench.bounds import UNBOUNDED, largest_point, unbounded_reason
from cegbench.innovations import SLUG
from cegbench.present.numbers import (
    MISSING,
    as_number,
    as_text,
    fmt_bytes,
    fmt_ceg,
    fmt_compute,
    fmt_delta,
    fmt_drift,
    fmt_epochs,
    fmt_int,
    fmt_loss,
    fmt_ratio,
    fmt_seconds,
    fmt_timestamp,
)
from cegbench.registry import db as registry_db
from cegbench.registry import external_tiers as registry_external
from cegbench.site import about, downloads, plots, summary
from cegbench.site import external as external_site
from cegbench.site import verdict_text as words
from cegbench.site.context import (
    CegRow,
    Composition,
    Decision,
    Download,
    IndexContext,
    InnovationContext,
    LeaderboardRow,
    LiteratureRow,
    LossCegRow,
    Marker,
    OverviewPanel,
    RecipeRow,
    RunRow,
    SensitivityRow,
    TierSection,
)
from cegbench.site.publish import publish
from cegbench.site.verdict_text import parse_json

HERE = Path(__file__).parent
STATIC_FILES = ("app.css", "app.js")


# -------------------------------------------------------------------------
# contexts


def sort_key(x) -> str:
    """What a sortable column of the index sorts by: the number's repr, '' when missing."""
    x = as_number(x)
    return "" if x is None else repr(x)


def _bounded(points: list[dict]) -> list[dict]:
    """The CEG points worth drawing: unbounded extrapolations left out."""
    return [p for p in points if not unbounded_reason(p)]


def _at(points: list[dict], compute) -> dict:
    """The point of ``points`` at ``compute``, or {}."""
    return next((p for p in points if compute is not None and as_number(p.get("compute")) == compute), {})


def _run_counts(runs) -> tuple[int, int, int]:
    """(ok runs, distinct seeds among them, failed runs) of a runs DataFrame."""
    ok = runs[runs["status"] == "ok"]
    return len(ok), ok["seed"].nunique(), int((runs["status"] != "ok").sum())


def _runs_text(n_ok: int, n_seeds: int, n_failed: int) -> str:
    text = f"{n_ok} runs · {n_seeds} seed{'s' if n_seeds != 1 else ''}"
    return text + (f" · {n_failed} failed" if n_failed else "")


def _hardware(runs) -> str:
    return ", ".join(sorted(runs["hardware"].dropna().astype(str).unique())) or MISSING


def leaderboard_record(db, inn: dict, tier: str | None, version: int | None,
                       verdict: dict | None) -> dict:
    """One leaderboard row as plain numbers (None where missing): for the page and the downloads."""
    record = {"innovation": inn["name"], "title": inn["title"], "category": inn["category"],
              "year": inn["year"], "tier": tier, "tier_version": version}
    v = verdict or {}
    if tier is not None:
        runs = external_site.tier_runs(db, inn["name"], tier, version)
        n_ok, n_seeds, n_failed = _run_counts(runs)
        hardware = _hardware(runs)
    else:
        n_ok = n_seeds = n_failed = 0
        hardware = None
    ceg = parse_json(v.get("ceg"), [])
    reference = largest_point(ceg, extrapolated=False) or {}
    frontier = largest_point(ceg, extrapolated=True) or {}
    wall = _at(parse_json(v.get("wall_ceg"), []), as_number(reference.get("compute")))
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


def literature_rows(inn: dict, verdict: dict | None) -> list[LiteratureRow]:
    """The innovation's published findings, each with our ``verdict``'s agreement."""
    rows = []
    for f in literature.from_json(inn.get("literature")):
        a = literature.agreement(f, verdict)
        url = f.get("url") or ""
        rows.append(LiteratureRow(
            source=as_text(f.get("source")), url=url if url.startswith(("https://", "http://")) else "",
            ceg=literature.format_ceg(f), label=literature.format_label(f),
            scale=literature.format_scale(f), scale_text=as_text(f.get("scale")),
            note=f.get("note") or "", answer=a.answer,
            answer_slug="cannot-tell" if a.answer == literature.CANNOT_TELL else a.answer.replace(" ", "-"),
            reason=a.reason))
    return rows


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


def recipe_rows(baseline: dict, modern: dict) -> list[RecipeRow]:
    """Field by field, those that differ first."""
    fields = list(baseline) + [k for k in modern if k not in baseline]
    def text(value):
        return words.method_value(value) if isinstance(value, bool) else as_text(value)

    rows = [RecipeRow(field=k, baseline=text(baseline.get(k)), modern=text(modern.get(k)),
                      differs=baseline.get(k) != modern.get(k)) for k in fields]
    return sorted(rows, key=lambda r: not r.differs)


def _provenance(r: dict) -> str:
    commit = r.get("git_commit")
    parts = [
        f"cegbench {r['cegbench_version']}" + (f" @ {commit[:10]}" if isinstance(commit, str) else "")
        if isinstance(r.get("cegbench_version"), str) else None,
        f"torch {r['torch_version']}" if isinstance(r.get("torch_version"), str) else None,
        f"Python {r['python_version']}" if isinstance(r.get("python_version"), str) else None,
        f"data {r['dataset']}" + (f" ({r['dataset_hash'][:10]})" if isinstance(r.get("dataset_hash"), str)
                                  else "") if isinstance(r.get("dataset"), str) else None,
        f"finished {r['finished_at']}" if isinstance(r.get("finished_at"), str) else None,
        f"trained as run {r['trained_as']}" if isinstance(r.get("trained_as"), str) else None,
    ]
    return " · ".join(p for p in parts if p) or MISSING


def run_row(r: dict) -> RunRow:
    numeric = ("budget", "width", "n_params", "seed", "final_loss", "tokens", "epochs",
               "wall_time_s")
    r = {"epochs": None, **r}  # registries before m005_run_epochs have no epochs
    return RunRow(
        arm=as_text(r["arm"]), budget=fmt_compute(r["budget"]), width=fmt_int(r["width"]),
        n_params=fmt_int(r["n_params"]), seed=fmt_int(r["seed"]),
        final_loss=fmt_loss(r["final_loss"]), tokens=fmt_int(r["tokens"]),
        epochs=fmt_epochs(r["epochs"]),
        status=as_text(r["status"]), error=r["error"] if isinstance(r["error"], str) else "",
        wall_time=fmt_seconds(r["wall_time_s"]), hardware=as_text(r["hardware"]),
        provenance=_provenance(r), sort={k: sort_key(r[k]) for k in numeric},
    )


def _ceg_rows(ceg: list[dict], wall: list[dict]) -> list[CegRow]:
    rows = []
    for p in sorted(ceg, key=lambda p: as_number(p.get("compute")) or 0):
        w = _at(wall, as_number(p.get("compute")))
        unbounded = unbounded_reason(p) or ""
        rows.append(CegRow(compute=fmt_compute(p.get("compute")),
                           ceg=UNBOUNDED if unbounded
                           else fmt_ceg(p.get("ceg"), p.get("low"), p.get("high")),
                           wall_ceg=fmt_ceg(w.get("ceg"), w.get("low"), w.get("high")),
                           extrapolated=bool(p.get("extrapolated")), unbounded=unbounded))
    return rows


def _sensitivity_rows(sensitivity: list[dict], label: str) -> list[SensitivityRow]:
    return [SensitivityRow(variant=as_text(s.get("variant")), label=as_text(s.get("label")),
                           direction=s.get("direction") or "",
                           delta_alpha=fmt_delta(s.get("delta_alpha"), s.get("low"), s.get("high")),
                           changed=bool(label) and s.get("label") != label)
            for s in sensitivity]


def _composition(c: dict | None, names: dict[str, str]) -> Composition | None:
    if not c:
        return None
    parts = [{"name": p.get("name"), "title": names.get(p.get("name"), as_text(p.get("name"))),
              "url": f"{p['name']}.html" if p.get("name") in names else "",
              "ceg": fmt_ceg(p.get("ceg"), None, None)} for p in c.get("parts") or []]
    return Composition(
        compute=fmt_compute(c.get("compute")),
        measured=fmt_ceg(c.get("measured"), c.get("measured_low"), c.get("measured_high")),
        parts=parts, missing=[names.get(m, as_text(m)) for m in c.get("missing") or []],
        product=fmt_ceg(c.get("product"), None, None), ratio=fmt_ratio(c.get("ratio")),
    )


def _decision(d: dict | None) -> Decision | None:
    if not d:
        return None
    return Decision(text=as_text(d.get("text")), more_seeds=fmt_int(d.get("more_seeds")),
                    budget_factor=(f"{fmt_ratio(d['budget_factor'])}×"
                                   if as_number(d.get("budget_factor")) is not None else MISSING))


def _reproduce(name: str, tier: str, commands: list[str]) -> str:
    """``cegbench run --tier T --innovation NAME``, keeping the ``--plugins`` files the runs used."""
    plugins = []
    for command in commands:
        words = shlex.split(command)
        plugins += [words[i + 1] for i, w in enumerate(words[:-1])
                    if w == "--plugins" and words[i + 1] not in plugins]
    return shlex.join(["cegbench", "run", "--tier", tier, "--innovation", name,
                       *[arg for path in plugins for arg in ("--plugins", path)]])


def _seeds_text(verdict: dict, n_seeds: int) -> str:
    """'2 seeds per cell' from the verdict's n_seeds, else the distinct seeds among the runs."""
    n = words.n_seeds(verdict) or n_seeds
    return f"{n} seed{'s' if n != 1 else ''} per cell" if n else MISSING


def _headline_text(h: words.Headline | None) -> str:
    if h is None:
        return MISSING
    where = " (largest measured budget)" if h.basis == words.LARGEST_MEASURED else \
        " (extrapolated)" if h.extrapolated else ""
    return f"{h.value}{' ' + h.interval if h.interval else ''} at {fmt_compute(h.compute)} FLOPs{where}"


def tier_section(db, inn: dict, tier: str, version: int, verdict: dict | None,
                 names: dict[str, str], shared: list[summary.SharedTrainings] = ()) -> TierSection:
    runs = external_site.tier_runs(db, inn["name"], tier, version)
    n_ok, n_seeds, n_failed = _run_counts(runs)
    records = runs.to_dict("records")
    ok = [r for r in records if r["status"] == "ok"]
    v = verdict or {}
    ceg = parse_json(v.get("ceg"), [])
    frontier = parse_json(v.get("frontier"), [])
    salt = f"{inn['name']}-{tier}-{version}"
    commands = sorted({r["command"] for r in records if isinstance(r.get("command"), str)})
    head = words.headline(verdict)
    ceg_rows = _ceg_rows(ceg, parse_json(v.get("wall_ceg"), []))
    label = words.shown_label(verdict)
    return TierSection(
        tier=tier, tier_version=version, anchor=f"tier-{salt}", has_verdict=verdict is not None,
        label=label, direction=v.get("direction") or "",
        standing=standing.standing(v) if verdict else "", markers=words.markers(verdict),
        answer=words.answer(verdict, inn["title"], head), caveats=words.caveats(v) if verdict else [],
        headline=_headline_text(head), seeds=_seeds_text(v, n_seeds),
        n_not_learned=words.n_not_learned(v), shared=[summary.shared_text(s) for s in shared],
        fragile=bool(v.get("fragile")),
        delta_alpha=fmt_delta(v.get("delta_alpha"), v.get("delta_alpha_low"), v.get("delta_alpha_high")),
        delta_alpha_result=v.get("label_basis") in (None, "", "fitted law"),
        drift=fmt_drift(as_number(v.get("drift")), as_number(v.get("drift_low")),
                           as_number(v.get("drift_high"))),
        loss_drift=fmt_drift(as_number(v.get("loss_drift")), as_number(v.get("loss_drift_low")),
                                as_number(v.get("loss_drift_high"))),
        label_basis=v.get("label_basis") or "",
        withheld="; ".join(parse_json(v.get("withheld"), [])),
        weakened=", ".join(w for w in parse_json(v.get("weakened"), [])
                           if w != standing.ANOTHER_BOOTSTRAP_SEED),
        margin=fmt_ratio(v.get("margin")) if v.get("margin") is not None else MISSING,
        method=words.method_items(parse_json(v.get("method"), {})),
        created_at=fmt_timestamp(v.get("created_at")),
        ceg_rows=ceg_rows, has_wall_ceg=any(c.wall_ceg != MISSING for c in ceg_rows),
        loss_ceg_rows=[LossCegRow(target_loss=fmt_loss(p.get("target_loss")),
                                  ceg=fmt_ceg(p.get("ceg"), p.get("low"), p.get("high")))
                       for p in parse_json(v.get("ceg_at_loss"), [])],
        sensitivity=_sensitivity_rows(parse_json(v.get("sensitivity"), []), v.get("label") or ""),
        composition=_composition(parse_json(v.get("composition"), None), names),
        decision=_decision(parse_json(v.get("decision"), None)),
        loss_plot=plots.loss_plot(ok, frontier, registry_db.fits(db, inn["name"], tier, version),
                                  parse_json(v.get("fit_bands"), None),
                                  title=inn["title"], salt=f"{salt}-loss"),
        ceg_plot=plots.ceg_plot(_bounded(ceg), title=inn["title"], salt=f"{salt}-ceg",
                                equal_loss=parse_json(v.get("equal_loss_cegs"), []),
                                headline=head.compute if head and head.stated else None),
        isoflop_plot=plots.isoflop_plot(ok, frontier, title=inn["title"], salt=f"{salt}-isoflop"),
        warnings=[str(w) for w in parse_json(v.get("warnings"), [])],
        runs=[run_row(r) for r in records], n_ok=n_ok, n_failed=n_failed,
        reproduce=(external_site.reproduce_command(external_tier) if (
            external_tier := registry_external.get_external_tier(db, tier, version))
            else _reproduce(inn["name"], tier, commands)), recorded_commands=commands,
        literature=literature_rows(inn, verdict),
    )


def innovation_context(db, inn: dict, verdicts: list[dict], names: dict[str, str],
                       page: dict, shared: dict | None = None) -> InnovationContext:
    """``shared``: (tier, version) → ``summary.shared_trainings`` of that tier version."""
    shared = shared or {}
    by_tier = {(v["tier"], v["tier_version"]): v for v in verdicts}
    keys = list(by_tier) + [k for k in registry_db.run_tiers(db, inn["name"]) if k not in by_tier]
    paper = inn["paper"] or ""
    parts = parse_json(inn["parts"], [])
    return InnovationContext(
        **page, name=inn["name"], title=inn["title"], category=as_text(inn["category"]),
        year=as_text(inn["year"]), paper=paper if paper.startswith(("https://", "http://")) else "",
        description=inn["description"] or "", expected=inn["expected"] or MISSING,
        parts=[{"name": p, "title": names.get(p, p), "url": f"{p}.html" if p in names else ""}
               for p in parts],
        plugin=" ".join(x for x in (inn["plugin"], inn["distribution"], inn["plugin_version"]) if x)
        or MISSING,
        recipe_rows=recipe_rows(parse_json(inn["baseline"], {}), parse_json(inn["modern"], {})),
        tiers=[tier_section(db, inn, tier, version, by_tier.get((tier, version)), names,
                            shared.get((tier, version), {}).get(inn["name"], []))
               for tier, version in keys],
        literature=literature_rows(inn, None),
    )


def leaderboard_records(db, inns: list[dict], verdicts: list[dict]) -> list[dict]:
    """One record per verdict, per tier with runs but no verdict, or per innovation with neither."""
    records = []
    for inn in inns:
        by_tier = {(v["tier"], v["tier_version"]): v for v in verdicts if v["innovation"] == inn["name"]}
        keys = list(by_tier) + [k for k in registry_db.run_tiers(db, inn["name"]) if k not in by_tier]
        records += [leaderboard_record(db, inn, tier, version, by_tier.get((tier, version)))
                    for tier, version in keys or [(None, None)]]
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
    points = {key: _bounded(parse_json(v["ceg"], [])) for key, v in verdicts.items()}
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
    for tier, version in sorted({key[1:] for key in by_key}, key=lambda k: (k[0], -k[1])):
        mine = [v for key, v in by_key.items() if key[1:] == (tier, version)]
        tiers.append(summary.tier_summary(f"{tier} v{version}", mine,
                                  summary.tier_scale(registry_db.tier_runs(db, tier, version))))
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
