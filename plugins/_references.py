"""Published results the built-in plugins cite as their ``literature`` (not a plugin).

Every number is from ``REFERENCE_RESULTS.md`` of the project's shared notes, which
summarises the papers; the scale of each measurement travels with it.
"""

from cegbench import Finding

GUNDLACH = "Gundlach et al. 2025"
GUNDLACH_URL = "https://arxiv.org/abs/2511.21622"
SANDERSON = "Sanderson et al. 2025"
SANDERSON_URL = "https://arxiv.org/abs/2505.04075"

GUNDLACH_ABLATION_SCALE = (
    "ablation of a 3.6 M-parameter Transformer (64 wide, 4 layers), 20 tokens per parameter, "
    "C4 with GPT-2 tokens, context 128, one seed; CEG read at validation loss ≈ 5.3"
)
SANDERSON_COMPACT_SCALE = (
    "compact nanoGPT: 6 layers, width 384, context 512, ~30 M parameters, ~2.5e18 FLOPs; "
    "OpenWebText with GPT-2 tokens, one seed"
)
SANDERSON_FULL_SCALE = (
    "full nanoGPT: 10 layers, width 768, context 1024, ~110 M parameters, ~2e19 FLOPs; "
    "OpenWebText with GPT-2 tokens, one seed"
)
SANDERSON_NOTE = (
    "CEG = ratio of steps for baseline and variant to reach the baseline's final smoothed "
    "validation loss"
)


def gundlach_ablation(ceg: float, note: str = "", label: str | None = None) -> Finding:
    """A CEG from Gundlach et al.'s single-scale ablation table; the table itself assigns
    no class, so ``label`` is set only where the paper's scaling fits give one."""
    return Finding(source=GUNDLACH, url=GUNDLACH_URL, scale=GUNDLACH_ABLATION_SCALE, ceg=ceg,
                   label=label, params=3.6e6,
                   note=note or "single-scale ablation: the table assigns no class")


def sanderson(compact: float, full: float, note: str = "") -> tuple[Finding, Finding]:
    """Sanderson et al.'s CEG on the compact and the full model (no class assigned per row)."""
    note = f"{note}; {SANDERSON_NOTE}" if note else SANDERSON_NOTE
    return (
        Finding(source=SANDERSON, url=SANDERSON_URL, scale=SANDERSON_COMPACT_SCALE, ceg=compact,
                flops=2.5e18, params=3e7, note=note),
        Finding(source=SANDERSON, url=SANDERSON_URL, scale=SANDERSON_FULL_SCALE, ceg=full,
                flops=2e19, params=1.1e8, note=note),
    )
