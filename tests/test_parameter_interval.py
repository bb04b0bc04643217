"""How much an event's probability varies across posterior draws
(``sim.stats.intervals.parameter_interval``): recovered from rounds whose per-draw
probabilities are known, and reported by a batch that draws from a posterior."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import stats

from sim.batch.chunks import run_chunk
from sim.scenario.load import load_scenario
from sim.stats.intervals import parameter_interval
from sim.stats.summary import format_table, summarise

ROOT = Path(__file__).resolve().parent.parent


def test_recovers_the_spread_of_known_per_draw_probabilities():
    """Per-draw probabilities from Beta(2, 6), 5-14 rounds of each of 1,000 draws: the
    10% and 90% quantiles of Beta(2, 6) are recovered. Over 200 seeds the estimator's
    error has mean below 0.002 and standard deviation 0.007 (low) and 0.013 (high); the
    tolerance is four of those. The per-draw shares themselves, binomial noise left in,
    are far off — what the estimator takes out."""
    rng = np.random.default_rng(7)
    runs = rng.integers(5, 15, 1000)
    hits = rng.binomial(runs, rng.beta(2.0, 6.0, runs.size))
    low, high = parameter_interval(hits, runs)
    true_low, true_high = stats.beta.ppf([0.1, 0.9], 2.0, 6.0)
    assert abs(low - true_low) < 4 * 0.007 and abs(high - true_high) < 4 * 0.013
    naive_low, naive_high = np.quantile(hits / runs, [0.1, 0.9])
    assert naive_high - naive_low > (high - low) + 0.1


def test_no_spread_where_every_draw_has_the_same_probability():
    """All draws at p = 0.3, 10 rounds each of 2,000 draws: the between-draw variance
    is what binomial noise explains, and the range collapses onto p. Over 300 seeds the
    width is 0 in half of them and at most 0.113 (99th percentile 0.101), where the
    per-draw shares span 0.1 to 0.5."""
    rng = np.random.default_rng(3)
    runs = np.full(2000, 10)
    hits = rng.binomial(runs, 0.3)
    low, high = parameter_interval(hits, runs)
    assert low <= hits.sum() / runs.sum() <= high and high - low < 0.12
    assert np.quantile(hits / runs, [0.1, 0.9]).tolist() == [0.1, 0.5]


def test_limits_nothing_to_estimate_and_certain_events():
    assert parameter_interval(np.array([3]), np.array([10])) is None  # one draw
    assert parameter_interval(np.array([0, 0, 0]), np.array([1, 1, 1])) is None  # 1 round each
    assert parameter_interval(np.array([0, 0]), np.array([5, 7])) == (0.0, 0.0)
    assert parameter_interval(np.array([5, 7]), np.array([5, 7])) == (1.0, 1.0)
    # draws with no rounds do not count
    assert parameter_interval(np.array([0, 2, 0]), np.array([0, 4, 0])) is None


def test_draws_whose_probability_is_0_or_1_give_the_bernoulli_limit():
    """Each draw's rounds all hit or all miss (rho = 1): the beta's limit is a draw's
    probability 0 or 1, 1 with probability p; its 10% and 90% quantiles are 0 and 1
    where 0.1 < p < 0.9 and collapse onto 0 (or 1) outside."""
    assert parameter_interval(np.array([0, 10, 0, 0]), np.array([10] * 4)) == (0.0, 1.0)
    assert parameter_interval(np.array([0] * 19 + [10]), np.array([10] * 20)) == (0.0, 0.0)
    assert parameter_interval(np.array([10] * 19 + [0]), np.array([10] * 20)) == (1.0, 1.0)


def test_a_rare_event_over_draws_of_one_or_two_rounds_is_a_number():
    """About one round a draw (the June batch of 700 rounds over 424 draws): the ANOVA
    estimator can put rho at or past 1, where the beta's quantiles are not numbers; the
    range is still two numbers in [0, 1] (summary.json must stay valid JSON)."""
    rng = np.random.default_rng(11)
    for _ in range(200):
        runs = rng.integers(1, 3, 400)
        hits = rng.binomial(runs, rng.uniform(0, 0.02))
        interval = parameter_interval(hits, runs)
        assert interval is None or all(0.0 <= x <= 1.0 for x in interval)


def test_a_batch_from_a_posterior_reports_the_range_and_one_without_does_not():
    june = load_scenario(ROOT / "scenarios" / "june-20-30-2025.toml")
    summary = summarise(run_chunk(june, 1, 0, 0, 3000), june, 1)
    for event in summary["events"].values():
        if event["on_agenda"]:  # a rare event's p90 may lie below its mean (skewed)
            assert 0.0 <= event["parameter_p10"] <= event["parameter_p90"] <= 1.0
    ceasefire = summary["events"]["ceasefire_any"]
    assert ceasefire["parameter_p10"] < ceasefire["p"] < ceasefire["parameter_p90"]
    assert "across draws, 10-90%" in format_table(summary)
    classroom = load_scenario(ROOT / "scenarios" / "classroom-two-party.toml")
    plain = summarise(run_chunk(classroom, 1, 0, 0, 500), classroom, 1)
    assert all(e["parameter_p10"] is None and e["parameter_p90"] is None
               for e in plain["events"].values())
    assert "across draws" not in format_table(plain)


def test_the_beta_quantiles_are_scipy_stats_beta_s():
    """``parameter_interval`` takes the matched beta's quantiles from
    ``scipy.special.betaincinv`` (scipy.stats costs half a second to import): the same
    numbers as ``scipy.stats.beta.ppf``. Four draws of 100 rounds with per-draw shares
    0.1, 0.3, 0.5, 0.7: rho from the ANOVA estimator, a beta of mean 0.4."""
    runs = np.full(4, 100.0)
    hits = np.array([10.0, 30.0, 50.0, 70.0])
    low, high = parameter_interval(hits, runs)
    p, total, groups = 0.4, 400.0, 4
    share = hits / runs
    between = (runs * (share - p) ** 2).sum() / (groups - 1)
    within = (runs * share * (1 - share)).sum() / (total - groups)
    n0 = (total - (runs**2).sum() / total) / (groups - 1)
    rho = (between - within) / (between + (n0 - 1) * within)
    concentration = (1 - rho) / rho
    expected = stats.beta.ppf([0.1, 0.9], p * concentration, (1 - p) * concentration)
    np.testing.assert_allclose([low, high], expected, rtol=1e-12)
