"""Page contexts: what each template receives, one documented dataclass per page.

Every value is ready to display (numbers already formatted, "—" for missing);
sort keys for the client-side table sort travel beside their display strings.
``tests/test_site.py`` checks every field carries ``metadata={"help": ...}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup


def doc(help: str, **kwargs):
    """A dataclass field documented with ``help``."""
    return field(metadata={"help": help}, **kwargs)


@dataclass
class Page:
    """Fields every page has."""

    root: str = doc("Relative path from this page to the site root: '' or '../'")
    assets: dict[str, str] = doc("Static asset name → hashed path relative to the site root")
    version: str = doc("cegbench version that rendered the site")
    data_as_of: str = doc("When the registry's last run finished, or '—'")
    repository: str = doc("The repository's URL (http/https), or '' where the build did not say")


@dataclass
class LiteratureRow:
    """One published finding (``cegbench.literature.Finding``), and whether our verdict agrees."""

    source: str = doc("Short citation, e.g. 'Gundlach et al. 2025'")
    url: str = doc("Link to the source (http/https only), or ''")
    ceg: str = doc("The CEG the source measured, e.g. '1.26×' or '1–9.8×', or '—'")
    label: str = doc("The class the source assigned, or 'not classified'")
    scale: str = doc("The scale in numbers, e.g. '2.5e18 FLOPs, 30M parameters', or ''")
    scale_text: str = doc("The scale and data in words, from the plugin")
    note: str = doc("The plugin's note on the finding, or ''")
    answer: str = doc("Ours against it: 'agrees', 'disagrees' or 'cannot tell yet'")
    answer_slug: str = doc("CSS-safe answer: 'agrees', 'disagrees' or 'cannot-tell'")
    reason: str = doc("The class and CEG checks behind the answer, in words")


@dataclass
class Marker:
    """A caveat beside a label (``verdict_text.Marker``): withheld, borderline, rests on one
    budget, single seed, fragile, read off the equal-loss CEGs, the same trainings as another."""

    text: str = doc("The marker's words, e.g. 'borderline'")
    slug: str = doc("CSS-safe kind, e.g. 'borderline', 'withheld', 'rests-on'")
    title: str = doc("Why, in words (shown on hover)")


@dataclass
class LeaderboardRow:
    """One (innovation, tier, tier_version) verdict, or an innovation with no verdict yet."""

    name: str = doc("Innovation slug")
    title: str = doc("Innovation title")
    url: str = doc("Link to the innovation page, relative to the site root")
    category: str = doc("Innovation category, e.g. 'architecture'")
    year: str = doc("Year the modern idea was published")
    has_verdict: bool = doc("False for an innovation with no verdict yet")
    label: str = doc("The badge's word: scale-invariant / scale-dependent / inconclusive / withheld, or ''")
    direction: str = doc("'grows with scale' / 'shrinks with scale', or ''")
    standing: str = doc("decided / borderline / rests on one budget / inconclusive / withheld "
                        "(``cegbench.standing``), or 'no results yet'")
    standing_sort: str = doc("Sort key of the label column: surest standing first")
    markers: list[Marker] = doc("Caveats shown beside the label")
    headline: str = doc("The headline CEG, e.g. '2.32×', or '—'")
    headline_interval: str = doc("Its 95 % interval, e.g. '[2.02, 2.49]', or ''")
    headline_note: str = doc("Where it was read when the rows differ, e.g. 'at 1.6e12 FLOPs (largest "
                             "measured budget)'; '' when the index states one compute for every row")
    headline_sort: str = doc("Sort key of the headline column (a number, or '' when missing)")
    drift: str = doc("CEG drift per 10× compute with its interval (what the label tests), or '—'")
    drift_sort: str = doc("Sort key of the drift column")
    delta_alpha: str = doc("Δα = α_modern − α_baseline with its interval, or '—'")
    delta_alpha_result: bool = doc("False where the fitted law is no result (a parameter at a bound): "
                                   "the Δα is then shown as 'no result'")
    delta_alpha_sort: str = doc("Sort key of the Δα column ('' where no result)")
    runs: str = doc("Counts of ok runs, seeds and failed runs, e.g. '36 runs · 2 seeds · 1 failed'")
    runs_sort: str = doc("Sort key of the runs column: number of ok runs")
    tier: str = doc("Tier name and version, e.g. 'smoke v1', or '—' without runs")
    tier_name: str = doc("Tier name alone, for the tier filter, or '' without runs")
    literature: list[LiteratureRow] = doc("What published work found, checked against this verdict")


@dataclass
class StandingCount:
    """How many verdicts of a tier stand where."""

    standing: str = doc("decided / borderline / rests on one budget / inconclusive / withheld")
    slug: str = doc("CSS-safe standing, e.g. 'rests-on-one-budget'")
    n: int = doc("How many")


@dataclass
class TierSummary:
    """The answer first: one tier version's scale and how many of its verdicts are decided."""

    tier: str = doc("Tier name and version, e.g. 'cpu v3'")
    n_verdicts: int = doc("Innovations with a verdict on this tier version")
    counts: list[StandingCount] = doc("Verdicts per standing, surest first; 'rests on one budget' only when any")
    decided_kinds: str = doc("The decided labels, e.g. '2 scale-dependent, 1 scale-invariant', or ''")
    scale: str = doc("What was measured, in words: model sizes, budgets, data, epochs, seeds, runs")
    headline: str = doc("Where the rows' headline CEG is read, in words")
    last_run: str = doc("When the tier's last run finished, or '—'")


@dataclass
class OverviewPanel:
    """One small multiple of the index's overview: an innovation's CEG(C)."""

    title: str = doc("Innovation title (and tier, when the index shows several)")
    url: str = doc("Link to the innovation page, relative to the site root")
    label: str = doc("The badge's word, as in the table")
    headline: str = doc("The headline CEG with its interval, or '—'")
    plot: Markup = doc("Inline SVG: CEG(C) with its band, on axes shared by every panel of the tier")


@dataclass
class Download:
    """One file offered for download."""

    href: str = doc("Path relative to the site root, e.g. 'downloads/runs.csv'")
    title: str = doc("What the file holds")
    size: str = doc("File size for people, e.g. '1.2 MB'")


@dataclass
class IndexContext(Page):
    """The leaderboard: ``index.html``."""

    rows: list[LeaderboardRow] = doc("Leaderboard rows: per tier, surest standing first, then largest "
                                     "headline CEG; no-result rows last")
    n_innovations: int = doc("Number of registered innovations")
    tiers: list[TierSummary] = doc("Per tier version with verdicts: its scale and its decided count")
    headline_compute: str = doc("The one compute every row's headline CEG is read at, e.g. '1e12'; "
                                "'' when the rows differ (then each row says where)")
    show_delta_alpha: bool = doc("False when no row's fitted law is a result: the Δα column is left out")
    facets: dict[str, list[str]] = doc("Filter name (category, standing, tier) → the values present")
    panels: list[OverviewPanel] = doc("The overview's small multiples, in the table's order")
    external_tiers: list[ExternalTierSummary] = doc("Tiers of runs trained elsewhere, each with its own page")
    downloads: list[Download] = doc("The registry database and the leaderboard and runs as JSON/CSV")


@dataclass
class AboutContext(Page):
    """What cegbench measures, how to read it, how to cite it: ``about.html``."""

    citation: str = doc("BibTeX for the leaderboard (the facts of CITATION.cff)")
    tiers: list[dict] = doc("Every built-in tier: {'name', 'version', 'description', 'changes'}")
    results_licence: str = doc("The licence of the results (registry, downloads, figures)")
    code_licence: str = doc("The licence of the code")


@dataclass
class RecipeRow:
    """One recipe field, side by side for the two arms."""

    field: str = doc("Recipe field name, e.g. 'activation'")
    baseline: str = doc("The baseline arm's value")
    modern: str = doc("The modern arm's value")
    differs: bool = doc("True where the two arms differ")


@dataclass
class CegRow:
    """CEG at one compute."""

    compute: str = doc("Compute in FLOPs, e.g. '1e13'")
    ceg: str = doc("CEG with its 95 % interval")
    wall_ceg: str = doc("Wall-clock CEG with its interval at this compute, or '—'")
    extrapolated: bool = doc("True outside the range of measured budgets")
    unbounded: str = doc("Why this extrapolated CEG is shown as 'unbounded', or ''")


@dataclass
class SensitivityRow:
    """The verdict refitted under one variation of the method."""

    variant: str = doc("What was varied, e.g. 'drop largest budget'")
    label: str = doc("The label under that variant")
    direction: str = doc("Its direction, or ''")
    delta_alpha: str = doc("Δα with its interval under that variant")
    changed: bool = doc("True where the label differs from the verdict's")


@dataclass
class LossCegRow:
    """CEG read at one target loss (the reference work's way)."""

    target_loss: str = doc("The modern arm's loss the baseline must reach")
    ceg: str = doc("CEG with its interval at that loss")


@dataclass
class Composition:
    """A bundle's measured CEG against the product of its parts' CEGs."""

    compute: str = doc("Compute the comparison is made at")
    measured: str = doc("The bundle's measured CEG with its interval")
    parts: list[dict] = doc("Parts as {'name', 'title', 'url', 'ceg'}")
    missing: list[str] = doc("Parts without a CEG at that compute")
    product: str = doc("Product of the parts' CEGs")
    ratio: str = doc("measured / product: above 1 the parts compound, below 1 they overlap")


@dataclass
class Decision:
    """For an inconclusive verdict: how much more data would decide it."""

    text: str = doc("The estimate in words")
    more_seeds: str = doc("Extra seeds per cell that would decide, or '—'")
    budget_factor: str = doc("How many times further the budgets must reach, or '—'")


@dataclass
class RunRow:
    """One training run, ok or failed."""

    arm: str = doc("'baseline' or 'modern'")
    budget: str = doc("Compute budget in FLOPs")
    width: str = doc("Model width")
    n_params: str = doc("Number of parameters")
    seed: str = doc("Random seed")
    final_loss: str = doc("Final evaluation loss")
    tokens: str = doc("Training tokens")
    epochs: str = doc("Epochs of training data consumed (training tokens / the dataset's); "
                      "above 1 the run saw data again")
    status: str = doc("'ok' or 'failed'")
    error: str = doc("Why the run failed, or ''")
    wall_time: str = doc("Wall-clock time of the run")
    hardware: str = doc("Hardware the run used")
    provenance: str = doc("cegbench version and commit, torch, Python, dataset hash, finish time, "
                          "the run that trained it when another innovation's run did")
    sort: dict[str, str] = doc("Column name → numeric sort key, for the sortable table")


@dataclass
class TierSection:
    """One innovation's results in one tier version."""

    tier: str = doc("Tier name")
    tier_version: int = doc("Tier version")
    anchor: str = doc("HTML id of this section, e.g. 'tier-smoke-v1'")
    has_verdict: bool = doc("False where runs exist but no verdict yet")
    label: str = doc("The badge's word: the label, or 'withheld'; '' without a verdict")
    direction: str = doc("'grows with scale' / 'shrinks with scale', or ''")
    standing: str = doc("decided / borderline / rests on one budget / inconclusive / withheld, or ''")
    markers: list[Marker] = doc("Caveats shown beside the label")
    answer: str = doc("The answer in one sentence: the headline CEG and whether it changes with scale")
    caveats: list[str] = doc("Sentences qualifying the answer (borderline, one budget, single seed, …)")
    headline: str = doc("The headline CEG with its interval and compute, or '—'")
    seeds: str = doc("Seeds per cell the intervals rest on, e.g. '2 seeds per cell'")
    n_not_learned: int = doc("Runs that did not learn, left out of the frontiers (0: none, or not stored)")
    shared: list[str] = doc("Other innovations measured on (nearly) the same trainings, in words")
    fragile: bool = doc("True when the label flips under a sensitivity refit (dependent ↔ invariant, or direction)")
    weakened: str = doc("Sensitivity variants under which the label weakens to inconclusive, comma-separated, or ''")
    delta_alpha: str = doc("Δα with its interval")
    delta_alpha_result: bool = doc("False where the fitted law is no result: Δα is then shown flagged")
    drift: str = doc("CEG drift per 10× compute with its interval (what the label tests), or '—'")
    loss_drift: str = doc("The same drift read off the measured frontiers' equal-loss CEGs (no law), or '—'")
    label_basis: str = doc("What the label was read from: 'fitted law', 'equal-loss CEGs' or 'none' (withheld); '' in verdicts from before")
    withheld: str = doc("Why the fitted law is not a result ('; '-separated), or ''")
    margin: str = doc("Margin for 'scale-invariant': the CEG drift factor allowed per 100× compute (Δα margin in verdicts from before)")
    method: list[tuple[str, str]] = doc("The analysis's settings as (what, value) in words")
    created_at: str = doc("When the verdict was computed")
    ceg_rows: list[CegRow] = doc("CEG per compute, ascending")
    has_wall_ceg: bool = doc("True when any CEG row has a wall-clock CEG")
    loss_ceg_rows: list[LossCegRow] = doc("CEG per target loss, or [] when not computed")
    sensitivity: list[SensitivityRow] = doc("The verdict under method variations, or []")
    composition: Composition | None = doc("For a bundle: measured vs product of parts, or None")
    decision: Decision | None = doc("For an inconclusive verdict: what would decide it, or None")
    loss_plot: Markup | None = doc("Inline SVG: final loss vs compute with fits, or None")
    ceg_plot: Markup | None = doc("Inline SVG: CEG vs compute, with the equal-loss CEGs where stored, or None")
    isoflop_plot: Markup | None = doc("Inline SVG: IsoFLOP curves per arm, or None")
    warnings: list[str] = doc("Warnings from the analysis")
    runs: list[RunRow] = doc("Every recorded run in this tier version")
    n_ok: int = doc("Number of ok runs")
    n_failed: int = doc("Number of failed runs")
    reproduce: str = doc("Command that reproduces these runs")
    recorded_commands: list[str] = doc("The distinct commands the runs were recorded with")
    literature: list[LiteratureRow] = doc("What published work found, checked against this verdict")


@dataclass
class InnovationContext(Page):
    """One innovation: ``innovation/<name>.html``."""

    name: str = doc("Innovation slug")
    title: str = doc("Innovation title")
    category: str = doc("Innovation category")
    year: str = doc("Year the modern idea was published")
    paper: str = doc("Paper URL (http/https only), or '' if none")
    description: str = doc("One paragraph in plain words, from the plugin")
    expected: str = doc("The class the literature expects (display only), or '—'")
    parts: list[dict] = doc("For a bundle: its parts as {'name', 'title', 'url'} (url '' if unregistered)")
    plugin: str = doc("Plugin (and distribution version) that declared the innovation")
    recipe_rows: list[RecipeRow] = doc("The two arms' recipes, field by field")
    tiers: list[TierSection] = doc("Results per tier version, verdicts first")
    literature: list[LiteratureRow] = doc("What published work found (answers against no verdict)")


@dataclass
class ExternalPairRow:
    """One innovation on an external tier: its verdict in brief."""

    name: str = doc("Innovation slug")
    title: str = doc("Innovation title")
    url: str = doc("Link to the innovation page, relative to the site root")
    label: str = doc("scale-invariant / scale-dependent / inconclusive")
    direction: str = doc("'grows with scale' / 'shrinks with scale', or ''")
    drift: str = doc("CEG drift per 10× compute with its interval, or '—'")
    ceg: str = doc("The headline CEG with its interval (at the tier's stated compute), or '—'")
    ceg_compute: str = doc("The compute that CEG is read at, or ''")
    runs: str = doc("How many runs (and seeds) the verdict rests on")
    literature: list[LiteratureRow] = doc("The source's published conclusion, checked against this verdict")


@dataclass
class ValidityRow:
    """One external pair's predictive-validity check (``cegbench validity``)."""

    name: str = doc("Innovation slug")
    url: str = doc("Link to the innovation page, relative to the site root")
    cells: list[str] = doc("The row of `cegbench validity`'s table after the innovation, as text")


@dataclass
class ExternalTierSummary:
    """An external tier as the index lists it."""

    name: str = doc("Tier name")
    version: int = doc("Tier version")
    url: str = doc("Link to the tier's page, relative to the site root")
    citation: str = doc("Where its runs were published, or '—'")
    n_pairs: int = doc("Innovations measured on it")
    scale: str = doc("Its budgets, e.g. '1.25e16–2.56e19 FLOPs'")


@dataclass
class ExternalTierContext(Page):
    """One external tier (runs trained elsewhere): ``external/<tier>-v<version>.html``."""

    name: str = doc("Tier name")
    tier_version: int = doc("Tier version")
    source: str = doc("Where the runs come from, in words (a repository at a commit, …), or '—'")
    source_url: str = doc("The URL the source starts with (http/https only), or ''")
    source_rest: str = doc("The source's words after that URL (a commit, files), or ''")
    citation: str = doc("The publication the runs belong to, or '—'")
    licence: str = doc("The runs' licence, or '—'")
    read: str = doc("How the frontier is read off the runs, in words")
    read_notes: list[str] = doc("What that reading assumes and how it is biased")
    margin: str = doc("Margin for 'scale-invariant': CEG drift factor allowed per 100× compute")
    scale: str = doc("Budgets and model sizes of its runs, in numbers")
    counts: str = doc("Rows, runs and seeds")
    files: list[dict] = doc("Files imported into it: {'name', 'sha256', 'rows'}")
    pairs: list[ExternalPairRow] = doc("Its innovations and their verdicts")
    validity_columns: list[str] = doc("Column headings of the predictive-validity table after 'innovation'")
    validity: list[ValidityRow] = doc("Per pair spanning ≥ 1.5 decades: lowest decade against the whole range")
    validity_summary: str = doc("How often the small-scale verdict predicted the large-scale one, or ''")
