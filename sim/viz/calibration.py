"""Figures of a calibration: prior against posterior, predictive checks. Data in,
``Figure`` out.

- ``parameters_figure``: one panel per parameter, its prior and its posterior;
- ``predictive_figure``: the probability of each reported fact under the posterior
  and under the prior (the base rate);
- ``outcome_figure``: the posterior predictive distribution of each quantity of each
  round, with what was reported marked.

On the house style (``sim.viz.style``): Okabe–Ito colours, and the prior and the
posterior also differ by fill, hatch and line, so the figures read in grey print;
figures on the Agg canvas, never ``pyplot``. Only ``negsim calibrate --report`` draws
them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter, StrMethodFormatter

from sim.calibration.evidence import Fact, Prior
from sim.stats.numbers import percent
from sim.viz.style import (
    GREY,
    HATCHES,
    PALETTE,
    house_style,
    legend_columns,
    new_figure,
    note,
    percent_axis,
)

#: The posterior (the fit) takes the first colour; the prior, the base rate it must
#: beat, the second with a hatch; what was reported is drawn in black.
POSTERIOR, PRIOR = PALETTE[0], PALETTE[1]
PRIOR_HATCH = HATCHES[1]
REPORTED = "black"

#: Prior draws behind each parameter's histogram.
PRIOR_DRAWS = 50_000


def _short(key: str) -> str:
    """A scenario key as a panel title: without the ``parties.`` and ``issues.`` steps."""
    return key.replace("parties.", "").replace("issues.", "")


def parameters_figure(prior: Prior, particles: np.ndarray, weights: np.ndarray,
                      table: pd.DataFrame) -> Figure:
    """One panel per parameter: the prior (grey, filled) and the weighted posterior (a
    line), as densities over the prior's support; each titled with its contraction
    (``sim.calibration.checks.identifiability``)."""
    k = len(prior.keys)
    cols = 3
    rows = int(np.ceil(k / cols))
    prior_sample = prior.sample(PRIOR_DRAWS, np.random.default_rng(0))
    contraction = table.set_index("parameter")["contraction"]
    with house_style():
        figure = new_figure(12, 2.7 * rows + 1.2)
        axes = figure.subplots(rows, cols, squeeze=False)
        for j, key in enumerate(prior.keys):
            ax = axes.flat[j]
            bins = np.linspace(prior.low[j], prior.high[j], 31)
            ax.hist(prior_sample[:, j], bins=bins, density=True, color=GREY, alpha=0.35,
                    linewidth=0)
            density, _ = np.histogram(particles[:, j], bins=bins, weights=weights,
                                      density=True)
            ax.stairs(density, bins, color=POSTERIOR, linewidth=2)
            ax.set_title(f"{_short(key)}\ncontraction {contraction[key]:.2f}")
            if j % cols == 0:
                ax.set_ylabel("density")
        for ax in list(axes.flat)[k:]:
            ax.set_visible(False)
        figure.legend(handles=[Patch(facecolor=GREY, alpha=0.35, label="prior"),
                               Line2D([], [], color=POSTERIOR, linewidth=2,
                                      label=f"posterior ({len(weights):,} weighted particles)")],
                      loc="outside lower center", ncols=2)
        figure.suptitle("Prior and ABC-SMC posterior of each parameter (contraction: "
                        "1 \u2212 posterior variance / prior variance)")
    return figure


def predictive_figure(posterior: pd.DataFrame, base: pd.DataFrame, title: str) -> Figure:
    """P(reported fact reproduced) under the posterior and under the prior (the base
    rate), fact by fact, each bar labelled with its value; a fit that reproduces the
    reports has long bars, longer than the prior's."""
    labels = [f"{r} \u00b7 {f}" for r, f in zip(posterior["round"], posterior["fact"],
                                                 strict=True)]
    y = np.arange(len(labels))
    with house_style():
        figure = new_figure(9.5, 0.34 * len(labels) + 1.8)
        ax = figure.add_subplot()
        for offset, table, colour, hatch, name in (
                (-0.2, posterior, POSTERIOR, "", "posterior predictive"),
                (0.2, base, PRIOR, PRIOR_HATCH, "prior (base rate)")):
            p = 100 * table["p"].to_numpy(dtype=float)
            ax.barh(y + offset, p, height=0.4, color=colour, hatch=hatch,
                    edgecolor="white" if hatch else colour, linewidth=0, label=name)
            for yy, value in zip(y + offset, p, strict=True):
                ax.text(min(value, 100) + 0.8, yy, percent(value / 100), va="center",
                        fontsize=7, color="#333333")
        rounds = posterior["round"].to_numpy()
        for boundary in np.flatnonzero(rounds[1:] != rounds[:-1]):
            ax.axhline(boundary + 0.5, color="#cccccc", linewidth=0.8)
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_xlim(0, 112)
        ax.set_xticks(range(0, 101, 20))
        ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
        ax.set_xlabel("probability that a simulated round reproduces the reported fact")
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        figure.legend(loc="outside lower center", ncols=2)
        figure.suptitle(title)
    return figure


def outcome_figure(outcomes: dict[str, pd.DataFrame], facts: dict[str, list[Fact]],
                   quantities: dict[str, str]) -> Figure:
    """The posterior predictive distribution of each quantity (``quantities``: results
    column -> label; the summary's ``Measures``) of each round, as a share of the
    simulated rounds counted (where its issue was agreed), with the reported value (a
    line) or range (a hatched band) marked."""
    columns = list(quantities)
    rounds = list(outcomes)
    with house_style():
        figure = new_figure(12, 2.9 * len(rounds) + 1.2)
        axes = figure.subplots(len(rounds), len(columns), squeeze=False)
        for i, name in enumerate(rounds):
            for j, column in enumerate(columns):
                ax = axes[i][j]
                label = quantities[column]
                if column not in outcomes[name]:
                    note(ax, f"{name}: {label}\nnot an outcome of this round")
                    continue
                values = outcomes[name][column].to_numpy(dtype=float)
                values = values[~np.isnan(values)]
                if not values.size:
                    note(ax, f"{name}: {label}\nin no simulated round")
                    continue
                bins = _bins(values)
                ax.hist(values, bins=bins, weights=np.full(values.size, 100 / values.size),
                        color=POSTERIOR, linewidth=0,
                        rwidth=1.0 if isinstance(bins, int) else 0.8)  # gaps: a lattice
                for fact in facts[name]:
                    if fact.column != column:
                        continue
                    if fact.low == fact.high:
                        ax.axvline(fact.low, color=REPORTED, linestyle="--", linewidth=1.8,
                                   zorder=3)
                    else:
                        ax.axvspan(fact.low, fact.high, facecolor="none", edgecolor=REPORTED,
                                   hatch=PRIOR_HATCH, linewidth=1.2, zorder=3)
                percent_axis(ax.yaxis)
                ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
                ax.set_title(f"{name}: {label}")
                if j == 0:
                    ax.set_ylabel("share of simulated rounds")
        figure.legend(handles=[Patch(color=POSTERIOR, label="posterior predictive"),
                               Line2D([], [], color=REPORTED, linestyle="--", linewidth=1.8,
                                      label="reported value"),
                               Patch(facecolor="none", edgecolor=REPORTED, hatch=PRIOR_HATCH,
                                     label="reported range")],
                      loc="outside lower center",
                      ncols=legend_columns(["posterior predictive", "reported value",
                                            "reported range"]))
        figure.suptitle("Posterior predictive outcomes of each round, with what was reported")
    return figure


def _bins(values: np.ndarray) -> np.ndarray | int:
    """One bin per lattice step, centred on the values, where the values are few
    (agreed counts land on their issue's lattice); else 30 bins."""
    distinct = np.unique(values)
    if distinct.size == 1:
        return np.array([distinct[0] - 0.5, distinct[0] + 0.5])
    step = np.min(np.diff(distinct))
    if distinct.size > 40 or (distinct[-1] - distinct[0]) / step > 60:
        return 30
    return np.arange(distinct[0] - step / 2, distinct[-1] + step, step)


def protocols_figure(result: dict) -> Figure:
    """The models of the rounds side by side (``protocols.json``, from
    ``sim.report.protocols.compare``): left, each reported fact's posterior predictive
    probability under each model; top right, each model's forecast of the last round
    fitted on the others (sum of log scores, against the base rate); bottom right,
    the ABC model choice's posterior probability of each model at each tolerance.
    Each model keeps its colour and hatch in every panel."""
    models = result["models"]
    labels = [m["label"] for m in models]
    styles = [{"color": PALETTE[k % len(PALETTE)], "hatch": HATCHES[k % len(HATCHES)]}
              for k in range(len(models))]
    first = models[0]["checks"]["posterior_predictive"]
    facts = [f"{row['round']} \u00b7 {row['fact']}" for row in first]
    with house_style():
        figure = new_figure(13, max(7.5, 0.42 * len(facts) * (0.6 + 0.2 * len(models))))
        grid = figure.add_gridspec(2, 2, width_ratios=(1.35, 1))
        _facts_panel(figure.add_subplot(grid[:, 0]), models, facts, styles)
        _held_out_panel(figure.add_subplot(grid[0, 1]), models, styles)
        _choice_panel(figure.add_subplot(grid[1, 1]), result["model_choice"], models, styles)
        figure.legend(handles=[Patch(facecolor=s["color"], hatch=s["hatch"],
                                     edgecolor="white", label=label)
                               for s, label in zip(styles, labels, strict=True)],
                      loc="outside lower center", ncols=legend_columns(labels))
        figure.suptitle("Which model of the rounds the reports favour: posterior "
                        "predictive, held-out forecast, ABC model choice")
    return figure


def _bar(ax, y, width, height, style, **extra):
    return ax.barh(y, width, height=height, color=style["color"], hatch=style["hatch"],
                   edgecolor="white" if style["hatch"] else style["color"], linewidth=0,
                   **extra)


def _facts_panel(ax, models: list[dict], facts: list[str], styles: list[dict]) -> None:
    k = len(models)
    height = 0.8 / k
    y = np.arange(len(facts))
    for j, (model, style) in enumerate(zip(models, styles, strict=True)):
        p = 100 * np.array([row["p"] for row in model["checks"]["posterior_predictive"]])
        offset = (j - (k - 1) / 2) * height
        _bar(ax, y + offset, p, height, style)
        for yy, value in zip(y + offset, p, strict=True):
            ax.text(min(value, 100) + 0.8, yy, percent(value / 100), va="center",
                    fontsize=6, color="#333333")
    rounds = [f.split(" \u00b7 ")[0] for f in facts]
    for boundary in [i for i in range(1, len(rounds)) if rounds[i] != rounds[i - 1]]:
        ax.axhline(boundary - 0.5, color="#cccccc", linewidth=0.8)
    ax.set_yticks(y, facts, fontsize=8)
    ax.set_ylim(len(facts) - 0.5, -0.5)
    ax.set_xlim(0, 115)
    ax.set_xticks(range(0, 101, 20))
    ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_xlabel("posterior predictive probability of the reported fact")
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_title("Each reported fact, each model fitted to both rounds")


def _held_out_panel(ax, models: list[dict], styles: list[dict]) -> None:
    held = [m["checks"].get("leave_last_round_out") for m in models]
    if any(h is None for h in held):
        note(ax, "one round only: no round to hold out")
        return
    y = np.arange(len(models))
    fit = np.array([h["sum_log_score_fit"] for h in held])
    base = np.array([h["sum_log_score_base"] for h in held])
    for j, style in enumerate(styles):
        _bar(ax, y[j] - 0.18, fit[j], 0.36, style)
        ax.barh(y[j] + 0.18, base[j], height=0.36, color="none", edgecolor=GREY,
                hatch=PRIOR_HATCH, linewidth=0.8)
        for value, yy in ((fit[j], y[j] - 0.18), (base[j], y[j] + 0.18)):
            ax.text(value, yy, f" {value:.2f} ", va="center", ha="right", fontsize=7,
                    color="#333333")
    ax.set_yticks(y, [m["label"] for m in models], fontsize=8)
    ax.set_ylim(len(models) - 0.5, -0.5)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlim(min(fit.min(), base.min()) * 1.25, 0)
    ax.set_xlabel("sum of log scores of its facts (higher: better)")
    ax.set_title(f"Fitted on {', '.join(held[0]['fitted_on'])}, forecasting "
                 f"{held[0]['held_out']}\n(hatched grey: the prior's forecast)")


def _choice_panel(ax, chosen: dict, models: list[dict], styles: list[dict]) -> None:
    rows = chosen["by_tolerance"]
    y = np.arange(len(rows))
    for i, row in enumerate(rows):
        left = 0.0
        for model, style in zip(models, styles, strict=True):
            share = row["probability"][model["key"]]
            if not share:
                continue
            _bar(ax, y[i], 100 * share, 0.6, style, left=left)
            if share >= 0.08:
                ax.text(left + 50 * share, y[i], percent(share), ha="center", va="center",
                        fontsize=7, color="white", fontweight="bold")
            left += 100 * share
        if left == 0:
            ax.text(50, y[i], "no model reproduced the reports", ha="center", va="center",
                    fontsize=7, color=GREY)
    ax.set_yticks(y, [f"\u03b5 = {row['tolerance']:g}\n"
                      f"({sum(row['accepted'].values()):,} accepted)" for row in rows],
                  fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_xlabel("posterior probability of each model (equal prior odds)")
    ax.set_title(f"ABC model choice, {chosen['draws']:,} prior draws per model\n"
                 "(\u03b5 = 0: every reported fact reproduced)")
