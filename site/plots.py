"""Figures for the leaderboard, as inline SVG strings (matplotlib, Agg).

Innovation pages:

* ``loss_plot``: final loss against training compute (log–log) for both arms — every
  ok run faint, the compute-optimal frontier bold (hollow where the size ladder did
  not bracket the optimum), and each arm's fitted law L = E + A·C^−α with its interval
  band (the verdict's ``fit_bands``), dashed beyond the measured budgets.
* ``ceg_plot``: CEG(C) against compute with its 95 % band; the extrapolated part dashed.
* ``isoflop_plot``: one panel per arm, mean loss against model size for each budget
  (the IsoFLOP curves), with the fitted parabola where the frontier entry has one.

Index:

* ``overview_ceg_plot``: CEG(C) of every innovation on one log–log chart, measured
  solid, extrapolated dashed.
* ``overview_bar_plot``: CEG with its interval at the reference budget, one bar each.

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
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import LogFormatter, NullFormatter  # noqa: E402

ARM_COLOURS = {"baseline": "#d9822b", "modern": "#3a8fd6"}
# Series colours of the overview charts: mid-tones that read on white and on near-black.
SERIES = ("#3a8fd6", "#d9822b", "#2fa36b", "#c4509a", "#8f76d6", "#c9a227", "#3fb0b8",
          "#d65f5f", "#7f9a3a", "#a0785a")
# Bars of the overview, by label: the badges' hues at mid-tone.
LABEL_COLOURS = {"scale-invariant": "#2fa36b", "scale-dependent": "#9a6fd6", "inconclusive": "#8d939c"}
INK = "#8a8a8a"  # axes, ticks and labels; replaced by currentColor in the SVG
STYLE = {
    "axes.edgecolor": INK, "axes.labelcolor": INK, "xtick.color": INK, "ytick.color": INK,
    "text.color": INK, "grid.color": INK, "grid.alpha": 0.25, "font.size": 9,
    "legend.frameon": False, "svg.fonttype": "none",
    "text.parse_math": False,  # a '$' in a plugin's title is text, not TeX
}


def _finite(*values) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


class PlainLogFormatter(LogFormatter):
    """Log-axis labels in plain text, as Python's ``g`` format writes them: '1e+12', '0.9', '3'."""

    def _num_to_string(self, x, vmin, vmax):
        return f"{x:g}"


def _plain_log_ticks(ax, minor_labels: bool) -> None:
    """Label log axes in plain text instead of slow mathtext."""
    for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
        if scale == "log":
            axis.set_major_formatter(PlainLogFormatter())
            axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5))
                                     if minor_labels else NullFormatter())


def _to_svg(fig, alt: str, salt: str, desc: str = "", *, minor_labels: bool = True) -> Markup:
    """Render ``fig`` as an inline, accessible, deterministic ``<svg>`` element."""
    salt = re.sub(r"[^A-Za-z0-9_-]", "-", salt)
    for ax in fig.axes:
        _plain_log_ticks(ax, minor_labels)
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
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.6, 3.6))
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
                               label=f"{arm} frontier" + ("" if bracketed else " (not bracketed)"))
            fit = next((f for f in fits if f["arm"] == arm), None)
            budgets = [p["budget"] for p in points] or [r["budget"] for r in mine]
            label = f"{arm} fit" + (f", α = {fit['alpha']:.3g}" if fit and _finite(fit["alpha"]) else "")
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
        ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2))
        alt = (f"{title}: final loss against training compute, log–log, for the baseline "
               f"(orange) and modern (blue) arms, with compute-optimal frontier and fitted laws")
        desc = (f"{len(runs)} runs and {len(frontier)} frontier points; shaded bands are the "
                "fits' 95 % intervals" + (", dashed beyond the largest measured budget"
                                          if extended else ""))
        return _to_svg(fig, alt, salt, desc)


def ceg_plot(ceg: list[dict], *, title: str, salt: str) -> Markup | None:
    """CEG(C) with its band; the extrapolated part dashed, hollow points. None if empty."""
    points = sorted((p for p in ceg if _finite(p.get("compute"), p.get("ceg"))),
                    key=lambda p: p["compute"])
    if not points:
        return None
    colour = ARM_COLOURS["modern"]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.6, 3.2))
        ax.axhline(1.0, color=INK, linewidth=0.8, linestyle=":")
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
        ax.set_xscale("log")
        ys = [p["ceg"] for p in points]
        tops = [p["high"] if _finite(p.get("high")) else p["ceg"] for p in points]
        if min(ys) > 0 and max(tops) / min(ys) > 5:
            ax.set_yscale("log")
        ax.set(xlabel="compute C (FLOPs)", ylabel="CEG(C)  (×)")
        ax.grid(True, which="major")
        ax.legend(fontsize=7)
        alt = (f"{title}: compute-equivalent gain against compute, with its 95 % band; "
               f"the dashed part with hollow points is extrapolated beyond the measured budgets")
        desc = "; ".join(f"C={p['compute']:.3g}: {p['ceg']:.3g}×"
                         + (" (extrapolated)" if p.get("extrapolated") else "") for p in points)
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
        fig, axes = plt.subplots(1, len(arms), figsize=(5.6, 3.0), sharey=True, squeeze=False)
        for ax, arm in zip(axes[0], arms):
            for budget in budgets:
                sizes = sorted(n for a, b, n in cells if a == arm and b == budget)
                if not sizes:
                    continue
                losses = [float(np.mean(cells[(arm, budget, n)])) for n in sizes]
                ax.plot(sizes, losses, "o-", color=colour[budget], markersize=4, linewidth=1.2,
                        label=f"{budget:.3g}")
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
        fig.legend(*axes[0][0].get_legend_handles_labels(), fontsize=7, title="budget (FLOPs)",
                   title_fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=min(len(budgets), 5))
        alt = (f"{title}: IsoFLOP curves — mean final loss against model size at each compute "
               "budget, one panel per arm; dashed curves are the fitted parabolas")
        return _to_svg(fig, alt, salt, f"{len(budgets)} budgets, {len(cells)} (arm, budget, size) cells",
                       minor_labels=False)  # narrow panels: minor labels would overlap


def overview_ceg_plot(series: list[tuple[str, list[dict]]], *, salt: str) -> Markup | None:
    """CEG(C) of each (label, ceg points) series on one log–log chart. None if none has points."""
    series = [(label, sorted((p for p in ceg if _finite(p.get("compute"), p.get("ceg"))
                              and p["ceg"] > 0), key=lambda p: p["compute"]))
              for label, ceg in series]
    series = [(label, points) for label, points in series if points]
    if not series:
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.2, 4.0))
        ax.axhline(1.0, color=INK, linewidth=0.8, linestyle=":")
        for i, (label, points) in enumerate(series):
            colour = SERIES[i % len(SERIES)]
            nan = [np.nan] * len(points)
            _line_with_extrapolation(ax, [p["compute"] for p in points], [p["ceg"] for p in points],
                                     nan, nan, split=_measured_max(points), colour=colour,
                                     label=label, width=1.6)
            measured = [p for p in points if not p.get("extrapolated")]
            ax.scatter([p["compute"] for p in measured], [p["ceg"] for p in measured], s=14,
                       color=colour, zorder=3)
        ax.set(xscale="log", yscale="log", xlabel="compute C (FLOPs)", ylabel="CEG(C)  (×)")
        ax.grid(True, which="major")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        alt = ("Compute-equivalent gain against compute for every innovation, log–log: flat "
               "lines are scale-invariant, rising or falling ones scale-dependent; solid where "
               "measured, dashed where extrapolated")
        return _to_svg(fig, alt, salt, "; ".join(label for label, _ in series))


def overview_bar_plot(bars: list[tuple[str, str, float, float | None, float | None]], *,
                      salt: str) -> Markup | None:
    """Horizontal bars of (name, label, CEG, low, high) at the reference budget, coloured by
    label. None if empty."""
    bars = [b for b in bars if _finite(b[2]) and b[2] > 0]
    if not bars:
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.2, 0.8 + 0.32 * len(bars)))
        y = np.arange(len(bars))[::-1]
        values = np.array([b[2] for b in bars])
        low = np.array([b[3] if _finite(b[3]) else b[2] for b in bars])
        high = np.array([b[4] if _finite(b[4]) else b[2] for b in bars])
        colours = [LABEL_COLOURS.get(b[1], INK) for b in bars]
        ax.barh(y, values, color=colours, alpha=0.8, height=0.6)
        ax.legend(handles=[Patch(color=colour, alpha=0.8, label=label)
                           for label, colour in LABEL_COLOURS.items() if any(b[1] == label for b in bars)],
                  fontsize=7, loc="lower right")
        ax.errorbar(values, y, xerr=np.clip(np.vstack([values - low, high - values]), 0, None),
                    fmt="none", ecolor=INK, capsize=3, linewidth=1)
        ax.axvline(1.0, color=INK, linewidth=0.8, linestyle=":")
        ax.set_yticks(y, [b[0] for b in bars])
        if max(high) / min(values) > 20:
            ax.set_xscale("log")
        ax.set_xlabel("CEG at the reference budget (×), 95 % interval")
        ax.grid(True, which="major", axis="x")
        alt = "Compute-equivalent gain of each innovation at its tier's reference budget, with 95 % intervals"
        desc = "; ".join(f"{name}: {value:.3g}× ({label})" for name, label, value, *_ in bars)
        return _to_svg(fig, alt, salt, desc)
