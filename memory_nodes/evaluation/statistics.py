"""Paired statistics for the task evaluation: exact McNemar, paired bootstrap, power.

Every memory condition runs the same tasks (same homes, seeds, planner), so two conditions
are compared task by task rather than as two independent samples:

- success: the exact McNemar test on the discordant pairs (tasks one condition solved and
  the other did not);
- exploration, path length, robot time, tokens: a paired bootstrap of the difference of
  the per-task means and of the relative change (ratio of the means - 1), resampling the
  pairs (or whole clusters of pairs, e.g. episodes) with replacement;
- power: how many paired tasks a given difference would need (normal approximations,
  formulas in the docstrings).

Pure functions of plain numbers (no `TaskRecord`, no simulator), so tests can pin them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

NAN = float('nan')
ALPHA = 0.05
POWER = 0.8
RESAMPLES = 10_000
SEED = 20_240_601


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for `b` and `c` discordant pairs.

    Under H0 each discordant pair goes either way with probability 1/2, so
    p = min(1, 2 * P[X <= min(b, c)]) with X ~ Binomial(b + c, 1/2); p = 1 when there are
    no discordant pairs (nothing tells the conditions apart).
    """
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2 ** n
    return min(1.0, 2.0 * tail)


@dataclass
class BootstrapResult:
    """A paired difference of means and its relative change, each with a percentile CI."""

    mean_a: float
    mean_b: float
    diff: float  # mean_a - mean_b
    diff_low: float
    diff_high: float
    rel: float  # mean_a / mean_b - 1 (NaN when mean_b is 0)
    rel_low: float
    rel_high: float
    units: int  # what was resampled: pairs, or clusters of pairs

    @property
    def significant(self) -> bool:
        """The 95 % interval of the difference excludes 0."""
        return self.diff_low > 0 or self.diff_high < 0


@functools.lru_cache(maxsize=32)
def _resample_weights(units: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples x units) counts: how often each unit is drawn in each resample.

    Cached because a results page asks for the same draws for every comparison of the same
    size (same seed, same number of units); callers must not modify the array.
    """
    rng = np.random.default_rng(seed)
    return rng.multinomial(units, np.full(units, 1.0 / units), size=resamples)


def paired_bootstrap(a: Sequence[float], b: Sequence[float],
                     clusters: Sequence[object] | None = None, *,
                     resamples: int = RESAMPLES, seed: int = SEED,
                     level: float = 0.95) -> BootstrapResult:
    """Percentile bootstrap CI of mean(a) - mean(b) and of mean(a) / mean(b) - 1.

    `a[i]` and `b[i]` are one pair (the same task under two conditions). Each resample
    draws the pairs with replacement, or, with `clusters` (a label per pair), whole
    clusters with replacement, so pairs that share a cluster stay together. The same
    resamples serve both statistics. With fewer than 2 units the intervals are NaN (one
    unit resampled is always itself, which would give a zero-width interval).
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f'paired samples differ in length: {len(x)} vs {len(y)}')
    labels = list(range(len(x))) if clusters is None else list(clusters)
    if len(labels) != len(x):
        raise ValueError('one cluster label per pair is needed')
    index = {lab: k for k, lab in enumerate(dict.fromkeys(labels))}
    units = len(index)
    mean_a = float(x.mean()) if len(x) else NAN
    mean_b = float(y.mean()) if len(y) else NAN
    rel = mean_a / mean_b - 1.0 if len(y) and mean_b else NAN
    if units < 2:
        return BootstrapResult(mean_a, mean_b, mean_a - mean_b, NAN, NAN, rel, NAN, NAN,
                               units)
    member = np.array([index[lab] for lab in labels])
    sum_a = np.bincount(member, weights=x, minlength=units)
    sum_b = np.bincount(member, weights=y, minlength=units)
    count = np.bincount(member, minlength=units).astype(float)
    w = _resample_weights(units, resamples, seed)
    n = w @ count
    boot_a, boot_b = (w @ sum_a) / n, (w @ sum_b) / n
    tails = [(1 - level) / 2, 1 - (1 - level) / 2]
    d_lo, d_hi = np.quantile(boot_a - boot_b, tails)
    r_lo = r_hi = NAN
    if not math.isnan(rel):
        with np.errstate(divide='ignore', invalid='ignore'):
            # A resample whose baseline mean is 0 has an infinite change; it stays in the
            # resamples (dropping it would narrow the interval).
            ratio = np.where(boot_b > 0, boot_a / boot_b - 1.0,
                             np.where(boot_a > 0, np.inf, 0.0))
        r_lo, r_hi = np.quantile(ratio, tails)
    return BootstrapResult(mean_a, mean_b, mean_a - mean_b, float(d_lo), float(d_hi), rel,
                           float(r_lo), float(r_hi), units)


def _z(p: float) -> float:
    return NormalDist().inv_cdf(p)


def mcnemar_sample_size(discordance: float, delta: float = 0.1, alpha: float = ALPHA,
                        power: float = POWER) -> int:
    """Paired tasks the McNemar test needs to detect a success-rate difference `delta`.

    Connor's (1987) normal approximation, with psi the share of discordant pairs
    (p10 + p01) and delta = p10 - p01:

        n = (z_{1-alpha/2} * sqrt(psi) + z_{power} * sqrt(psi - delta^2))^2 / delta^2

    A difference `delta` needs at least `delta` discordance (every discordant pair one
    way), so psi = max(observed discordance, delta): the observed share when it is larger,
    the smallest possible one otherwise (which gives the smallest n).
    """
    psi = max(discordance, delta)
    root = _z(1 - alpha / 2) * math.sqrt(psi) + _z(power) * math.sqrt(psi - delta * delta)
    return math.ceil(root * root / (delta * delta))


def paired_sample_size(sd_diff: float, delta: float, alpha: float = ALPHA,
                       power: float = POWER) -> float:
    """Paired tasks a two-sided test of mean difference `delta` needs, at sd `sd_diff`.

    Normal approximation for paired differences d_i with standard deviation sigma_d:

        n = ((z_{1-alpha/2} + z_{power}) * sigma_d / delta)^2

    NaN when sigma_d or delta is 0 or NaN (no variance to size against).
    """
    if not sd_diff or not delta or math.isnan(sd_diff) or math.isnan(delta):
        return NAN
    root = (_z(1 - alpha / 2) + _z(power)) * sd_diff / abs(delta)
    return math.ceil(root * root)


def paired_sd(a: Sequence[float], b: Sequence[float]) -> tuple[float, bool]:
    """Sample sd of the paired differences a - b, and whether it is the fallback.

    When the differences have no variance (two conditions behaved the same on every task)
    a power calculation against them would say "one task suffices"; the fallback is then
    sqrt(var(a) + var(b)), the sd of the difference of uncorrelated tasks, which is larger
    than the paired sd whenever the pairs correlate positively (the usual case).
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) < 2:
        return NAN, False
    sd = float(np.std(x - y, ddof=1))
    if sd > 0:
        return sd, False
    return float(math.sqrt(np.var(x, ddof=1) + np.var(y, ddof=1))), True
