"""The perceptron rule, epoch by epoch, as scikit-learn's SGD runs it for its ``Perceptron``.

One binary perceptron (labels y in {-1, +1}) learns from one sample at a time::

    z = w . x + w0
    if y z <= 0:                  # a mistake (or z exactly on the boundary)
        w  <- w  + eta y x        # the course's w_j <- w_j + eta (y - y_hat) x_j
        w0 <- w0 + eta y

``Perceptron`` (in ``perceptron.py``) runs one such perceptron per class, one versus the rest.
scikit-learn's optional penalties shrink w after each sample ('l2': w <- (1 - eta alpha) w;
'l1': the truncated gradient of Tsuruoka et al. 2009), its ``class_weight`` and
``sample_weight`` scale the step, and its stopping rule ends training after ``n_iter_no_change``
epochs in which the mean objective (or, with early stopping, the validation accuracy) did not
improve by ``tol``. The samples are visited in scikit-learn's order (its own xorshift generator,
``scikit_learns_permutation``), so the same data and ``random_state`` give the same weights as
scikit-learn's ``Perceptron``, to rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils import check_random_state

__all__ = ["Problem", "fit_one_versus_rest", "scikit_learns_permutation"]

MAX_INT = int(np.iinfo(np.int32).max)   # scikit-learn draws its seeds below this


# ---- scikit-learn's sample order -------------------------------------------------------------------
def xorshift32(state: int) -> int:
    """One step of Marsaglia's xorshift on a 32-bit state (scikit-learn's ``our_rand_r``)."""
    state ^= (state << 13) & 0xFFFFFFFF
    state ^= state >> 17
    state ^= (state << 5) & 0xFFFFFFFF
    return state


def scikit_learns_permutation(n_samples: int, seed: int) -> np.ndarray:
    """The permutation scikit-learn's SGD applies to its sample order at the start of every
    epoch: a Fisher-Yates shuffle, j = i + r % (n - i), r from xorshift32 seeded with ``seed``.

    scikit-learn reseeds with the same ``seed`` each epoch, so epoch k visits the samples in
    ``order = order[permutation]`` applied k times.

    >>> from glassnet.sklearn._perceptron_rule import scikit_learns_permutation
    >>> scikit_learns_permutation(5, seed=7).tolist()
    [3, 4, 1, 2, 0]
    """
    permutation = np.arange(n_samples)
    state = seed or 1                                   # a zero state would stay zero
    for i in range(n_samples - 1):
        state = xorshift32(state)
        j = i + (state & 0x7FFFFFFF) % (n_samples - i)  # our_rand_r returns 31 bits
        permutation[i], permutation[j] = permutation[j], permutation[i]
    return permutation


def validation_mask(estimator, y, sample_weight) -> np.ndarray:
    """True on the samples held out for early stopping (none without it): scikit-learn's
    stratified split with the estimator's ``random_state`` and ``validation_fraction``."""
    mask = np.zeros(len(y), dtype=bool)
    if not estimator.early_stopping:
        return mask
    splitter = StratifiedShuffleSplit(test_size=estimator.validation_fraction,
                                      random_state=estimator.random_state)
    train, held_out = next(splitter.split(np.zeros((len(y), 1)), y))
    if not np.any(sample_weight[held_out] > 0):
        raise ValueError("The sample weights for validation set are all zero, consider using a "
                         "different random state.")
    if len(train) == 0 or len(held_out) == 0:
        raise ValueError(f"Splitting {len(y)} samples into a train set and a validation set with "
                         f"validation_fraction={estimator.validation_fraction!r} led to an empty "
                         f"set ({len(train)} and {len(held_out)} samples). Please either change "
                         "validation_fraction, increase number of samples, or disable early_stopping.")
    mask[held_out] = True
    return mask


# ---- one binary perceptron --------------------------------------------------------------------------
@dataclass
class Problem:
    """What every binary perceptron of one fit shares: the data, the settings, the epochs."""

    X: np.ndarray                 # (n_samples, n_features), float64
    sample_weight: np.ndarray     # (n_samples,)
    eta: float
    alpha: float
    l1_ratio: float               # 0 for 'l2', 1 for 'l1'
    shrink: bool                  # 'l2' or 'elasticnet': w <- (1 - (1 - l1_ratio) eta alpha) w
    truncate: bool                # 'l1' or 'elasticnet': the truncated L1 gradient
    fit_intercept: bool
    max_iter: int
    tol: float                    # -inf: never stop early
    n_iter_no_change: int
    early_stopping: bool
    shuffle: bool
    verbose: int


def fit_binary(problem: Problem, y, w, w0: float, pos_weight: float, neg_weight: float,
               held_out, seed: int):
    """Train one perceptron on labels ``y`` in {-1, +1}, updating ``w`` in place; returns
    ``(w0, n_epochs, mistakes per epoch)``. ``held_out`` marks the validation samples."""
    # over/invalid: diverging weights end the epoch with one clear error (checked below)
    with np.errstate(over="ignore", invalid="ignore"):
        return _epochs(problem, y, w, w0, pos_weight, neg_weight, held_out, seed)


def _epochs(problem: Problem, y, w, w0, pos_weight, neg_weight, held_out, seed):
    X, eta, alpha, l1_ratio = problem.X, problem.eta, problem.alpha, problem.l1_ratio
    permutation = scikit_learns_permutation(len(X), seed) if problem.shuffle else None
    order = np.arange(len(X))
    validation = (X[held_out], y[held_out], problem.sample_weight[held_out])
    n_train = len(X) - int(held_out.sum())
    l1_applied, l1_total = np.zeros_like(w), 0.0          # the truncated gradient's q and u
    # the objective reads ||w|| as it was after the last shrink or step (before the L1
    # truncation), as scikit-learn's weight vector keeps it, so that training stops where its does
    squared_norm, l1_norm = float(w @ w), float(np.abs(w).sum())
    best, no_improvement, mistakes = math.inf, 0, []
    for epoch in range(problem.max_iter):
        if permutation is not None:
            order = order[permutation]
        objective, wrong = 0.0, 0
        for i in order:
            if held_out[i]:
                continue
            x = X[i]
            z = x @ w + w0
            if not problem.early_stopping:
                objective += max(0.0, -y[i] * z)          # the perceptron's loss
                if problem.shrink or problem.truncate:
                    objective += alpha * ((1 - l1_ratio) * 0.5 * squared_norm + l1_ratio * l1_norm)
            step = 0.0
            if y[i] * z <= 0:                             # a mistake: step towards y x
                wrong += 1
                class_weight = pos_weight if y[i] > 0 else neg_weight
                step = eta * y[i] * (class_weight * problem.sample_weight[i])
            if problem.shrink:                            # 'l2': weight decay, never below 0
                factor = max(0.0, 1.0 - (1.0 - l1_ratio) * eta * alpha)
                w *= factor
                squared_norm, l1_norm = squared_norm * factor * factor, l1_norm * factor
            if step != 0.0:
                w += step * x                             # w <- w + eta y x
                squared_norm, l1_norm = float(w @ w), float(np.abs(w).sum())
                if problem.fit_intercept:
                    w0 += step                            # w0 <- w0 + eta y
            if problem.truncate:
                l1_total += l1_ratio * eta * alpha
                truncate_l1(w, l1_applied, l1_total)
        mistakes.append(wrong)
        if not (math.isfinite(w0) and np.all(np.isfinite(w))):
            raise ValueError(f"Floating-point under-/overflow occurred at epoch #{epoch + 1}. "
                             "Scaling input data with StandardScaler or MinMaxScaler might help.")
        if problem.early_stopping:   # the validation accuracy must rise by tol
            score = -accuracy_score(validation[1], np.where(validation[0] @ w + w0 > 0, 1.0, -1.0),
                                    sample_weight=validation[2])
        else:                        # the mean objective must fall by tol
            score = objective / n_train
        no_improvement = no_improvement + 1 if score > best - problem.tol else 0
        best = min(best, score)
        if problem.verbose:
            measure = (f"validation accuracy: {-score:f}" if problem.early_stopping
                       else f"objective: {score:f}")
            print(f"-- Epoch {epoch + 1}\nNorm: {math.sqrt(squared_norm):.2f}, Bias: {w0:.6f}, "
                  f"mistakes: {wrong}, {measure}")
        if no_improvement >= problem.n_iter_no_change:
            break
    return w0, epoch + 1, mistakes


def truncate_l1(w: np.ndarray, applied: np.ndarray, total: float) -> None:
    """The cumulative L1 penalty (Tsuruoka, Tsujii and Ananiadou 2009), in place: each weight
    moves towards 0 by what it has not yet received of the ``total`` penalty so far, never
    across 0; ``applied`` records what each weight has received (q in the paper)."""
    before = w.copy()
    w[:] = np.where(before > 0, np.maximum(0.0, before - (total + applied)),
                    np.where(before < 0, np.minimum(0.0, before + (total - applied)), before))
    applied += w - before


# ---- one versus the rest ----------------------------------------------------------------------------
def fit_one_versus_rest(estimator, problem: Problem, y, classes, coef, intercept, class_weights):
    """One perceptron per class (one for two classes: ``classes[1]`` against ``classes[0]``),
    seeded and split as scikit-learn does; ``coef`` (n_perceptrons, n_features) and ``intercept``
    are updated in place. Returns ``(n_iter, mistakes per epoch summed over the perceptrons)``."""
    sample_weight = problem.sample_weight
    if len(classes) == 2:
        labels = np.where(y == classes[1], 1.0, -1.0)
        random_state = check_random_state(estimator.random_state)
        random_state.randint(1, MAX_INT)                  # scikit-learn's dataset draws a seed first
        held_out = validation_mask(estimator, labels, sample_weight)
        seed = random_state.randint(MAX_INT)
        intercept[0], n_iter, mistakes = fit_binary(problem, labels, coef[0], intercept[0],
                                                    class_weights[1], class_weights[0], held_out, seed)
        return n_iter, mistakes
    held_out = validation_mask(estimator, y, sample_weight)
    seeds = check_random_state(estimator.random_state).randint(MAX_INT, size=len(classes))
    runs = []
    for k, class_seed in enumerate(seeds):
        random_state = np.random.RandomState(class_seed)
        random_state.randint(1, MAX_INT)
        labels = np.where(y == classes[k], 1.0, -1.0)
        intercept[k], n_iter, mistakes = fit_binary(problem, labels, coef[k], intercept[k],
                                                    class_weights[k], 1.0, held_out,
                                                    random_state.randint(MAX_INT))
        runs.append(mistakes)
    n_iter = max(len(mistakes) for mistakes in runs)
    return n_iter, [sum(run[epoch] for run in runs if epoch < len(run)) for epoch in range(n_iter)]
