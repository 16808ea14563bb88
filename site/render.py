"""Render the static leaderboard from the registry alone.

    build_site(db, out_dir) ─▶ index.html, innovation/<name>.html, static/app.<hash>.{css,js},
                               downloads/ (the registry, leaderboard and runs as JSON and CSV)

Every number shown comes from the registry (rule 4 of the benchmark's contract);
nothing here imports plugins or torch. Pages use relative links only, so the site
works from ``file://`` as well as from any web server.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shlex
import shutil
from pathlib import Path

import sqlite_utils
from jinja2 import Environment, FileSystemLoader, StrictUndefined

import cegbench
from cegbench.analysis.drift import format_drift
from cegbench.innovations import SLUG
from cegbench.registry import db as registry
from cegbench.site import downloads, plots
from cegbench.site.context import (
    CegRow,
    Composition,
    Decision,
    Download,
    IndexContext,
    InnovationContext,
    LeaderboardRow,
    LossCegRow,
    RecipeRow,
    RunRow,
    SensitivityRow,
    TierSection,
)

HERE = Path(__file__).parent
STATIC_FILES = ("app.css", "app.js")
MISSING = "—"


# -------------------------------------------------------------------------
# formatting for people: every helper turns None/NaN into "—"


def _number(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def fmt_ratio(x) -> str:
    """1.2345 → '1.23', 25.04 → '25.0', 1234.5 → '1,234', 123456 → '1.23e+05'."""
    x = _number(x)
    if x is None:
        return MISSING
    for limit, spec in ((10, ".2f"), (100, ".1f"), (1e4, ",.0f")):
        if abs(x) < limit:
            return format(x, spec)
    return f"{x:.3g}"


def fmt_ceg(value, low, high) -> str:
    """'1.23× [1.10, 1.40]'; the interval is left out when unknown."""
    if _number(value) is None:
        return MISSING
    interval = f" [{fmt_ratio(low)}, {fmt_ratio(high)}]"
    return f"{fmt_ratio(value)}×" + ("" if interval == f" [{MISSING}, {MISSING}]" else interval)


def fmt_signed(x) -> str:
    x = _number(x)
    return MISSING if x is None else f"{x:+.3f}".replace("-", "−")


def fmt_delta(value, low, high) -> str:
    """'+0.031 [+0.012, +0.050]'."""
    if _number(value) is None:
        return MISSING
    return f"{fmt_signed(value)} [{fmt_signed(low)}, {fmt_signed(high)}]"


def fmt_compute(x) -> str:
    """1e12 → '1e+12', 3.16e12 → '3.16e+12'."""
    x = _number(x)
    return MISSING if x is None else f"{x:.3g}"


def fmt_loss(x) -> str:
    """Four significant digits: 3.45678 → '3.457'."""
    x = _number(x)
    return MISSING if x is None else f"{x:.4g}"


def fmt_int(x) -> str:
    x = _number(x)
    return MISSING if x is None else f"{int(x):,}"


def fmt_seconds(x) -> str:
    x = _number(x)
    if x is None:
        return MISSING
    return f"{x:.1f} s" if x < 120 else f"{x / 60:.1f} min" if x < 7200 else f"{x / 3600:.1f} h"


def fmt_bytes(n: int) -> str:
    """2048 → '2.0 kB', 1234567 → '1.2 MB'."""
    for unit in ("B", "kB", "MB"):
        if n < 1000 or unit == "MB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def _text(x) -> str:
    """A plain value for display: None/NaN → '—'."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return MISSING
    return str(x)


def _sort_key(x) -> str:
    x = _number(x)
    return "" if x is None else repr(x)


def _json(text, default):
    """Parse a JSON column (NaN allowed); ``default`` when empty."""
    return json.loads(text) if text else default


# -------------------------------------------------------------------------
# small reads of the registry beyond registry.db's named functions


def _run_tiers(db: sqlite_utils.Database, innovation: str) -> list[tuple[str, int]]:
    """(tier, tier_version) pairs that hold runs of ``innovation``."""
    rows = db["runs"].rows_where("innovation = ?", [innovation],
                                 select="distinct tier, tier_version", order_by="tier, tier_version")
    return [(r["tier"], r["tier_version"]) for r in rows]


def _data_as_of(db: sqlite_utils.Database) -> str:
    stamps = [row[0] for table, column in (("verdicts", "created_at"), ("runs", "finished_at"),
                                           ("innovations", "updated_at"))
              for row in db.execute(f"select max([{column}]) from [{table}]").fetchall() if row[0]]
    return max(stamps) if stamps else MISSING


# -------------------------------------------------------------------------
# contexts


def _largest(points: list[dict], *, extrapolated: bool) -> dict | None:
    """The point at the largest measured (or extrapolated) compute with a finite CEG."""
    sel = [p for p in points if bool(p.get("extrapolated")) is extrapolated
           and _number(p.get("compute")) is not None and _number(p.get("ceg")) is not None]
    return max(sel, key=lambda p: p["compute"]) if sel else None


def _at(points: list[dict], compute) -> dict:
    """The point of ``points`` at ``compute``, or {}."""
    return next((p for p in points if compute is not None and _number(p.get("compute")) == compute), {})


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
        runs = registry.runs(db, inn["name"], tier, version)
        n_ok, n_seeds, n_failed = _run_counts(runs)
        hardware = _hardware(runs)
    else:
        n_ok = n_seeds = n_failed = 0
        hardware = None
    ceg = _json(v.get("ceg"), [])
    reference = _largest(ceg, extrapolated=False) or {}
    frontier = _largest(ceg, extrapolated=True) or {}
    wall = _at(_json(v.get("wall_ceg"), []), _number(reference.get("compute")))
    record.update(
        label=(v.get("label") or "inconclusive") if verdict else None,
        direction=v.get("direction"), fragile=bool(v.get("fragile")),
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


def leaderboard_row(r: dict) -> LeaderboardRow:
    has_runs = r["tier"] is not None
    return LeaderboardRow(
        name=r["innovation"], title=r["title"], url=f"innovation/{r['innovation']}.html",
        category=_text(r["category"]), year=_text(r["year"]),
        has_verdict=r["label"] is not None, label=r["label"] or "",
        direction=r["direction"] or "", fragile=r["fragile"],
        drift=format_drift(r.get("drift"), r.get("drift_low"), r.get("drift_high")),
        ceg=fmt_ceg(r["ceg"], r["ceg_low"], r["ceg_high"]),
        ceg_compute=fmt_compute(r["reference_compute"]) if _number(r["ceg"]) is not None else "",
        ceg_sort=_sort_key(r["ceg"]),
        frontier_ceg=fmt_ceg(r["frontier_ceg"], r["frontier_ceg_low"], r["frontier_ceg_high"]),
        frontier_compute=(fmt_compute(r["frontier_compute"])
                          if _number(r["frontier_ceg"]) is not None else ""),
        frontier_sort=_sort_key(r["frontier_ceg"]),
        wall_ceg=fmt_ceg(r["wall_ceg"], r["wall_ceg_low"], r["wall_ceg_high"]),
        wall_sort=_sort_key(r["wall_ceg"]),
        delta_alpha=fmt_delta(r["delta_alpha"], r["delta_alpha_low"], r["delta_alpha_high"]),
        delta_alpha_sort=_sort_key(r["delta_alpha"]),
        runs=_runs_text(r["n_runs"], r["n_seeds"], r["n_failed"]) if has_runs else "no results yet",
        runs_sort=str(r["n_runs"]) if has_runs else "",
        tier=f"{r['tier']} v{r['tier_version']}" if has_runs else MISSING,
        tier_name=r["tier"] or "", hardware=_text(r["hardware"]),
    )


def recipe_rows(baseline: dict, modern: dict) -> list[RecipeRow]:
    """Field by field, those that differ first."""
    fields = list(baseline) + [k for k in modern if k not in baseline]
    rows = [RecipeRow(field=k, baseline=_text(baseline.get(k)), modern=_text(modern.get(k)),
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
    ]
    return " · ".join(p for p in parts if p) or MISSING


def run_row(r: dict) -> RunRow:
    numeric = ("budget", "width", "n_params", "seed", "final_loss", "tokens", "wall_time_s")
    return RunRow(
        arm=_text(r["arm"]), budget=fmt_compute(r["budget"]), width=fmt_int(r["width"]),
        n_params=fmt_int(r["n_params"]), seed=fmt_int(r["seed"]),
        final_loss=fmt_loss(r["final_loss"]), tokens=fmt_int(r["tokens"]),
        status=_text(r["status"]), error=r["error"] if isinstance(r["error"], str) else "",
        wall_time=fmt_seconds(r["wall_time_s"]), hardware=_text(r["hardware"]),
        provenance=_provenance(r), sort={k: _sort_key(r[k]) for k in numeric},
    )


def _ceg_rows(ceg: list[dict], wall: list[dict]) -> list[CegRow]:
    rows = []
    for p in sorted(ceg, key=lambda p: _number(p.get("compute")) or 0):
        w = _at(wall, _number(p.get("compute")))
        rows.append(CegRow(compute=fmt_compute(p.get("compute")),
                           ceg=fmt_ceg(p.get("ceg"), p.get("low"), p.get("high")),
                           wall_ceg=fmt_ceg(w.get("ceg"), w.get("low"), w.get("high")),
                           extrapolated=bool(p.get("extrapolated"))))
    return rows


def _sensitivity_rows(sensitivity: list[dict], label: str) -> list[SensitivityRow]:
    return [SensitivityRow(variant=_text(s.get("variant")), label=_text(s.get("label")),
                           direction=s.get("direction") or "",
                           delta_alpha=fmt_delta(s.get("delta_alpha"), s.get("low"), s.get("high")),
                           changed=bool(label) and s.get("label") != label)
            for s in sensitivity]


def _composition(c: dict | None, names: dict[str, str]) -> Composition | None:
    if not c:
        return None
    parts = [{"name": p.get("name"), "title": names.get(p.get("name"), _text(p.get("name"))),
              "url": f"{p['name']}.html" if p.get("name") in names else "",
              "ceg": fmt_ceg(p.get("ceg"), None, None)} for p in c.get("parts") or []]
    return Composition(
        compute=fmt_compute(c.get("compute")),
        measured=fmt_ceg(c.get("measured"), c.get("measured_low"), c.get("measured_high")),
        parts=parts, missing=[names.get(m, _text(m)) for m in c.get("missing") or []],
        product=fmt_ceg(c.get("product"), None, None), ratio=fmt_ratio(c.get("ratio")),
    )


def _decision(d: dict | None) -> Decision | None:
    if not d:
        return None
    return Decision(text=_text(d.get("text")), more_seeds=fmt_int(d.get("more_seeds")),
                    budget_factor=(f"{fmt_ratio(d['budget_factor'])}×"
                                   if _number(d.get("budget_factor")) is not None else MISSING))


def _reproduce(name: str, tier: str, commands: list[str]) -> str:
    """``cegbench run --tier T --innovation NAME``, keeping the ``--plugins`` files the runs used."""
    plugins = []
    for command in commands:
        words = shlex.split(command)
        plugins += [words[i + 1] for i, w in enumerate(words[:-1])
                    if w == "--plugins" and words[i + 1] not in plugins]
    return shlex.join(["cegbench", "run", "--tier", tier, "--innovation", name,
                       *[arg for path in plugins for arg in ("--plugins", path)]])


def tier_section(db, inn: dict, tier: str, version: int, verdict: dict | None,
                 names: dict[str, str]) -> TierSection:
    runs = registry.runs(db, inn["name"], tier, version)
    n_ok, _, n_failed = _run_counts(runs)
    records = runs.to_dict("records")
    ok = [r for r in records if r["status"] == "ok"]
    v = verdict or {}
    label = v.get("label") or ("inconclusive" if verdict else "")
    ceg = _json(v.get("ceg"), [])
    frontier = _json(v.get("frontier"), [])
    salt = f"{inn['name']}-{tier}-{version}"
    method = _json(v.get("method"), {})
    commands = sorted({r["command"] for r in records if isinstance(r.get("command"), str)})
    return TierSection(
        tier=tier, tier_version=version, anchor=f"tier-{salt}", has_verdict=verdict is not None,
        label=label, direction=v.get("direction") or "", fragile=bool(v.get("fragile")),
        delta_alpha=fmt_delta(v.get("delta_alpha"), v.get("delta_alpha_low"), v.get("delta_alpha_high")),
        drift=format_drift(v.get("drift"), v.get("drift_low"), v.get("drift_high")),
        withheld="; ".join(_json(v.get("withheld"), [])),
        weakened=", ".join(_json(v.get("weakened"), [])),
        margin=fmt_ratio(v.get("margin")) if v.get("margin") is not None else MISSING,
        method=", ".join(f"{k}={val}" for k, val in method.items()) or MISSING,
        created_at=_text(v.get("created_at")),
        ceg_rows=_ceg_rows(ceg, _json(v.get("wall_ceg"), [])),
        loss_ceg_rows=[LossCegRow(target_loss=fmt_loss(p.get("target_loss")),
                                  ceg=fmt_ceg(p.get("ceg"), p.get("low"), p.get("high")))
                       for p in _json(v.get("ceg_at_loss"), [])],
        sensitivity=_sensitivity_rows(_json(v.get("sensitivity"), []), label),
        composition=_composition(_json(v.get("composition"), None), names),
        decision=_decision(_json(v.get("decision"), None)),
        loss_plot=plots.loss_plot(ok, frontier, registry.fits(db, inn["name"], tier, version),
                                  _json(v.get("fit_bands"), None),
                                  title=inn["title"], salt=f"{salt}-loss"),
        ceg_plot=plots.ceg_plot(ceg, title=inn["title"], salt=f"{salt}-ceg"),
        isoflop_plot=plots.isoflop_plot(ok, frontier, title=inn["title"], salt=f"{salt}-isoflop"),
        warnings=[str(w) for w in _json(v.get("warnings"), [])],
        runs=[run_row(r) for r in records], n_ok=n_ok, n_failed=n_failed,
        reproduce=_reproduce(inn["name"], tier, commands), recorded_commands=commands,
    )


def innovation_context(db, inn: dict, verdicts: list[dict], names: dict[str, str],
                       page: dict) -> InnovationContext:
    by_tier = {(v["tier"], v["tier_version"]): v for v in verdicts}
    keys = list(by_tier) + [k for k in _run_tiers(db, inn["name"]) if k not in by_tier]
    paper = inn["paper"] or ""
    parts = _json(inn["parts"], [])
    return InnovationContext(
        **page, name=inn["name"], title=inn["title"], category=_text(inn["category"]),
        year=_text(inn["year"]), paper=paper if paper.startswith(("https://", "http://")) else "",
        description=inn["description"] or "", expected=inn["expected"] or MISSING,
        parts=[{"name": p, "title": names.get(p, p), "url": f"{p}.html" if p in names else ""}
               for p in parts],
        plugin=" ".join(x for x in (inn["plugin"], inn["distribution"], inn["plugin_version"]) if x)
        or MISSING,
        recipe_rows=recipe_rows(_json(inn["baseline"], {}), _json(inn["modern"], {})),
        tiers=[tier_section(db, inn, tier, version, by_tier.get((tier, version)), names)
               for tier, version in keys],
    )


def leaderboard_records(db, inns: list[dict], verdicts: list[dict]) -> list[dict]:
    """One record per verdict, per tier with runs but no verdict, or per innovation with neither."""
    records = []
    for inn in inns:
        by_tier = {(v["tier"], v["tier_version"]): v for v in verdicts if v["innovation"] == inn["name"]}
        keys = list(by_tier) + [k for k in _run_tiers(db, inn["name"]) if k not in by_tier]
        records += [leaderboard_record(db, inn, tier, version, by_tier.get((tier, version)))
                    for tier, version in keys or [(None, None)]]
    return _sort_records(records)


def _sort_records(records: list[dict]) -> list[dict]:
    """Largest CEG first; rows without a CEG after them, then those without a verdict."""
    def key(r):
        value = _number(r["ceg"])
        return (r["label"] is None, value is None, -(value or 0), r["title"].lower(), r["tier"] or "")
    return sorted(records, key=key)


def _facets(rows: list[LeaderboardRow]) -> dict[str, list[str]]:
    return {"category": sorted({r.category for r in rows}),
            "label": sorted({r.label or "no results yet" for r in rows}),
            "tier": sorted({r.tier_name for r in rows if r.tier_name})}


def overview_plots(records: list[dict], verdicts: list[dict]) -> tuple:
    """(CEG vs compute of every verdict, bars of CEG at the reference budget)."""
    ceg = {(v["innovation"], v["tier"], v["tier_version"]): _json(v["ceg"], []) for v in verdicts}
    with_verdict = [r for r in records if r["label"] is not None]
    tiers = {(r["tier"], r["tier_version"]) for r in with_verdict}

    def name(r):
        return r["title"] + (f" ({r['tier']} v{r['tier_version']})" if len(tiers) > 1 else "")

    series = [(name(r), ceg[(r["innovation"], r["tier"], r["tier_version"])]) for r in with_verdict]
    bars = [(name(r), r["label"], r["ceg"], r["ceg_low"], r["ceg_high"]) for r in with_verdict]
    return (plots.overview_ceg_plot(series, salt="overview-ceg"),
            plots.overview_bar_plot(bars, salt="overview-bars"))


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


def build_site(db: sqlite_utils.Database, out_dir: Path) -> list[Path]:
    """Render the leaderboard from the registry ``db`` into ``out_dir``; return the files written.

    Old hashed assets, innovation pages and downloads in ``out_dir`` are removed first,
    so the folder holds exactly one build.
    """
    out_dir = Path(out_dir)
    inns = registry.innovations(db)
    for inn in inns:
        if not SLUG.match(inn["name"] or ""):
            raise ValueError(f"innovation name {inn['name']!r} is not a slug [a-z0-9-]; "
                             "refusing to use it as a file name")
    for old in [*(out_dir / "static").glob("app.*"), *(out_dir / "innovation").glob("*.html"),
                *(out_dir / downloads.FOLDER).glob("*")]:
        old.unlink()
    assets = copy_static(out_dir)
    written = list(assets.values())
    urls = {name: f"static/{path.name}" for name, path in assets.items()}
    shared = dict(assets=urls, version=cegbench.__version__, data_as_of=_data_as_of(db))
    env = environment()

    verdicts = registry.verdicts(db)
    records = leaderboard_records(db, inns, verdicts)
    files = downloads.write_downloads(db, records, out_dir)
    written += [path for path, _ in files]
    rows = [leaderboard_row(r) for r in records]
    overview, bars = overview_plots(records, verdicts)
    index = IndexContext(
        root="", **shared, rows=rows, n_innovations=len(inns), facets=_facets(rows),
        overview_plot=overview, bar_plot=bars,
        downloads=[Download(href=path.relative_to(out_dir).as_posix(), title=title,
                            size=fmt_bytes(path.stat().st_size)) for path, title in files],
    )
    written.append(_write(env, "index.html", index, out_dir / "index.html"))

    names = {inn["name"]: inn["title"] for inn in inns}
    for inn in inns:
        mine = [v for v in verdicts if v["innovation"] == inn["name"]]
        context = innovation_context(db, inn, mine, names, dict(root="../", **shared))
        written.append(_write(env, "innovation.html", context,
                              out_dir / "innovation" / f"{inn['name']}.html"))
    return written


def _write(env: Environment, template: str, context, path: Path) -> Path:
    """Render ``template`` with the dataclass ``context``'s fields as variables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = {f.name: getattr(context, f.name) for f in dataclasses.fields(context)}
    path.write_text(env.get_template(template).render(**fields), encoding="utf-8")
    return path
