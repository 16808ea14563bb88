"""Figures for the innovation pages, as inline SVG strings (matplotlib, Agg).

* ``loss_plot``: final loss against training compute (log–log) for both arms — every
  ok run faint, the compute-optimal frontier bold (hollow where the size ladder did
  not bracket the optimum), and each arm's fitted law L = E + A·C^−α over the
  measured range.
* ``ceg_plot``: CEG(C) against compute with 95 % interval bars; extrapolated points
  hollow, joined by a dashed line.

Backgrounds are transparent and colours mid-tone, so the figures read on light and
dark pages alike. Each ``<svg>`` carries ``role="img"``, an ``aria-label`` and a
``<title>``.
"""

from __future__ import annotations

import io
import math
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import LogFormatter  # noqa: E402
from markupsafe import Markup, escape  # noqa: E402

ARM_COLOURS = {"baseline": "#d9822b", "modern": "#3a8fd6"}
INK = "#8a8a8a"  # axes, ticks and labels: mid grey reads on white and on near-black
STYLE = {
    "axes.edgecolor": INK, "axes.labelcolor": INK, "xtick.color": INK, "ytick.color": INK,
    "text.color": INK, "grid.color": INK, "grid.alpha": 0.25, "font.size": 9,
    "legend.frameon": False, "svg.fonttype": "none",
}


def _finite(*values) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def _plain_log_ticks(ax) -> None:
    """Label log axes in plain text ('1e+12', '3') instead of slow mathtext."""
    for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
        if scale == "log":
            axis.set_major_formatter(LogFormatter())
            axis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def _to_svg(fig, alt: str, salt: str) -> Markup:
    """Render ``fig`` as an inline, accessible, deterministic ``<svg>`` element."""
    salt = re.sub(r"[^A-Za-z0-9_-]", "-", salt)
    for ax in fig.axes:
        _plain_log_ticks(ax)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", transparent=True, bbox_inches="tight",
                    metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML declaration and DOCTYPE
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, count=1, flags=re.S)
    # ids must be unique in the page that holds several figures: prefix them with the salt
    svg = re.sub(r'id="([^"]+)"', rf'id="{salt}-\1"', svg)
    svg = re.sub(r'(href="#|url\(#)', rf'\1{salt}-', svg)
    alt = str(escape(alt))
    svg = re.sub(r'<svg ([^>]*?)width="[^"]*" height="[^"]*"',
                 rf'<svg \1role="img" aria-label="{alt}" class="plot"', svg, count=1)
    svg = svg.replace(">", f"><title>{alt}</title>", 1)
    return Markup(svg)


def loss_plot(runs: list[dict], frontier: list[dict], fits: list[dict], *,
              title: str, salt: str) -> Markup | None:
    """Final loss vs compute per arm: runs, frontier and fitted law. None if nothing to plot.

    ``runs``: dicts with arm, budget, final_loss (ok runs only); ``frontier``: the
    verdict's frontier JSON; ``fits``: rows of the fits table.
    """
    runs = [r for r in runs if _finite(r["budget"], r["final_loss"]) and r["final_loss"] > 0]
    frontier = [p for p in frontier if _finite(p.get("budget"), p.get("loss"))]
    if not runs and not frontier:
        return None
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
            if fit and budgets and _finite(fit["E"], fit["A"], fit["alpha"]) and fit["A"] > 0:
                c = np.geomspace(min(budgets), max(budgets), 60)
                law = fit["E"] + np.exp(math.log(fit["A"]) - fit["alpha"] * np.log(c))
                ax.plot(c, law, color=colour, linewidth=1.8,
                        label=f"{arm} fit, α = {fit['alpha']:.3g}")
        ax.set(xscale="log", yscale="log", xlabel="training compute C (FLOPs)",
               ylabel="final eval loss")
        ax.grid(True, which="major")
        ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2))
        alt = (f"{title}: final loss against training compute, log–log, for the baseline "
               f"(orange) and modern (blue) arms, with compute-optimal frontier and fitted laws")
        return _to_svg(fig, alt, salt)


def ceg_plot(ceg: list[dict], *, title: str, salt: str) -> Markup | None:
    """CEG(C) with interval bars; extrapolated points hollow and dashed. None if empty."""
    points = sorted((p for p in ceg if _finite(p.get("compute"), p.get("ceg"))),
                    key=lambda p: p["compute"])
    if not points:
        return None
    colour = ARM_COLOURS["modern"]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.6, 3.2))
        ax.axhline(1.0, color=INK, linewidth=0.8, linestyle=":")
        for extrapolated in (False, True):
            sel = [p for p in points if bool(p.get("extrapolated")) is extrapolated]
            if not sel:
                continue
            x = np.array([p["compute"] for p in sel])
            y = np.array([p["ceg"] for p in sel])
            low = np.array([p["low"] if _finite(p.get("low")) else p["ceg"] for p in sel])
            high = np.array([p["high"] if _finite(p.get("high")) else p["ceg"] for p in sel])
            yerr = np.clip(np.vstack([y - low, high - y]), 0, None)
            bars = ax.errorbar(x, y, yerr=yerr, fmt="o", color=colour, capsize=3, markersize=5,
                               markerfacecolor="none" if extrapolated else colour,
                               label="extrapolated" if extrapolated else "measured budgets")
            if extrapolated:
                for line in bars[2]:
                    line.set_linestyle("--")
        xs = [p["compute"] for p in points]
        ys = [p["ceg"] for p in points]
        ax.plot(xs, ys, color=colour, linewidth=1, linestyle="--", alpha=0.6)
        measured = [p for p in points if not p.get("extrapolated")]
        if measured:
            ax.plot([p["compute"] for p in measured], [p["ceg"] for p in measured],
                    color=colour, linewidth=1.8)
        ax.set_xscale("log")
        tops = [p["high"] if _finite(p.get("high")) else p["ceg"] for p in points]
        if max(tops) / max(min(ys), 1e-12) > 5 and min(ys) > 0:
            ax.set_yscale("log")
        ax.set(xlabel="compute C (FLOPs)", ylabel="CEG(C)  (×)")
        ax.grid(True, which="major")
        ax.legend(fontsize=7)
        alt = (f"{title}: compute-equivalent gain against compute, with 95 % intervals; "
               f"hollow points joined by a dashed line are extrapolated beyond the measured budgets")
        return _to_svg(fig, alt, salt)
