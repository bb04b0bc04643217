"""Figures of a calibration: prior against posterior, predictive checks.

Plotting lives outside the core: only ``negsim calibrate --report`` imports this.
Colours are the Okabe–Ito palette (safe for colour-blind readers); the prior and the
posterior also differ by fill and line style, so the figures read in grey print.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.calibration.evidence import Prior  # noqa: E402
from sim.fileio import write_atomically

PRIOR, POSTERIOR, BASE = "#999999", "#0072B2", "#E69F00"


def parameters_figure(prior: Prior, particles: np.ndarray, weights: np.ndarray,
                      table: pd.DataFrame, path: Path) -> Path:
    """One panel per parameter: prior and posterior histograms, the contraction."""
    k = len(prior.keys)
    cols = 3
    rows = int(np.ceil(k / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(12, 3.0 * rows), squeeze=False)
    prior_sample = prior.sample(50_000, np.random.default_rng(0))
    for j, key in enumerate(prior.keys):
        ax = axes.flat[j]
        bins = np.linspace(prior.low[j], prior.high[j], 31)
        ax.hist(prior_sample[:, j], bins=bins, density=True, color=PRIOR, alpha=0.5,
                label="prior")
        ax.hist(particles[:, j], bins=bins, weights=weights, density=True, histtype="step",
                linewidth=2, color=POSTERIOR, label="posterior")
        short = key.replace("parties.", "").replace("issues.", "")
        ax.set_title(f"{short}\ncontraction {table['contraction'].iloc[j]:.2f}", fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[k:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("Prior (grey, filled) and ABC-SMC posterior (blue line) of each parameter")
    fig.tight_layout()
    write_atomically(path, partial(fig.savefig, format=path.suffix[1:], dpi=110))
    plt.close(fig)
    return path


def predictive_figure(posterior: pd.DataFrame, base: pd.DataFrame, title: str,
                      path: Path) -> Path:
    """P(reported fact reproduced) under the posterior and under the prior (the base
    rate), fact by fact; a reported fact is where the bars should be long."""
    labels = [f"{r} · {f}" for r, f in zip(posterior["round"], posterior["fact"], strict=True)]
    y = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(labels) + 1.5))
    ax.barh(y + 0.2, posterior["p"], height=0.4, color=POSTERIOR, label="posterior predictive")
    ax.barh(y - 0.2, base["p"], height=0.4, color=BASE, hatch="//", label="prior (base rate)")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability that a simulated round reproduces the reported fact")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    write_atomically(path, partial(fig.savefig, format=path.suffix[1:], dpi=110))
    plt.close(fig)
    return path


def outcome_figure(outcomes: dict[str, pd.DataFrame], facts: dict[str, list], path: Path,
                   columns: list[str]) -> Path:
    """Posterior predictive distributions of the counted outcomes (``columns``: the
    value columns of count and share issues, and the duration) of each round, with the
    reported values marked (a line or a shaded range)."""
    rounds = list(outcomes)
    fig, axes = plt.subplots(len(rounds), len(columns), figsize=(12, 3.2 * len(rounds)),
                             squeeze=False)
    for i, name in enumerate(rounds):
        for j, column in enumerate(columns):
            ax = axes[i][j]
            values = outcomes[name][column].to_numpy(dtype=float)
            values = values[~np.isnan(values)]
            if not values.size:
                ax.text(0.5, 0.5, "never agreed\n(not on this round's agenda?)",
                        ha="center", va="center", transform=ax.transAxes, fontsize=9)
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                ax.hist(values, bins=30, color=POSTERIOR, alpha=0.8)
            for fact in facts[name]:
                if fact.column == column:
                    if fact.low == fact.high:
                        ax.axvline(fact.low, color="black", linestyle="--", label="reported")
                    else:
                        ax.axvspan(fact.low, fact.high, color=BASE, alpha=0.35,
                                   label="reported range")
                    ax.legend(fontsize=7)
            ax.set_title(f"{name}: {column}" + (" (where agreed)" if column != "duration_minutes"
                                                else ""), fontsize=9)
            ax.tick_params(labelsize=8)
    fig.suptitle("Posterior predictive outcomes, reported values marked")
    fig.tight_layout()
    write_atomically(path, partial(fig.savefig, format=path.suffix[1:], dpi=110))
    plt.close(fig)
    return path
