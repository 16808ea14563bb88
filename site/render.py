"""Render the static leaderboard from the registry alone.

    build_site(db, out_dir) ─▶ index.html, innovation/<name>.html, static/app.<hash>.{css,js}

Every number shown comes from the registry (rule 4 of the benchmark's contract);
nothing here imports plugins or torch. Pages use relative links only, so the site
works from ``file://`` as well as from any web server.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shutil
from pathlib import Path

import sqlite_utils
from jinja2 import Environment, FileSystemLoader, StrictUndefined

import cegbench
from cegbench.innovations import SLUG
from cegbench.registry import db as registry
from cegbench.site import plots
from cegbench.site.context import (
    CegRow, IndexContext, InnovationContext, LeaderboardRow, RecipeRow, RunRow, TierSection,
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


def _largest_measured(ceg: list[dict]) -> dict | None:
    measured = [p for p in ceg if not p.get("extrapolated") and _number(p.get("compute"))]
    return max(measured, key=lambda p: p["compute"]) if measured else None


def _run_counts(runs) -> tuple[int, int, int]:
    """(ok runs, distinct seeds among them, failed runs) of a runs DataFrame."""
    ok = runs[runs["status"] == "ok"]
    return len(ok), ok["seed"].nunique(), int((runs["status"] != "ok").sum())


def _runs_text(n_ok: int, n_seeds: int, n_failed: int) -> str:
    text = f"{n_ok} runs · {n_seeds} seed{'s' if n_seeds != 1 else ''}"
    return text + (f" · {n_failed} failed" if n_failed else "")


def _hardware(runs) -> str:
    return ", ".join(sorted(runs["hardware"].dropna().astype(str).unique())) or MISSING


def leaderboard_row(db, inn: dict, verdict: dict | None) -> LeaderboardRow:
    common = dict(name=inn["name"], title=inn["title"], url=f"innovation/{inn['name']}.html",
                  category=_text(inn["category"]), year=_text(inn["year"]))
    if verdict is None:
        return LeaderboardRow(**common, has_verdict=False, label="", direction="", ceg=MISSING,
                              ceg_compute="", ceg_sort="", delta_alpha=MISSING,
                              delta_alpha_sort="", runs="no results yet", runs_sort="",
                              tier=MISSING, hardware=MISSING)
    runs = registry.runs(db, inn["name"], verdict["tier"], verdict["tier_version"])
    n_ok, n_seeds, n_failed = _run_counts(runs)
    point = _largest_measured(_json(verdict["ceg"], []))
    ceg_point = point or {}
    return LeaderboardRow(
        **common, has_verdict=True, label=verdict["label"] or "inconclusive",
        direction=verdict["direction"] or "",
        ceg=fmt_ceg(ceg_point.get("ceg"), ceg_point.get("low"), ceg_point.get("high")),
        ceg_compute=fmt_compute(point["compute"]) if point else "",
        ceg_sort=_sort_key(ceg_point.get("ceg")),
        delta_alpha=fmt_delta(verdict["delta_alpha"], verdict["delta_alpha_low"],
                              verdict["delta_alpha_high"]),
        delta_alpha_sort=_sort_key(verdict["delta_alpha"]),
        runs=_runs_text(n_ok, n_seeds, n_failed), runs_sort=str(n_ok),
        tier=f"{verdict['tier']} v{verdict['tier_version']}", hardware=_hardware(runs),
    )


def recipe_rows(baseline: dict, modern: dict) -> list[RecipeRow]:
    fields = list(baseline) + [k for k in modern if k not in baseline]
    return [RecipeRow(field=k, baseline=_text(baseline.get(k)), modern=_text(modern.get(k)),
                      differs=baseline.get(k) != modern.get(k)) for k in fields]


def run_row(r: dict) -> RunRow:
    numeric = ("budget", "width", "n_params", "seed", "final_loss", "tokens", "wall_time_s")
    return RunRow(
        arm=_text(r["arm"]), budget=fmt_compute(r["budget"]), width=fmt_int(r["width"]),
        n_params=fmt_int(r["n_params"]), seed=fmt_int(r["seed"]),
        final_loss=fmt_loss(r["final_loss"]), tokens=fmt_int(r["tokens"]),
        status=_text(r["status"]), error=r["error"] if isinstance(r["error"], str) else "",
        wall_time=fmt_seconds(r["wall_time_s"]), hardware=_text(r["hardware"]),
        sort={k: _sort_key(r[k]) for k in numeric},
    )


def tier_section(db, inn: dict, tier: str, version: int, verdict: dict | None) -> TierSection:
    runs = registry.runs(db, inn["name"], tier, version)
    n_ok, _, n_failed = _run_counts(runs)
    records = runs.to_dict("records")
    v = verdict or {}
    ceg = _json(v.get("ceg"), [])
    salt = f"{inn['name']}-{tier}-{version}"
    method = _json(v.get("method"), {})
    return TierSection(
        tier=tier, tier_version=version, anchor=f"tier-{salt}", has_verdict=verdict is not None,
        label=v.get("label") or ("inconclusive" if verdict else ""),
        direction=v.get("direction") or "",
        delta_alpha=fmt_delta(v.get("delta_alpha"), v.get("delta_alpha_low"), v.get("delta_alpha_high")),
        margin=fmt_ratio(v.get("margin")) if v.get("margin") is not None else MISSING,
        method=", ".join(f"{k}={val}" for k, val in method.items()) or MISSING,
        created_at=_text(v.get("created_at")),
        ceg_rows=[CegRow(compute=fmt_compute(p.get("compute")),
                         ceg=fmt_ceg(p.get("ceg"), p.get("low"), p.get("high")),
                         extrapolated=bool(p.get("extrapolated")))
                  for p in sorted(ceg, key=lambda p: _number(p.get("compute")) or 0)],
        loss_plot=plots.loss_plot([r for r in records if r["status"] == "ok"],
                                  _json(v.get("frontier"), []),
                                  registry.fits(db, inn["name"], tier, version),
                                  title=inn["title"], salt=f"{salt}-loss"),
        ceg_plot=plots.ceg_plot(ceg, title=inn["title"], salt=f"{salt}-ceg"),
        warnings=[str(w) for w in _json(v.get("warnings"), [])],
        runs=[run_row(r) for r in records], n_ok=n_ok, n_failed=n_failed,
        reproduce=f"cegbench run --tier {tier} --innovation {inn['name']}",
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
        tiers=[tier_section(db, inn, tier, version, by_tier.get((tier, version)))
               for tier, version in keys],
    )


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


def _sort_leaderboard(rows: list[LeaderboardRow]) -> list[LeaderboardRow]:
    """Largest CEG first; rows without a CEG after them, then those without a verdict."""
    return sorted(rows, key=lambda r: (not r.has_verdict, r.ceg_sort == "",
                                       -float(r.ceg_sort or 0), r.title.lower()))


def build_site(db: sqlite_utils.Database, out_dir: Path) -> list[Path]:
    """Render the leaderboard from the registry ``db`` into ``out_dir``; return the files written.

    Old hashed assets and innovation pages in ``out_dir`` are removed first, so the
    folder holds exactly one build.
    """
    out_dir = Path(out_dir)
    inns = registry.innovations(db)
    for inn in inns:
        if not SLUG.match(inn["name"] or ""):
            raise ValueError(f"innovation name {inn['name']!r} is not a slug [a-z0-9-]; "
                             "refusing to use it as a file name")
    for old in [*(out_dir / "static").glob("app.*"), *(out_dir / "innovation").glob("*.html")]:
        old.unlink()
    assets = copy_static(out_dir)
    written = list(assets.values())
    urls = {name: f"static/{path.name}" for name, path in assets.items()}
    shared = dict(assets=urls, version=cegbench.__version__, data_as_of=_data_as_of(db))
    env = environment()

    verdicts = registry.verdicts(db)
    rows = []
    for inn in inns:
        mine = [v for v in verdicts if v["innovation"] == inn["name"]] or [None]
        rows += [leaderboard_row(db, inn, v) for v in mine]
    index = IndexContext(root="", **shared, rows=_sort_leaderboard(rows), n_innovations=len(inns))
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
