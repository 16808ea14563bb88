"""Scaling-law fit of the frontier: L*(C) = E + A·C^(−α), both arms at once.

Following Chinchilla (approach 3) and Besiroglu et al. 2024, the fit minimises a Huber
loss of log-space residuals

    r = log(E + A·C^(−α)) − log L*_observed

with E = exp(e), A = exp(a), α > 0 and E below the smallest observed loss, starting
from a small grid of initialisations and keeping the best start that converged. By
default the irreducible loss E is shared by the two arms (same data, same tokenizer),
so the fit has 5 parameters: E, A_baseline, α_baseline, A_modern, α_modern; with
``shared_E=False`` each arm has its own E (6 parameters); with ``fixed_E`` the shared E
is held at a given value (4 free parameters: the sensitivity check "E fixed", a user's
E, or ``fixed_E=0``, the pure power law L = A·C^(−α), a straight line in log-log).

Convergence is judged by the fit, not by the optimiser's evaluation cap (scipy's
``least_squares`` reports ``success=False`` at ``max_nfev`` however good the fit): a
solve that stops at the cap is continued from where it stopped, up to
``MAX_CONTINUATIONS`` times, and accepted once a continuation no longer moves any
prediction by more than ``PREDICTION_TOLERANCE`` in log loss (it was at its optimum, or
crawling along a bound where no prediction changes, e.g. E → 0). A solve whose
predictions still move after that is *stalled*: not converged.

Internally compute is measured relative to C_ref, the geometric mean of the budgets
(x = log C − log C_ref), which keeps A of order one; ``PowerLaw.A`` is reported in
FLOPs units: A = A_ref · C_ref^α.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from .ceg import compute_equivalent_gain

# Huber threshold on log residuals. Chinchilla used 1e-3 on single runs; frontier points
# here are seed means whose log noise is typically 1e-3..1e-2, and at 1e-3 the loss is
# L1-like: the bootstrap then under-covered (86 % for a nominal 95 %) and warm-started
# refits stalled. 1e-2 is least squares for ordinary noise, linear for outlying points.
DEFAULT_F_SCALE = 1e-2
ALPHA_BOUNDS = (1e-6, 5.0)
# A fitted parameter this close to a bound is "at its bound" (``ScalingLawFitter.at_bounds``):
# α within ×(1 ± ALPHA_BOUND_TOLERANCE) of a limit — α below 1e-3 is no power law —, E
# below E_ZERO × the smallest loss (E at 0), or within E_TOP_TOLERANCE of that loss.
ALPHA_LOW_LIMIT = 1e-3
ALPHA_BOUND_TOLERANCE = 1e-3
E_ZERO = 1e-3
E_TOP_TOLERANCE = 1e-4
# Function evaluations per solve before its predictions are checked: a solve that stops
# here is continued from its end point up to MAX_CONTINUATIONS times (MAX_NFEV evaluations
# each) and accepted as soon as a continuation moves no prediction by more than
# PREDICTION_TOLERANCE (log loss). On the cpu v3 runs 7 of adam-to-adamw's 20 starts
# stopped at 200 evaluations with a cost 4× lower than any start scipy called a success.
MAX_NFEV = 200
MAX_CONTINUATIONS = 4
PREDICTION_TOLERANCE = 1e-6
E_STARTS = (0.2, 0.5, 0.8, 0.95)  # fractions of the smallest observed loss
ALPHA_STARTS = (0.02, 0.05, 0.1, 0.3, 1.0)


@dataclass(frozen=True)
class ScalingFit:
    """Fitted law of one arm with 95 % bootstrap intervals on α and E."""

    arm: str
    E: float
    A: float
    alpha: float
    alpha_low: float
    alpha_high: float
    E_low: float
    E_high: float


@dataclass(frozen=True)
class PowerLaw:
    """L(C) = E + A·C^(−α)."""

    E: float
    A: float
    alpha: float

    def loss(self, compute):
        """E + A·C^(−α), evaluated as E + exp(log A − α·log C) to avoid overflow (A may
        underflow to 0 in a degenerate fit: its excess is then 0)."""
        with np.errstate(divide="ignore"):
            return self.E + np.exp(np.log(self.A) - self.alpha * np.log(compute))


@dataclass(frozen=True)
class JointFit:
    """Result of one joint fit: a law per arm, and how well the optimiser did."""

    laws: dict[str, PowerLaw]
    shared_E: bool
    converged: bool
    rss: float  # sum of squared log residuals
    params: np.ndarray  # full internal vector (E included), a warm start for refits
    residuals: np.ndarray  # log predicted − log observed, one per frontier point


class ScalingLawFitter:
    """Fits E + A·C^(−α) to the frontier points of several arms jointly.

    Built once for a fixed set of points (their arm and budget); ``fit(losses)`` then
    fits any vector of frontier losses for those points, e.g. bootstrap replicates.
    """

    def __init__(
        self,
        arms: Sequence[str],
        point_arms: Sequence[str],
        budgets: Sequence[float],
        *,
        shared_E: bool = True,
        fixed_E: float | None = None,
        f_scale: float = DEFAULT_F_SCALE,
    ):
        if fixed_E is not None and not (shared_E and fixed_E >= 0 and np.isfinite(fixed_E)):
            raise ValueError(f"fixed_E needs shared_E and a finite value ≥ 0, got {fixed_E}")
        self.arms = tuple(arms)
        self.shared_E = shared_E
        self.fixed_E = fixed_E
        self.f_scale = f_scale
        self.arm_index = np.array([self.arms.index(a) for a in point_arms])
        log_c = np.log(np.asarray(budgets, dtype=float))
        self.log_c_ref = float(log_c.mean())
        self.x = log_c - self.log_c_ref
        n_arms = len(self.arms)
        # Parameter layout: shared E -> [e, a_0, α_0, a_1, α_1, ...];
        # separate E -> [e_0, a_0, α_0, e_1, a_1, α_1, ...].
        if shared_E:
            self.e_slot = np.zeros(n_arms, dtype=int)
            self.a_slot = 1 + 2 * np.arange(n_arms)
            self.alpha_slot = 2 + 2 * np.arange(n_arms)
        else:
            self.e_slot = 3 * np.arange(n_arms)
            self.a_slot = 1 + 3 * np.arange(n_arms)
            self.alpha_slot = 2 + 3 * np.arange(n_arms)
        self.n_params = 1 + 2 * n_arms if shared_E else 3 * n_arms
        # The optimiser sees the free parameters only; a fixed E stays at log(fixed_E).
        self.free = np.ones(self.n_params, dtype=bool)
        if fixed_E is not None:
            self.free[0] = False
        self._rows = np.arange(len(self.x))

    @property
    def log_fixed_E(self) -> float:
        """log of the fixed E (−inf for the pure power law, E = 0)."""
        return -np.inf if self.fixed_E == 0 else float(np.log(self.fixed_E))

    def _full(self, q: np.ndarray) -> np.ndarray:
        """The full parameter vector from the free ones."""
        if self.fixed_E is None:
            return q
        return np.concatenate([[self.log_fixed_E], q])

    # -- model ---------------------------------------------------------------

    def _point_params(self, p: np.ndarray):
        k = self.arm_index
        return p[self.e_slot[k]], p[self.a_slot[k]], p[self.alpha_slot[k]]

    def log_predicted(self, p: np.ndarray) -> np.ndarray:
        """log(E + A_ref·(C/C_ref)^(−α)) = logaddexp(e, a − α·x) at every point."""
        e, a, alpha = self._point_params(p)
        return np.logaddexp(e, a - alpha * self.x)

    def _residuals(self, q, y):
        return self.log_predicted(self._full(q)) - y

    def _jacobian(self, q, y):
        return self._full_jacobian(self._full(q), y)[:, self.free]

    def _full_jacobian(self, p, y):
        e, a, alpha = self._point_params(p)
        log_pred = np.logaddexp(e, a - alpha * self.x)
        share_e = np.exp(e - log_pred)  # ∂r/∂e
        share_a = np.exp(a - alpha * self.x - log_pred)  # ∂r/∂a
        jac = np.zeros((len(y), self.n_params))
        k = self.arm_index
        jac[self._rows, self.e_slot[k]] = share_e
        jac[self._rows, self.a_slot[k]] = share_a
        jac[self._rows, self.alpha_slot[k]] = -self.x * share_a
        return jac

    # -- bounds and starts ---------------------------------------------------

    def _e_upper_bounds(self, losses: np.ndarray) -> np.ndarray:
        """log of the smallest loss, per E slot: E must stay below it."""
        if self.shared_E:
            return np.array([np.log(losses.min())])
        return np.array([np.log(losses[self.arm_index == k].min()) for k in range(len(self.arms))])

    def _bounds(self, losses: np.ndarray):
        """Bounds on the free parameters."""
        lower = np.full(self.n_params, -np.inf)
        upper = np.full(self.n_params, np.inf)
        e_upper = self._e_upper_bounds(losses) - 1e-9
        e_slots = np.unique(self.e_slot)
        upper[e_slots] = e_upper
        lower[e_slots] = e_upper - 25.0  # E down to ~1e-11 of the smallest loss
        lower[self.alpha_slot], upper[self.alpha_slot] = ALPHA_BOUNDS
        return lower[self.free], upper[self.free]

    def _start(self, losses: np.ndarray, log_e: np.ndarray, alpha: float) -> np.ndarray:
        """A start (free parameters) with log E = ``log_e``, α given, and the best a for those two."""
        p = np.empty(self.n_params)
        p[np.unique(self.e_slot)] = log_e
        for k in range(len(self.arms)):
            mine = self.arm_index == k
            excess = np.maximum(losses[mine] - np.exp(p[self.e_slot[k]]), 1e-12 * losses[mine])
            p[self.a_slot[k]] = np.mean(np.log(excess) + alpha * self.x[mine])
            p[self.alpha_slot[k]] = alpha
        return p[self.free]

    def starts(self, losses: np.ndarray) -> list[np.ndarray]:
        """The grid of initialisations: several E below the min loss × several α."""
        if self.fixed_E is not None:
            return [self._start(losses, self.log_fixed_E, al) for al in ALPHA_STARTS]
        e_upper = self._e_upper_bounds(losses)
        return [self._start(losses, e_upper + np.log(f), al) for f, al in itertools.product(E_STARTS, ALPHA_STARTS)]

    def params_from_laws(self, laws: dict[str, PowerLaw]) -> np.ndarray:
        """The full internal vector of ``laws`` (a warm start for this fitter's points)."""
        p = np.empty(self.n_params)
        for k, arm in enumerate(self.arms):
            law = laws[arm]
            p[self.e_slot[k]] = np.log(law.E) if law.E > 0 else -np.inf
            p[self.a_slot[k]] = np.log(law.A) - law.alpha * self.log_c_ref
            p[self.alpha_slot[k]] = law.alpha
        return p

    # -- fitting -------------------------------------------------------------

    def _least_squares(self, y, start, lower, upper):
        return least_squares(
            self._residuals,
            np.clip(start, lower + 1e-9, upper - 1e-9),
            jac=self._jacobian,
            bounds=(lower, upper),
            loss="huber",
            f_scale=self.f_scale,
            args=(y,),
            method="trf",
            x_scale="jac",
            max_nfev=MAX_NFEV,
        )

    def _solve(self, y, start, lower, upper):
        """One solve from ``start`` and whether it converged, judged by the fit: scipy's
        own criteria (gradient, step, cost change), or, at the evaluation cap, a
        continuation that no longer moves any prediction (see the module docstring)."""
        result = self._least_squares(y, start, lower, upper)
        for _ in range(MAX_CONTINUATIONS):
            if result.success or not np.all(np.isfinite(result.x)):
                break
            before = self.log_predicted(self._full(result.x))
            result = self._least_squares(y, result.x, lower, upper)
            moved = np.max(np.abs(self.log_predicted(self._full(result.x)) - before))
            if moved <= PREDICTION_TOLERANCE:
                return result, bool(np.all(np.isfinite(result.x)))
        return result, bool(result.success and np.all(np.isfinite(result.x)))

    def _best_solution(self, y, starts, lower, upper):
        """The lowest-cost converged solution over ``starts``, or None if none converged."""
        best = None
        for start in starts:
            result, converged = self._solve(y, start, lower, upper)
            if converged and (best is None or result.cost < best.cost):
                best = result
        return best

    def fit(self, losses: Sequence[float], start: np.ndarray | None = None, *, fallback: bool = True) -> JointFit:
        """Fit the frontier losses (one per point, in the order given at construction).

        With ``start`` (``params`` of an earlier fit, e.g. the point estimate for a
        bootstrap replicate) the fit begins there and falls back to the grid only if
        that start fails to converge (never with ``fallback=False``: the bootstrap, whose
        replicates would otherwise cost 20 starts each where the fit runs into a bound).
        """
        losses = np.asarray(losses, dtype=float)
        y = np.log(losses)
        lower, upper = self._bounds(losses)
        best = self._best_solution(y, [start[self.free]], lower, upper) if start is not None else None
        if best is None and (fallback or start is None):
            best = self._best_solution(y, self.starts(losses), lower, upper)
        if best is None:
            nothing = np.full(self.n_params, np.nan)
            return JointFit({}, self.shared_E, False, np.nan, nothing, np.full(len(y), np.nan))
        return self._joint_fit(self._full(best.x), y)

    def _joint_fit(self, p: np.ndarray, y: np.ndarray) -> JointFit:
        laws = {}
        for k, arm in enumerate(self.arms):
            alpha = float(p[self.alpha_slot[k]])
            laws[arm] = PowerLaw(
                E=float(np.exp(p[self.e_slot[k]])),
                A=float(np.exp(p[self.a_slot[k]] + alpha * self.log_c_ref)),
                alpha=alpha,
            )
        residuals = self.log_predicted(p) - y
        return JointFit(laws, self.shared_E, True, float(residuals @ residuals), p, residuals)

    def at_bounds(self, fit: JointFit, losses: Sequence[float] | None = None) -> list[str]:
        """The parameters of ``fit`` that sit at a bound, in words (empty: none).

        E at 0 (below ``E_ZERO`` × the smallest loss it must stay below) or at its top
        (that loss), α at ``ALPHA_LOW_LIMIT`` or its upper limit: such a fit is shaped by
        its bounds, not by the data, and its exponents are not results. ``losses``: the
        frontier fitted (by default rebuilt from the fit's residuals).
        """
        if losses is None:
            losses = np.exp(self.log_predicted(fit.params) - fit.residuals)
        losses = np.asarray(losses, dtype=float)
        problems = []
        e_top = np.exp(self._e_upper_bounds(losses))
        slots = {"shared E": (0, e_top[0])} if self.shared_E else {
            f"E of arm '{arm}'": (k, e_top[k]) for k, arm in enumerate(self.arms)}
        if self.fixed_E is None:
            for who, (k, top) in slots.items():
                e = fit.laws[self.arms[k]].E
                if e < E_ZERO * top:
                    problems.append(f"{who} at its lower bound 0 ({e:.3g})")
                elif e > top * (1 - E_TOP_TOLERANCE):
                    problems.append(f"{who} at its upper bound, the smallest frontier loss {top:.4g}")
        for arm in self.arms:
            alpha = fit.laws[arm].alpha
            if alpha < ALPHA_LOW_LIMIT:
                problems.append(f"α of arm '{arm}' at its lower limit ({alpha:.3g})")
            elif alpha > ALPHA_BOUNDS[1] * (1 - ALPHA_BOUND_TOLERANCE):
                problems.append(f"α of arm '{arm}' at its upper bound {ALPHA_BOUNDS[1]:g}")
        return problems

    def _influence(self, fit: JointFit) -> np.ndarray:
        """∂p/∂y of the free parameters, shape (n_free, n_points), y = log L*.

        Linearised least squares: ∂p/∂y = (JᵀJ)⁻¹Jᵀ = pinv(J).
        """
        return np.linalg.pinv(self._full_jacobian(fit.params, fit.residuals)[:, self.free])

    def residual_maker(self, fit: JointFit) -> np.ndarray:
        """I − J·pinv(J) at the fit, shape (n_points, n_points): the linearised fit's
        residuals of a perturbation e of the log frontier are M·e."""
        jacobian = self._full_jacobian(fit.params, fit.residuals)[:, self.free]
        return np.eye(len(fit.residuals)) - jacobian @ np.linalg.pinv(jacobian)

    def alpha_difference_sensitivity(self, fit: JointFit) -> np.ndarray:
        """∂(α_modern − α_baseline)/∂ log L*_i at the fit, one entry per frontier point."""
        influence = self._influence(fit)
        row = np.cumsum(self.free) - 1  # full slot -> row of the free parameters
        return influence[row[self.alpha_slot[1]]] - influence[row[self.alpha_slot[0]]]

    def log_ceg_sensitivity(self, fit: JointFit, compute: float, step: float = 1e-6) -> np.ndarray:
        """∂ log CEG(compute)/∂ log L*_i at the fit (central differences in the parameters)."""

        def log_ceg(p):  # −inf or NaN where the CEG is 0 or undefined: a gradient the caller skips
            laws = self._joint_fit(p, fit.residuals).laws
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.log(compute_equivalent_gain(laws["baseline"], laws["modern"], compute))

        gradient = np.zeros(self.n_params)
        for slot in np.flatnonzero(self.free):
            up, down = fit.params.copy(), fit.params.copy()
            up[slot] += step
            down[slot] -= step
            with np.errstate(invalid="ignore"):  # inf − inf: NaN, as said above
                gradient[slot] = (log_ceg(up) - log_ceg(down)) / (2 * step)
        return gradient[self.free] @ self._influence(fit)
