"""Figures for the leaderboard, as inline SVG strings (matplotlib, Agg).

Innovation pages:

* ``loss_plot``: final loss against training compute (log–log) for both arms — every
  ok run faint, the compute-optimal frontier bold (hollow where the size ladder did
  not bracket the optimum: one legend entry for both arms), and each arm's fitted law L = E + A·C^−α with its interval
  band (the verdict's ``fit_bands``), dashed beyond the measured budgets.
* ``ceg_plot``: CEG(C) against compute with its 95 % band; the extrapolated part dashed;
  the equal-loss CEGs a label is read off (where the verdict stores them) as points, and
  the headline compute marked.
* ``isoflop_plot``: one panel per arm, mean loss against model size for each budget
  (the IsoFLOP curves), with the fitted parabola where the frontier entry has one.

Index:

* ``ceg_panel``: one small multiple per innovation — its CEG(C) with its band, on the axes
  every panel of its tier shares — instead of one chart of every line in ten colours.

Readable at a phone's width and a desktop's: figures are drawn small (4.4 in wide, 9.5 pt
text; panels 2.6 in, 9 pt) and the stylesheet caps how far they grow, so text renders at
11–20 px. Log axes get a few major ticks at 1, 2 and 5 × a power of ten, labelled compactly
('5e11', '1e12'), and no minor labels: tick labels never collide.

Backgrounds are transparent; axes, ticks and labels are drawn in ``currentColor`` so
they follow the page's text colour in light and dark schemes, and the data colours are
mid-tones that read on both. Each ``<svg>`` carries ``role="img"``, an ``aria-label``,
a ``<title>`` and a ``<desc>``.
"""

from __future__ import annotations

import io
import math
import re
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from markupsafe import Markup, escape  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter  # noqa: E402

from cegbench.present.numbers import fmt_compute, fmt_exponent, fmt_ratio  # noqa: E402

ARM_COLOURS = {"baseline": "#d9822b", "modern": "#3a8fd6"}
# The overview's panels, by label: the badges' hues at mid-tone (withheld: grey, like inconclusive).
LABEL_COLOURS = {"scale-invariant": "#2fa36b", "scale-dependent": "#9a6fd6", "inconclusive": "#8d939c",
                 "withheld": "#8d939c"}
EQUAL_LOSS_COLOUR = "#d9822b"
INK = "#8a8a8a"  # axes, ticks and labels; replaced by currentColor in the SVG
STYLE = {
    "axes.edgecolor": INK, "axes.labelcolor": INK, "xtick.color": INK, "ytick.color": INK,
    "text.color": INK, "grid.color": INK, "grid.alpha": 0.25, "font.size": 9.5,
    "legend.fontsize": 9.5, "axes.titlesize": 9.5,
    "legend.frameon": False, "svg.fonttype": "none",
    "text.parse_math": False,  # a '$' in a plugin's title is text, not TeX
}


def _finite(*values) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def tick_text(x: float) -> str:
    """A tick label, compact: 1e12 → '1e12', 2.5e11 → '2.5e11', 3e4 → '3e4', 0.5 → '0.5', 20 → '20'."""
    if x != 0 and (abs(x) >= 1e4 or abs(x) < 1e-3):
        mantissa, exponent = f"{x:.2e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{x:g}"


def log_ticks(low: float, high: float, most: int = 4) -> list[float]:
    """At most ``most`` ticks in [low, high] where a log axis reads well: 1, 2 and 5 × powers
    of ten, else 1 and 3 ×, else powers of ten (every second, third … where still too many).
    A range too narrow for two of those (less than about 3×) gets round linear steps."""
    decades = range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 2)

    def within(multiples):
        return [m * 10.0**k for k in decades for m in multiples if low <= m * 10.0**k <= high]

    for multiples in ((1, 2, 5), (1, 3), (1,)):
        ticks = within(multiples)
        if 2 <= len(ticks) <= most:
            return ticks
    ticks = within((1,))
    if len(ticks) > most:
        return ticks[::math.ceil(len(ticks) / most)]
    steps = MaxNLocator(nbins=most - 1, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
    return [float(t) for t in steps if low <= t <= high] or ticks


def _log_axis_ticks(ax) -> None:
    """A few labelled major ticks on each log axis, unlabelled minor ones."""
    for axis, scale, limits in ((ax.xaxis, ax.get_xscale(), ax.get_xlim()),
                                (ax.yaxis, ax.get_yscale(), ax.get_ylim())):
        if scale == "log":
            axis.set_major_locator(FixedLocator(log_ticks(*sorted(limits))))
            axis.set_major_formatter(FuncFormatter(lambda x, _: tick_text(x)))
            axis.set_minor_formatter(NullFormatter())


def _to_svg(fig, alt: str, salt: str, desc: str = "") -> Markup:
    """Render ``fig`` as an inline, accessible, deterministic ``<svg>`` element."""
    salt = re.sub(r"[^A-Za-z0-9_-]", "-", salt)
    for ax in fig.axes:
        _log_axis_ticks(ax)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", transparent=True, bbox_inches="tight",
                    metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML declaration and DOCTYPE
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, count=1, flags=re.DOTALL)
    svg = svg.replace(INK, "currentColor")
    # ids must be unique in the page that holds several figures: prefix them with the salt
    # replacements are functions, never templates: the title is plugin text and may hold '\'
    svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{salt}-{m[1]}"', svg)
    svg = re.sub(r'(href="#|url\(#)', lambda m: f"{m[1]}{salt}-", svg)
    alt = str(escape(alt))
    svg = re.sub(r'<svg ([^>]*?)width="[^"]*" height="[^"]*"',
                 lambda m: f'<svg {m[1]}role="img" aria-label="{alt}" class="plot"', svg, count=1)
    svg = svg.replace(">", f"><title>{alt}</title><desc>{escape(desc or alt)}</desc>", 1)
    return Markup(svg)


def _line_with_extrapolation(ax, x, y, low, high, *, split: float, colour: str, label: str,
                             width: float = 1.8) -> None:
    """Draw y(x) with its band: solid up to ``split`` (the largest measured compute), dashed beyond."""
    x, y, low, high = (np.asarray(v, dtype=float) for v in (x, y, low, high))
    if x[0] < split < x[-1] and split not in x:  # both parts meet at the split (x ascending)
        at = np.searchsorted(x, split)
        y, low, high = (np.insert(v, at, np.interp(np.log(split), np.log(x), v)) for v in (y, low, high))
        x = np.insert(x, at, split)
    inside, beyond = x <= split * (1 + 1e-9), x >= split * (1 - 1e-9)
    has_band = np.isfinite(low) & np.isfinite(high)
    for sel, style, alpha in ((inside, "-", 0.22), (beyond, "--", 0.12)):
        if sel.sum() >= 1:
            ax.plot(x[sel], y[sel], color=colour, linewidth=width, linestyle=style,
                    label=label if style == "-" or not inside.any() else None)
        band = sel & has_band
        if band.sum() >= 2:
            ax.fill_between(x[band], low[band], high[band], color=colour, alpha=alpha, linewidth=0)


def _measured_max(points: list[dict], key: str = "compute") -> float:
    measured = [p[key] for p in points if not p.get("extrapolated")]
    return max(measured) if measured else -math.inf


def loss_plot(runs: list[dict], frontier: list[dict], fits: list[dict],
              fit_bands: dict | None = None, *, title: str, salt: str) -> Markup | None:
    """Final loss vs compute per arm: runs, frontier and fitted law. None if nothing to plot.

    ``runs``: dicts with arm, budget, final_loss (ok runs only); ``frontier``: the
    verdict's frontier JSON; ``fits``: rows of the fits table; ``fit_bands``: the
    verdict's fit_bands JSON (the fit with its interval on a compute grid), if any.
    """
    runs = [r for r in runs if _finite(r["budget"], r["final_loss"]) and r["final_loss"] > 0]
    frontier = [p for p in frontier if _finite(p.get("budget"), p.get("loss"))]
    if not runs and not frontier:
        return None
    fit_bands = fit_bands or {}
    extended = False
    hollow = "hollow: not bracketed"  # one legend entry for both arms: the legend stays narrow
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.4, 3.2))
        for arm, colour in ARM_COLOURS.items():
            mine = [r for r in runs if r["arm"] == arm]
            ax.scatter([r["budget"] for r in mine], [r["final_loss"] for r in mine],
                       s=12, color=colour, alpha=0.45, linewidths=0, label=f"{arm} runs")
            points = [p for p in frontier if p["arm"] == arm]
            for bracketed in (True, False):
                sel = [p for p in points if bool(p.get("bracketed", True)) is bracketed]
                if sel:
                    ax.scatter([p["budget"] for p in sel], [p["loss"] for p in sel], s=42,
                               marker="o", linewidths=1.6, edgecolors=colour, zorder=3,
                               color=colour if bracketed else "none",
                               label=f"{arm} frontier" if bracketed else hollow)
                    hollow = hollow if bracketed else None
            fit = next((f for f in fits if f["arm"] == arm), None)
            budgets = [p["budget"] for p in points] or [r["budget"] for r in mine]
            label = f"{arm} fit" + (f", α = {fmt_exponent(fit['alpha'])}" if fit and _finite(fit["alpha"]) else "")
            band = [b for b in fit_bands.get(arm) or [] if _finite(b.get("compute"), b.get("loss"))
                    and b["loss"] > 0]
            if band and budgets:
                band.sort(key=lambda b: b["compute"])
                _line_with_extrapolation(
                    ax, [b["compute"] for b in band], [b["loss"] for b in band],
                    [b["low"] if _finite(b.get("low")) and b["low"] > 0 else np.nan for b in band],
                    [b["high"] if _finite(b.get("high")) else np.nan for b in band],
                    split=max(budgets), colour=colour, label=label)
                extended |= band[-1]["compute"] > max(budgets)
            elif fit and budgets and _finite(fit["E"], fit["A"], fit["alpha"]) and fit["A"] > 0:
                c = np.geomspace(min(budgets), max(budgets), 60)
                law = fit["E"] + np.exp(math.log(fit["A"]) - fit["alpha"] * np.log(c))
                ax.plot(c, law, color=colour, linewidth=1.8, label=label)
        ax.set(xscale="log", yscale="log", xlabel="training compute C (FLOPs)",
               ylabel="final eval loss")
        ax.grid(True, which="major")
        ax.legend(ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2))
        alt = (f"{title}: final loss against training compute, log–log, for the baseline "
               f"(orange) and modern (blue) arms, with compute-optimal frontier and fitted laws")
        desc = (f"{len(runs)} runs and {len(frontier)} frontier points; shaded bands are the "
                "fits' 95 % intervals" + (", dashed beyond the largest measured budget"
                                          if extended else ""))
        return _to_svg(fig, alt, salt, desc)


def ceg_plot(ceg: list[dict], *, title: str, salt: str, equal_loss: list[dict] = (),
             headline: float | None = None) -> Markup | None:
    """CEG(C) with its band; the extrapolated part dashed, hollow points. ``equal_loss``: the
    equal-loss CEGs the label is read off ({"compute", "ceg"}), drawn as points; ``headline``:
    the tier's headline compute, marked. None if there is nothing to draw."""
    points = sorted((p for p in ceg if _finite(p.get("compute"), p.get("ceg"))),
                    key=lambda p: p["compute"])
    equal_loss = sorted((p for p in equal_loss if _finite(p.get("compute"), p.get("ceg")) and p["ceg"] > 0),
                        key=lambda p: p["compute"])
    if not points and not equal_loss:
        return None
    colour = ARM_COLOURS["modern"]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.4, 3.0))
        ax.axhline(1.0, color=INK, linewidth=0.8, linestyle=":")
        if points:
            split = _measured_max(points)
            _line_with_extrapolation(
                ax, [p["compute"] for p in points], [p["ceg"] for p in points],
                [p["low"] if _finite(p.get("low")) else np.nan for p in points],
                [p["high"] if _finite(p.get("high")) else np.nan for p in points],
                split=split, colour=colour, label="CEG, 95 % band")
        for extrapolated in (False, True):
            sel = [p for p in points if bool(p.get("extrapolated")) is extrapolated]
            if sel:
                ax.scatter([p["compute"] for p in sel], [p["ceg"] for p in sel], s=28, zorder=3,
                           color="none" if extrapolated else colour, edgecolors=colour,
                           linewidths=1.4, label="extrapolated" if extrapolated else "measured budgets")
        if equal_loss:
            ax.scatter([p["compute"] for p in equal_loss], [p["ceg"] for p in equal_loss], s=26,
                       marker="D", zorder=4, color=EQUAL_LOSS_COLOUR, linewidths=0,
                       label="equal-loss CEGs (the label's)")
        if headline is not None:
            ax.axvline(headline, color=INK, linewidth=0.9, linestyle="--", label="headline compute")
        ax.set_xscale("log")
        shown = points + equal_loss
        ys = [p["ceg"] for p in shown]
        tops = [p["high"] if _finite(p.get("high")) else p["ceg"] for p in shown]
        if min(ys) > 0 and max(tops) / min(ys) > 5:
            ax.set_yscale("log")
        ax.set(xlabel="compute C (FLOPs)", ylabel="CEG(C)  (×)")
        ax.grid(True, which="major")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
        alt = (f"{title}: compute-equivalent gain against compute, with its 95 % band; "
               f"the dashed part with hollow points is extrapolated beyond the measured budgets")
        desc = "; ".join(f"C={fmt_compute(p['compute'])}: {fmt_ratio(p['ceg'])}×"
                         + (" (extrapolated)" if p.get("extrapolated") else "") for p in points)
        if equal_loss:
            desc += "; equal-loss CEGs: " + ", ".join(
                f"{fmt_ratio(p['ceg'])}× at {fmt_compute(p['compute'])}" for p in equal_loss)
        return _to_svg(fig, alt, salt, desc)


def isoflop_plot(runs: list[dict], frontier: list[dict], *, title: str, salt: str) -> Markup | None:
    """Per arm, mean final loss vs parameters at each budget, with the fitted parabolas."""
    cells = defaultdict(list)
    for r in runs:
        if _finite(r["budget"], r["n_params"], r["final_loss"]) and r["n_params"] > 0:
            cells[(r["arm"], r["budget"], r["n_params"])].append(r["final_loss"])
    if not cells:
        return None
    budgets = sorted({budget for _, budget, _ in cells})
    cmap = matplotlib.colormaps["viridis"]
    colour = {b: cmap(0.15 + 0.7 * i / max(len(budgets) - 1, 1)) for i, b in enumerate(budgets)}
    arms = [arm for arm in ARM_COLOURS if any(key[0] == arm for key in cells)]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(arms), figsize=(4.4, 2.8), sharey=True, squeeze=False)
        for ax, arm in zip(axes[0], arms):
            for budget in budgets:
                sizes = sorted(n for a, b, n in cells if a == arm and b == budget)
                if not sizes:
                    continue
                losses = [float(np.mean(cells[(arm, budget, n)])) for n in sizes]
                ax.plot(sizes, losses, "o-", color=colour[budget], markersize=4, linewidth=1.2,
                        label=fmt_compute(budget))
                entry = next((p for p in frontier if p.get("arm") == arm
                              and p.get("budget") == budget), {})
                parabola = entry.get("parabola")
                if parabola and len(parabola) == 3 and _finite(*parabola):
                    x = np.linspace(math.log(sizes[0]), math.log(sizes[-1]), 40)
                    c0, c1, c2 = parabola
                    ax.plot(np.exp(x), c0 + c1 * x + c2 * x**2, color=colour[budget],
                            linewidth=0.9, linestyle="--")
            ax.set(xscale="log", title=arm, xlabel="parameters N")
            ax.grid(True, which="major")
        axes[0][0].set_ylabel("mean final loss")
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, [tick_text(float(x)) for x in labels], title="budget (FLOPs)",
                   loc="upper center", bbox_to_anchor=(0.5, -0.04), ncol=min(len(budgets), 4))
        alt = (f"{title}: IsoFLOP curves — mean final loss against model size at each compute "
               "budget, one panel per arm; dashed curves are the fitted parabolas")
        return _to_svg(fig, alt, salt, f"{len(budgets)} budgets, {len(cells)} (arm, budget, size) cells")


def ceg_panel(ceg: list[dict], tier_points: list[dict], *, headline: float | None, label: str,
              title: str, salt: str) -> Markup | None:
    """One small multiple of the index: the measured CEG(C) with its band, on the x and y
    ranges of ``tier_points`` (every panel of the tier's points), so panels compare at a
    glance; coloured by ``label``. None without a measured point."""
    def drawable(p):
        return not p.get("extrapolated") and _finite(p.get("compute"), p.get("ceg")) and p["ceg"] > 0

    points = sorted(filter(drawable, ceg), key=lambda p: p["compute"])
    if not points:
        return None
    every = [p for p in tier_points if drawable(p)] or points
    lows = [p["low"] if _finite(p.get("low")) and p["low"] > 0 else p["ceg"] for p in every]
    highs = [p["high"] if _finite(p.get("high")) else p["ceg"] for p in every]
    computes = [p["compute"] for p in every]
    colour = LABEL_COLOURS.get(label, ARM_COLOURS["modern"])
    with plt.rc_context({**STYLE, "font.size": 9}):
        fig, ax = plt.subplots(figsize=(2.6, 1.5))
        ax.axhline(1.0, color=INK, linewidth=0.8, linestyle=":")
        x = [p["compute"] for p in points]
        low = [p["low"] if _finite(p.get("low")) and p["low"] > 0 else np.nan for p in points]
        high = [p["high"] if _finite(p.get("high")) else np.nan for p in points]
        if sum(map(math.isfinite, low)) >= 2:
            ax.fill_between(x, low, high, color=colour, alpha=0.25, linewidth=0)
        ax.plot(x, [p["ceg"] for p in points], "o-", color=colour, markersize=3.5, linewidth=1.6)
        if headline is not None:
            ax.axvline(headline, color=INK, linewidth=0.8, linestyle="--")
        ax.set(xscale="log", yscale="log",
               xlim=(min(computes) / 1.25, max(computes) * 1.25),
               ylim=(min(min(lows), 1.0) / 1.15, max(max(highs), 1.0) * 1.15))
        ax.grid(True, which="major")
        alt = f"{title}: compute-equivalent gain against compute (log–log), with its 95 % band"
        desc = "; ".join(f"C={fmt_compute(p['compute'])}: {fmt_ratio(p['ceg'])}×" for p in points)
        return _to_svg(fig, alt, salt, desc)
