"""How far a sweep has got: planned runs matched against recorded ones.

A planned run and a recorded one match on the cell key (innovation, arm, budget,
width, seed) within the plan's tier version and declaration hash, never on a
recomputed run id: a run's id also hashes things (such as a tuned learning rate)
that may be decided after it was recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from cegbench.stored import load_json


@dataclass
class ArmStatus:
    innovation: str
    arm: str
    planned: int = 0
    done: int = 0  # recorded ok
    failed: int = 0  # recorded failed (rerun with --retry-failed)
    flops_spent: float = 0.0  # training FLOPs of the recorded runs (failed: up to the last eval)
    flops_needed: float = 0.0  # budgets of the planned runs not recorded yet
    max_epochs: float | None = None  # most epochs of training data a run sees (recorded, else planned)

    @property
    def todo(self) -> int:
        return self.planned - self.done - self.failed


def cell_key(spec) -> tuple:
    """(innovation, arm, budget, width, seed) of a ``RunSpec``."""
    return (spec.innovation, spec.arm, spec.budget, spec.width, spec.seed)


def recorded_cells(db: Database, innovation: str, tier_name: str, tier_version: int,
                   declaration_hash: str) -> dict[tuple, dict]:
    """Cell key → the recorded run's status and spent FLOPs."""
    rows = db.execute(
        "select innovation, arm, budget, width, seed, status, flops_per_token, tokens, curve, epochs "
        "from runs where innovation = ? and tier = ? and tier_version = ? and declaration_hash = ?",
        [innovation, tier_name, tier_version, declaration_hash],
    ).fetchall()
    cells = {}
    for innovation_, arm, budget, width, seed, status, per_token, tokens, curve, epochs in rows:
        if status == "ok":
            spent = (per_token or 0.0) * (tokens or 0)
        else:  # a failed run trained up to its last evaluation, at least
            points = load_json(curve, f"runs.curve of a {innovation_} {arm} run at C={budget:g}, "
                                      f"width {width}, seed {seed}", [], list)
            spent = max((point.get("flops") or 0.0 for point in points), default=0.0)
        key = (innovation_, arm, budget, width, seed)
        if cells.get(key, {}).get("status") != "ok":  # an ok run of a cell outranks a failed one
            cells[key] = {"status": status, "flops": spent, "epochs": epochs}
    return cells


def sweep_status(db: Database, specs, epochs_of=None) -> list[ArmStatus]:
    """Per innovation and arm, in plan order: planned, done, failed, FLOPs spent and needed,
    and the most epochs of data a run sees: recorded, else ``epochs_of(spec)`` when given."""
    by_arm: dict[tuple, ArmStatus] = {}
    cells_of: dict[tuple, dict] = {}
    for spec in specs:
        group = (spec.innovation, spec.tier, spec.tier_version, spec.declaration_hash)
        if group not in cells_of:
            cells_of[group] = recorded_cells(db, *group)
        status = by_arm.setdefault((spec.innovation, spec.arm), ArmStatus(spec.innovation, spec.arm))
        status.planned += 1
        recorded = cells_of[group].get(cell_key(spec))
        epochs = recorded.get("epochs") if recorded else None
        if epochs is None and epochs_of is not None:
            epochs = epochs_of(spec)
        if epochs is not None:
            status.max_epochs = max(status.max_epochs or 0.0, epochs)
        if recorded is None:
            status.flops_needed += spec.budget
            continue
        status.flops_spent += recorded["flops"]
        if recorded["status"] == "ok":
            status.done += 1
        else:
            status.failed += 1
    return list(by_arm.values())


def older_runs(db: Database, innovation: str, tier, declaration_hash: str) -> int:
    """Runs of ``innovation`` on ``tier`` from another version of it or another declaration:
    never fitted."""
    return db.execute(
        "select count(*) from runs where innovation = ? and tier = ? "
        "and not (tier_version = ? and declaration_hash = ?)",
        [innovation, tier.name, tier.version, declaration_hash],
    ).fetchone()[0]


def not_loaded_runs(db: Database, tier, loaded: set[str]) -> list[tuple[str, int, int]]:
    """(innovation, ok runs, failed runs) on ``tier`` (any version) of innovations the
    loaded plugins do not declare: the registry keeps them (their plugin may be
    uninstalled), no sweep plans them."""
    rows = db.execute(
        "select innovation, sum(status = 'ok'), sum(status != 'ok') from runs where tier = ? "
        "group by innovation order by innovation", [tier.name]).fetchall()
    return [(name, ok, failed) for name, ok, failed in rows if name not in loaded]


def recorded_tier_names(db: Database) -> set[str]:
    """The names of the tiers the registry holds runs of."""
    return {row[0] for row in db.execute("select distinct tier from runs")}


def totals(statuses: list[ArmStatus]) -> ArmStatus:
    total = ArmStatus("all", "")
    for status in statuses:
        for name in ("planned", "done", "failed", "flops_spent", "flops_needed"):
            setattr(total, name, getattr(total, name) + getattr(status, name))
        if status.max_epochs is not None:
            total.max_epochs = max(total.max_epochs or 0.0, status.max_epochs)
    return total
