"""Charts for the monthly series: unicode bars for the terminal, a PNG via matplotlib.

The terminal chart is plain text (eighth-block characters), so it costs nothing to
import. matplotlib is imported only inside :func:`write_png`, with the Agg backend
(no display needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

_EIGHTHS = " ▏▎▍▌▋▊▉"
FULL = "█"


def bar(value: float, top: float, width: int) -> str:
    """A horizontal bar ``value / top`` of ``width`` cells, in eighths of a cell."""
    if top <= 0 or value <= 0:
        return ""
    eighths = round(value / top * width * 8)
    eighths = max(eighths, 1)  # a non-zero value always shows
    full, part = divmod(eighths, 8)
    return FULL * full + (_EIGHTHS[part] if part else "")


def terminal_bars(title: str, rows: Sequence[tuple[str, int]], *, width: int = 40) -> list[str]:
    """Lines of a labelled bar chart: ``label │bar value``."""
    if not rows:
        return [title, "  (no data)"]
    top = max((v for _, v in rows), default=0)
    lw = max(len(label) for label, _ in rows)
    vw = max(len(f"{v:,}") for _, v in rows)
    out = [title]
    for label, v in rows:
        b = bar(v, top, width)
        out.append(f"  {label:<{lw}} │{b:<{width}} {v:>{vw},}")
    return out


def write_png(path: Path, *, title: str, months: Sequence[str], series: dict[str, Sequence[int]],
              line: tuple[str, Sequence[int]] | None = None) -> Path:
    """Grouped bars of ``series`` per month; ``line`` (e.g. active members) in a panel below."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    path = Path(path)
    n = len(series) or 1
    width = 0.8 / n
    colors = ["#2e7d32", "#1565c0", "#c62828", "#6d4c41", "#6a1b9a"]
    xs = list(range(len(months)))
    rows = 2 if line is not None else 1
    fig, axes = plt.subplots(rows, 1, sharex=True, squeeze=False,
                             figsize=(max(8.0, 0.75 * len(months) + 3), 6.5 if rows == 2 else 5.0), dpi=110,
                             gridspec_kw={"height_ratios": [3, 1][:rows]})
    try:
        ax = axes[0][0]
        for i, (name, values) in enumerate(series.items()):
            offs = [x - 0.4 + width * (i + 0.5) for x in xs]
            ax.bar(offs, list(values), width=width, label=name, color=colors[i % len(colors)])
        ax.set_ylabel("points")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{int(v):,}"))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.01), ncol=n, frameon=False, borderaxespad=0)
        ax.set_title(title, loc="left", pad=8)
        bottom = ax
        if line is not None:
            bottom = axes[1][0]
            lname, lvalues = line
            bottom.bar(xs, list(lvalues), width=0.5, color="#ef6c00")
            bottom.set_ylabel(lname)
            bottom.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
            bottom.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{int(v):,}"))
            bottom.set_ylim(bottom=0)
            bottom.grid(axis="y", alpha=0.3)
            bottom.set_axisbelow(True)
        bottom.set_xticks(xs)
        slanted = len(months) > 6
        bottom.set_xticklabels(list(months), rotation=45 if slanted else 0, ha="right" if slanted else "center")
        fig.tight_layout()
        from crm_cli.fileio.outfile import atomic_write

        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
    return path
