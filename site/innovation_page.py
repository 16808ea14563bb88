"""An innovation's page: per tier version its answer, headline, drift, Δα, CEG table,
sensitivity, composition, what would decide it, plots, runs and how to reproduce them
(``tier_section``), under the innovation's facts and recipes (``innovation_context``)."""

from __future__ import annotations

import shlex

from cegbench import standing
from cegbench.bounds import UNBOUNDED, unbounded_reason
from cegbench.present.numbers import (
    MISSING,
    as_number,
    as_text,
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
from cegbench.site import external as external_site
from cegbench.site import plots, summary
from cegbench.site import verdict_text as words
from cegbench.site.context import (
    CegRow,
    Composition,
    Decision,
    InnovationContext,
    LossCegRow,
    RecipeRow,
    RunRow,
    SensitivityRow,
    TierSection,
)
from cegbench.site.values import bounded, literature_rows, point_at, run_counts, sort_key
from cegbench.site.verdict_text import parse_json


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
        w = point_at(wall, as_number(p.get("compute")))
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


def _reproduce(name: str, tier_name: str, commands: list[str]) -> str:
    """``cegbench run --tier T --innovation NAME``, keeping the ``--plugins`` files the runs used."""
    plugins = []
    for command in commands:
        words = shlex.split(command)
        plugins += [words[i + 1] for i, w in enumerate(words[:-1])
                    if w == "--plugins" and words[i + 1] not in plugins]
    return shlex.join(["cegbench", "run", "--tier", tier_name, "--innovation", name,
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


def tier_section(db, inn: dict, tier_name: str, tier_version: int, verdict: dict | None,
                 names: dict[str, str], shared: list[summary.SharedTrainings] = ()) -> TierSection:
    runs = external_site.tier_runs(db, inn["name"], tier_name, tier_version)
    n_ok, n_seeds, n_failed = run_counts(runs)
    records = runs.to_dict("records")
    ok = [r for r in records if r["status"] == "ok"]
    v = verdict or {}
    ceg = parse_json(v.get("ceg"), [])
    frontier = parse_json(v.get("frontier"), [])
    salt = f"{inn['name']}-{tier_name}-{tier_version}"
    commands = sorted({r["command"] for r in records if isinstance(r.get("command"), str)})
    head = words.headline(verdict)
    ceg_rows = _ceg_rows(ceg, parse_json(v.get("wall_ceg"), []))
    label = words.shown_label(verdict)
    return TierSection(
        tier=tier_name, tier_version=tier_version, anchor=f"tier-{salt}", has_verdict=verdict is not None,
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
        loss_plot=plots.loss_plot(ok, frontier, registry_db.fits(db, inn["name"], tier_name, tier_version),
                                  parse_json(v.get("fit_bands"), None),
                                  title=inn["title"], salt=f"{salt}-loss"),
        ceg_plot=plots.ceg_plot(bounded(ceg), title=inn["title"], salt=f"{salt}-ceg",
                                equal_loss=parse_json(v.get("equal_loss_cegs"), []),
                                headline=head.compute if head and head.stated else None),
        isoflop_plot=plots.isoflop_plot(ok, frontier, title=inn["title"], salt=f"{salt}-isoflop"),
        warnings=[str(w) for w in parse_json(v.get("warnings"), [])],
        runs=[run_row(r) for r in records], n_ok=n_ok, n_failed=n_failed,
        reproduce=(external_site.reproduce_command(external_tier) if (
            external_tier := registry_external.get_external_tier(db, tier_name, tier_version))
            else _reproduce(inn["name"], tier_name, commands)), recorded_commands=commands,
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
        tiers=[tier_section(db, inn, tier_name, tier_version, by_tier.get((tier_name, tier_version)), names,
                            shared.get((tier_name, tier_version), {}).get(inn["name"], []))
               for tier_name, tier_version in keys],
        literature=literature_rows(inn, None),
    )
