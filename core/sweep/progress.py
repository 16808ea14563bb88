"""What a sweep tells its caller as it goes (``Progress``), and what it found to do
(``Planned``) and did (``Executed``). The sweep prints nothing: the CLI's ``ClickProgress``
(``cli.terminal``) draws a progress bar and prints lines; the default ``Progress`` says
nothing, for tests and scripts."""

from __future__ import annotations

from dataclasses import dataclass

from cegbench.tiers import Tier


@dataclass(frozen=True)
class Planned:
    """What a phase found to do: ``planned`` runs for ``units`` recipes (tuning) or
    innovations (runs), of which ``recorded`` are in the registry already."""

    phase: str  # "tuning", "beyond the grid" (tuning), "runs" or "ladder"
    tier: Tier  # a built-in tier (external tiers train nothing)
    units: int
    planned: int
    recorded: int
    # runs to do whose training an earlier one of them does for another innovation or arm
    # (the same model and cell): recorded as copies of it, not trained again
    shared: int = 0

    @property
    def todo(self) -> int:
        return self.planned - self.recorded


@dataclass(frozen=True)
class Executed:
    """How the runs of a phase ended: recorded ok, recorded failed, and recorded
    meanwhile by another process sharing the registry (so skipped here)."""

    ok: int
    failed: int
    skipped: int
    not_tuned: tuple[str, ...] = ()  # innovations left out: a recipe's tuning failed


class Progress:
    """What a sweep reports as it goes; every method does nothing here. Override the
    ones you want to show (the CLI's ``ClickProgress`` shows them all)."""

    def planned(self, planned: Planned) -> None:
        """A phase (tuning or runs) is about to run ``planned.todo`` runs."""

    def phase(self, name: str, total: int) -> None:
        """The runs of phase ``name`` start; ``finished`` follows for each one, then ``ended``."""

    def finished(self, result, recorded: bool) -> None:
        """One run of the current phase ended (ok or failed); ``recorded``: newly recorded."""

    def ended(self, executed: Executed) -> None:
        """The current phase's runs ended."""

    def warning(self, text: str) -> None:
        """Something the person running the sweep should know; the sweep goes on."""

    def analysed(self, name: str, tier, analysis=None, error: str | None = None) -> None:
        """An innovation's verdict on ``tier`` was stored: its ``Analysis``, or the
        ``error`` why it cannot be analysed yet (then stored as inconclusive)."""
