"""The stochastic solvers of the MLP estimators ('sgd', 'adam', 'adagrad', 'rmsprop', 'adamw', 'adamax'):
mini-batch epochs, and after each the record scikit-learn keeps and its stopping rule.

One epoch shuffles the samples (scikit-learn's stream), takes one optimizer step per batch on

    objective = data loss + (alpha/2 ||W||^2 + l1 ||W||_1) / n_batch

and returns the mean of the batches' objectives (weighted by their sizes). After it, the epoch
loss goes into ``loss_curve_``, the early-stopping score into ``validation_scores_``, and
``n_iter_no_change`` epochs without an improvement of ``tol`` stop training (or, with
learning_rate='adaptive', divide the learning rate by 5).
"""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from .. import optim
from ..train.batches import batch_bounds

if TYPE_CHECKING:
    from ..nn import Linear, Sequential
    from ..tensor import Tensor


# scikit-learn's words for a run whose weights are no longer finite (its tests match them)
NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain large "
              "values and need to be preprocessed.")


class StochasticSolvers:
    """The stochastic half of ``BaseMLP`` (a mixin): it reads the estimator's parameters and
    ``model_``, and uses ``BaseMLP._objective``, ``_score`` and ``_linear_layers``."""

    # What the mixin needs of its estimator class, declared here for type checkers and readers
    # (annotations only: the values come from the estimator's __init__ and fit).
    # The estimator's parameters, as the user gave them (fit checks them):
    solver: str
    learning_rate: str
    learning_rate_init: float
    power_t: float
    momentum: float
    nesterovs_momentum: bool
    beta_1: float
    beta_2: float
    epsilon: float
    alpha: float
    batch_size: int | str
    batch_norm: bool
    shuffle: bool
    max_iter: int
    tol: float
    n_iter_no_change: float   # an int, or np.inf
    early_stopping: bool
    validation_fraction: float
    verbose: int
    # What fit sets (_build starts the record; _start_record keeps the mode's half of it):
    model_: Sequential
    n_outputs_: int
    n_iter_: int
    t_: int
    loss_: float
    loss_curve_: list[float]
    validation_scores_: list[float] | None    # with early_stopping, else None
    best_validation_score_: float | None      # with early_stopping, else None
    best_loss_: float | None                  # without early_stopping, else None
    _optimizer: optim.Optimizer
    _optimizer_solver: str
    _best_state: OrderedDict | None
    _no_improvement_count: int

    if TYPE_CHECKING:  # methods of BaseMLP (and its subclasses) that the solvers call
        def _linear_layers(self) -> list[Linear]: ...
        def _objective(self, X: Any, targets: Any, weights: Any, total: float,
                       layer_weights: list) -> tuple[Tensor, float]: ...
        def _score(self, X: Any, y: Any, sample_weight: Any = None) -> float: ...
        def _labels_from_targets(self, targets: Any) -> Any: ...

    def _fit_stochastic(self, X, targets, weights, incremental: bool, rng) -> None:
        """Train for up to ``max_iter`` epochs (one with ``partial_fit``)."""
        self._ensure_optimizer(incremental)
        self._start_record()
        X, targets, weights, validation = self._validation_split(X, targets, weights, rng)
        bounds = self._batch_bounds(len(X))
        order = np.arange(len(X))
        layer_weights = [layer.weight for layer in self._linear_layers()]
        self.model_.train()
        self.n_iter_ = 0
        try:
            # over/invalid: a diverging run ends with one clear error (the loss is checked each
            # step), or, with early_stopping, with the best epoch's weights
            # whole_steps: a Ctrl-C lands between two steps, never inside one
            with np.errstate(over="ignore", invalid="ignore"), optim.whole_steps():
                for _ in range(self.max_iter):
                    order, loss = self._epoch(X, targets, weights, order, bounds, layer_weights, rng)
                    if self._end_of_epoch(loss, len(X), validation) or incremental:
                        break
                else:  # max_iter epochs, and the stopping rule never fired
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                                  "reached and the optimization hasn't converged yet.",
                                  ConvergenceWarning, stacklevel=2)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=2)
        finally:
            self.model_.eval()
            self._optimizer.zero_grad()
        if self.early_stopping and self._best_state is not None:
            self.model_.load_state_dict(self._best_state)

    # ---- before the first epoch -----------------------------------------------------------------
    def _ensure_optimizer(self, incremental: bool) -> None:
        """A new optimizer, unless partial_fit goes on with the same solver."""
        if (not incremental or not hasattr(self, "_optimizer")
                or self._optimizer_solver != self.solver):   # solver changed between partial_fits
            self._optimizer = self._make_optimizer()
            self._optimizer_solver = self.solver

    def _make_optimizer(self) -> optim.Optimizer:
        # 'adamw' steps with Adam: the decoupled decay shrinks the weights W (not the biases)
        # in _step, where glassnet's AdamW would shrink every parameter.
        name = "adam" if self.solver == "adamw" else self.solver
        hyperparameters: dict[str, dict[str, Any]] = {
            "sgd": {"momentum": self.momentum,
                    "nesterov": bool(self.nesterovs_momentum and self.momentum > 0)},
            "adagrad": {"eps": self.epsilon},
            "rmsprop": {"alpha": self.beta_2, "eps": self.epsilon},
            "adam": {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon},
            "adamax": {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon},
        }
        return optim.make_optimizer(name, self.model_.parameters(), self.learning_rate_init,
                                    **hyperparameters[name])

    def _start_record(self) -> None:
        """warm_start may switch early_stopping on or off: start the record the new mode keeps."""
        if self.early_stopping and self.validation_scores_ is None:
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
        if not self.early_stopping and self.best_loss_ is None:
            self.best_loss_ = np.inf

    def _validation_split(self, X, targets, weights, rng):
        """With early_stopping, hold out ``validation_fraction`` as scikit-learn does (stratified
        for single-output classifiers only): ``(X, targets, weights, (X_val, y_val, weights_val))``,
        the validation part None without early stopping."""
        if not self.early_stopping:
            return X, targets, weights, None
        stratify = None
        if is_classifier(self) and self.n_outputs_ == 1:
            # scikit-learn stratifies on its boolean indicator column: the same split, and an
            # error about a too-small class names it as scikit-learn does ('True', not '1.0')
            stratify = targets.astype(bool)
        parts = [X, targets] + ([] if weights is None else [weights])
        parts = train_test_split(*parts, random_state=rng, test_size=self.validation_fraction,
                                 stratify=stratify)
        X, X_val, targets, y_val = parts[:4]
        weights, weights_val = parts[4:] if weights is not None else (None, None)
        if len(X_val) < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
        return X, targets, weights, (X_val, self._labels_from_targets(y_val), weights_val)

    def _batch_bounds(self, n_samples: int) -> list:
        """``(start, stop)`` of each batch: 'auto' is min(200, n_samples), a larger size is clipped."""
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            requested = cast(int, self.batch_size)  # not 'auto': an int (fit checked the parameters)
            if requested > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped", stacklevel=3)
            batch_size = int(np.clip(requested, 1, n_samples))
        if self.batch_norm and batch_size < 2:
            raise ValueError("batch_norm=True needs at least 2 samples per batch; got "
                             f"{n_samples} sample(s) with batch_size={self.batch_size!r}")
        # batch norm cannot train on a batch of one: a lone last sample joins the batch before it
        return batch_bounds(n_samples, batch_size, merge_lone_last=self.batch_norm)

    # ---- one epoch --------------------------------------------------------------------------------
    def _epoch(self, X, targets, weights, order, bounds: list, layer_weights: list, rng):
        """One pass over the batches: ``(order, the epoch's mean objective)``; ``order`` is the
        sample order, shuffled again each epoch as scikit-learn shuffles its copy of X."""
        if self.shuffle:  # sklearn.utils.shuffle(order, random_state=rng), without its checks
            permutation = np.arange(len(order))
            rng.shuffle(permutation)
            order = order[permutation]
        accumulated = 0.0
        for start, stop in bounds:
            rows = order[start:stop] if self.shuffle else slice(start, stop)
            batch_weights = None if weights is None else weights[rows]
            accumulated += self._step(X[rows], targets[rows], batch_weights, layer_weights) * (stop - start)
        return order, accumulated / len(order)

    def _step(self, X, targets, weights, layer_weights: list) -> float:
        """One step of the solver on a batch; returns the batch's objective before the step."""
        total = len(X) if weights is None else float(weights.sum())
        if total == 0.0:
            return 0.0  # every sample of the batch has weight 0: nothing to learn from
        optimizer = self._optimizer
        optimizer.zero_grad()
        objective, value = self._objective(X, targets, weights, total, layer_weights)
        objective.backward()
        if not math.isfinite(value) and not self.early_stopping:
            # With early_stopping the run carries on as scikit-learn's does (its #29504): the
            # epoch scores NaN and fit ends with the best epoch's weights (see _fit_stochastic).
            raise ValueError(f"{NON_FINITE} (The training loss became {value} in epoch "
                             f"{self.n_iter_ + 1}; the estimator is left as it was. Lower "
                             "learning_rate_init or scale X.)")
        if self.solver == "adam":
            # scikit-learn adds epsilon to sqrt(v) before the bias correction, PyTorch (and
            # glassnet's Adam) after it; this eps at step t makes the two steps equal.
            state = optimizer.state.get(0)
            step = (state["step"] if state else 0) + 1
            optimizer.param_groups[0]["eps"] = self.epsilon / math.sqrt(1.0 - self.beta_2 ** step)
        if self.solver == "adamw" and self.alpha:
            for weight in layer_weights:  # AdamW's decoupled decay: W = W - lr alpha W
                weight.data *= 1.0 - optimizer.lr * self.alpha
        # scikit-learn steps on whatever the gradients hold (its #29504 run carries on with NaN);
        # a run without early_stopping ends with its non-finite-weights error after the loop.
        optimizer.step(error_if_nonfinite=False)
        return value

    # ---- after each epoch -------------------------------------------------------------------------
    def _end_of_epoch(self, loss: float, n_samples: int, validation) -> bool:
        """Record the epoch, update the learning rate; True when training should stop."""
        self.n_iter_ += 1
        self.t_ += n_samples
        self.loss_ = loss
        self.loss_curve_.append(loss)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
        self._update_no_improvement_count(validation)
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            self._optimizer.lr = self.learning_rate_init / (self.t_ + 1) ** self.power_t
        if self._no_improvement_count > self.n_iter_no_change:
            if self._stop_or_slow_down():
                return True
            self._no_improvement_count = 0
        return False

    def _update_no_improvement_count(self, validation) -> None:
        if self.early_stopping:
            # _start_record keeps the record of the mode fit runs in (the other half is None)
            assert self.validation_scores_ is not None and self.best_validation_score_ is not None
            score = self._score(*validation)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_state = self.model_.state_dict()
        else:
            assert self.best_loss_ is not None
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])

    def _stop_or_slow_down(self) -> bool:
        """No improvement for n_iter_no_change epochs: stop, or with learning_rate='adaptive'
        (solver='sgd') divide the learning rate by 5 and go on until it falls to 1e-6."""
        what = "Validation score" if self.early_stopping else "Training loss"
        message = (f"{what} did not improve more than tol={self.tol:f} for "
                   f"{self.n_iter_no_change} consecutive epochs.")
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            if self.verbose:
                print(message + " Stopping.")
            return True
        if self._optimizer.lr <= 1e-6:
            if self.verbose:
                print(message + " Learning rate too small. Stopping.")
            return True
        self._optimizer.lr /= 5.0
        if self.verbose:
            print(message + f" Setting learning rate to {self._optimizer.lr:f}")
        return False
