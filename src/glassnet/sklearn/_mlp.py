"""What MLPClassifier and MLPRegressor share: the parameters, the network, the objective, L-BFGS.

The estimator builds a glassnet network (``model_``) with ``glassnet.nn.mlp``::

    [Linear -> (BatchNorm1d) -> activation -> (Dropout)] per hidden layer -> Linear

and trains it with glassnet's autodiff and optimizers, following scikit-learn's MLP step by step:
the same initial weights for the same ``random_state`` (scikit-learn's Glorot-uniform scheme, drawn
from the same random stream), the same shuffling and batches, the same objective

    loss = data loss (a weighted mean over the batch) + (alpha/2 ||W||^2 + l1 ||W||_1) / n_batch

(``n_batch``: the batch's size, or the sum of its sample weights; only weights W, not biases),
the same epoch loss (``loss_curve_``), the same stopping rule (``tol``, ``n_iter_no_change``) and the
same learning-rate schedules. The penalties are ``glassnet.optim``'s, the optimizers come from
``optim.make_optimizer``; the stochastic solvers' loop is in ``_stochastic.py``, L-BFGS here. The
subclasses say what the outputs mean: the targets, the data loss and the predictions.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import functional as F
from .. import init, nn, optim
from .._checks import positive_int
from ..tensor import Tensor, no_grad
from ..train import predict as _predict_outputs
from ._stochastic import NON_FINITE, StochasticSolvers

STOCHASTIC_SOLVERS = {"sgd", "adam", "adagrad", "rmsprop", "adamw", "adamax"}
# glassnet.init's initializers by their own names (not the glorot_/kaiming_ aliases);
# 'xavier_uniform' is scikit-learn's scheme, drawn from random_state as scikit-learn draws it
INITS = {name for name, function in init.INITIALIZERS.items() if init.name_of(function) == name}


class _HiddenActivations(StrOptions):
    """scikit-learn's StrOptions over the hidden activations of glassnet's registry as it is when
    a parameter is checked, so that an activation registered after import is accepted too."""

    def __init__(self) -> None:
        super().__init__(set(F.hidden_activation_names(aliases=True)))

    def is_satisfied_by(self, val) -> bool:
        self.options = set(F.hidden_activation_names(aliases=True))
        return super().is_satisfied_by(val)


class BaseMLP(StochasticSolvers, BaseEstimator):
    """Base class of the MLP estimators (not for direct use)."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [_HiddenActivations()],
        "solver": [StrOptions(STOCHASTIC_SOLVERS | {"lbfgs"})],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "power_t": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(numbers.Real, 0, 1, closed="left")],  # 1 would never damp v
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left"),
                             Options(numbers.Real, {np.inf})],
        "max_fun": [Interval(numbers.Integral, 1, None, closed="left")],
        "l1": [Interval(numbers.Real, 0, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "init": [StrOptions(INITS)],
    }

    def _set_parameters(self, values: dict) -> None:
        """Store the arguments of a subclass's ``__init__`` (its ``locals()``) as attributes of the
        same names, unchanged, as scikit-learn requires: checking them is fit's job."""
        for name, value in values.items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)

    # ---- what a subclass provides --------------------------------------------------------------
    # _validate_input(X, y, incremental, reset, classes) -> (X, targets, per-sample weights or None)
    # _output_activation() -> out_activation_;  _data_loss(z, targets, weights) -> scalar Tensor
    # _predictions(z) -> what predict returns;  _score_function(y, y_pred, sample_weight)
    # _labels_from_targets(targets) -> y as the user gave it (for the early-stopping score)

    # ---- fitted attributes read from the network --------------------------------------------------
    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weight matrices W, one ``(n_in, n_out)`` array per layer (the network's own arrays)."""
        check_is_fitted(self, "model_")
        return [layer.weight.data for layer in self._linear_layers()]

    @coefs_.setter
    def coefs_(self, values) -> None:
        self._set_layer_arrays("coefs_", "weight", values)

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The bias vectors b, one ``(n_out,)`` array per layer (the network's own arrays)."""
        check_is_fitted(self, "model_")
        return [layer.bias.data for layer in self._linear_layers()]

    @intercepts_.setter
    def intercepts_(self, values) -> None:
        self._set_layer_arrays("intercepts_", "bias", values)

    def _set_layer_arrays(self, name: str, attribute: str, values) -> None:
        """Copy new W (or b) into the network, as scikit-learn lets one assign coefs_; checked
        whole before any layer changes."""
        check_is_fitted(self, "model_")
        params = [getattr(layer, attribute) for layer in self._linear_layers()]
        values = list(values)
        if len(values) != len(params):
            raise ValueError(f"{name} needs {len(params)} arrays (one per layer), got {len(values)}")
        arrays = [np.asarray(value, dtype=param.data.dtype) for value, param in zip(values, params)]
        for index, (array, param) in enumerate(zip(arrays, params)):
            if array.shape != param.data.shape:
                raise ValueError(f"{name}[{index}] needs shape {param.data.shape}, got {array.shape}")
        for array, param in zip(arrays, params):
            param.data[...] = array

    @property
    def _dtype(self) -> np.dtype:
        """The network's dtype (that of the X it was first fitted on)."""
        return self.model_[0].weight.data.dtype

    def _linear_layers(self) -> list:
        return [layer for layer in self.model_ if isinstance(layer, nn.Linear)]

    # ---- fit: all or nothing ----------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        """Train; on any error, put the estimator (network and optimizer included) back as it was."""
        # lists (loss_curve_, validation_scores_) grow in place: copy them
        saved_attributes = {name: list(value) if isinstance(value, list) else value
                            for name, value in self.__dict__.items()}
        saved_model = self.model_.state_dict() if hasattr(self, "model_") else None
        saved_optimizer = self._optimizer.state_dict() if hasattr(self, "_optimizer") else None
        saved_masks = [(layer.rng, layer.rng.bit_generator.state) for layer in self._dropout_layers()]
        try:
            self._fit_unchecked(X, y, sample_weight, incremental, classes)
        except BaseException:
            model, optimizer = self.__dict__.get("model_"), self.__dict__.get("_optimizer")
            self.__dict__.clear()
            self.__dict__.update(saved_attributes)
            if saved_model is not None and self.model_ is model:
                self.model_.load_state_dict(saved_model)
            if saved_optimizer is not None and self._optimizer is optimizer:
                self._optimizer.load_state_dict(saved_optimizer)
            for generator, state in saved_masks:   # the dropout masks' random stream
                generator.bit_generator.state = state
            raise
        return self

    def _dropout_layers(self) -> list:
        model = self.__dict__.get("model_")
        return [] if model is None else [layer for layer in model if isinstance(layer, nn.Dropout)]

    def _fit_unchecked(self, X, y, sample_weight, incremental, classes) -> None:
        self._validate_params()
        hidden = self._hidden_sizes()
        if self.solver == "lbfgs" and self.dropout > 0:
            raise ValueError("dropout > 0 makes the loss random, which L-BFGS's line search cannot "
                             "follow; use a stochastic solver ('adam', 'sgd', ...) with dropout")
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        if self.early_stopping and self.solver != "lbfgs" and self.validation_fraction == 0:
            raise ValueError("early_stopping=True needs a validation set: set validation_fraction "
                             "in (0, 1), e.g. 0.1")
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, targets, weights = self._validate_input(X, y, incremental, first_pass, classes)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
            if np.any(sample_weight < 0):
                raise ValueError("sample_weight holds negative values; weights must be >= 0")
            weights = sample_weight if weights is None else weights * sample_weight
        if weights is not None and not weights.sum() > 0:
            raise ValueError("the sample weights (times class_weight) sum to 0: no sample to learn from")
        # class indices (1-D) feed a softmax with one unit per class; else one unit per column
        n_outputs = len(self.classes_) if targets.ndim == 1 else targets.shape[1]

        rng = check_random_state(self.random_state)  # scikit-learn's stream: same weights, batches
        if first_pass:
            self._build(X.shape[1], hidden, n_outputs, X.dtype, rng)
        else:
            self._check_continuation(hidden, n_outputs)
            X = X.astype(self._dtype, copy=False)
            targets = targets if targets.dtype.kind == "i" else targets.astype(self._dtype)
            weights = None if weights is None else weights.astype(self._dtype)

        if self.solver == "lbfgs":
            self._fit_lbfgs(X, targets, weights)
        else:
            self._fit_stochastic(X, targets, weights, incremental, rng)
        for name, array in self.model_.state_dict().items():  # weights and running statistics
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{NON_FINITE} (non-finite values in {name}; the estimator is "
                                 "left as it was.)")

    def _hidden_sizes(self) -> list:
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        return [positive_int(size, f"hidden_layer_sizes[{index}]") for index, size in enumerate(sizes)]

    # ---- the network ------------------------------------------------------------------------------
    def _build(self, n_features: int, hidden: list, n_outputs: int, dtype, rng) -> None:
        """Make ``model_`` and reset the training record, drawing initial weights from ``rng``."""
        scikit_learns_init = self.init == "xavier_uniform"
        generator = None  # for glassnet's initializers and the dropout masks, seeded from rng
        if not scikit_learns_init or self.dropout > 0:
            generator = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
        # scikit-learn's scheme is drawn from rng below: the layers start at zero meanwhile, so
        # that the generator holds the same stream for the dropout masks
        self.model_ = nn.mlp(n_features, hidden, n_outputs, self.activation,
                             batch_norm=self.batch_norm, dropout=self.dropout,
                             weight_init="zeros" if scikit_learns_init else self.init,
                             dtype=dtype, rng=generator)
        if scikit_learns_init:
            self._draw_glorot_weights(rng)
        self._architecture = (tuple(hidden), self.activation, self.batch_norm, self.dropout)
        self.n_layers_ = len(hidden) + 2
        self.n_outputs_ = n_outputs
        self.out_activation_ = self._output_activation()
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self._best_state = None
        if self.early_stopping:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -np.inf, None
        else:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = None, None, np.inf
        self.__dict__.pop("_optimizer", None)

    def _draw_glorot_weights(self, rng) -> None:
        """init='xavier_uniform' is scikit-learn's scheme, drawn from ``rng`` as scikit-learn draws
        it, layer by layer: W and b ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)), or
        sqrt(2 / (fan_in + fan_out)) for the logistic activation. (The other initializers are
        glassnet's, drawn by ``nn.mlp``, with zero biases.)"""
        factor = 2.0 if F.get_activation(self.activation).name == "sigmoid" else 6.0
        for layer in self._linear_layers():
            fan_in, fan_out = layer.weight.shape
            bound = math.sqrt(factor / (fan_in + fan_out))
            layer.weight.data[...] = rng.uniform(-bound, bound, (fan_in, fan_out))
            layer.bias.data[...] = rng.uniform(-bound, bound, fan_out)

    def _check_continuation(self, hidden: list, n_outputs: int) -> None:
        """warm_start and partial_fit go on with the fitted network: it must still fit."""
        architecture = (tuple(hidden), self.activation, self.batch_norm, self.dropout)
        if architecture != self._architecture:
            names = ("hidden_layer_sizes", "activation", "batch_norm", "dropout")
            changed = [f"{name}={new!r} (fitted with {old!r})"
                       for name, new, old in zip(names, architecture, self._architecture) if new != old]
            raise ValueError("warm_start/partial_fit continue the fitted network, but "
                             + ", ".join(changed) + "; set warm_start=False to train a new one")
        if n_outputs != self.n_outputs_:
            raise ValueError(f"y needs {n_outputs} outputs but the fitted network has "
                             f"{self.n_outputs_}; set warm_start=False to train a new one")

    # ---- the objective ----------------------------------------------------------------------------
    def _objective(self, X, targets, weights, total: float, layer_weights: list):
        """The objective of a batch, data loss + penalty: ``(Tensor to differentiate, its value)``."""
        loss = self._data_loss(self.model_(Tensor(X)), targets, weights)
        penalty = self._penalty(total, layer_weights)
        if penalty is None:
            return loss, float(loss.data)
        return loss + penalty, float(loss.data) + float(penalty.data)

    def _penalty(self, total: float, layer_weights: list):
        """(alpha/2 ||W||^2 + l1 ||W||_1) / total over the weights W (not the biases), a Tensor
        (None without a penalty); ``total`` is the batch's size or sum of sample weights. With
        solver='adamw', alpha is AdamW's decoupled weight decay instead (applied in the step), so
        it is not part of the loss."""
        alpha = 0.0 if self.solver == "adamw" else self.alpha
        penalty = None
        if alpha:
            penalty = optim.l2_penalty(layer_weights, alpha / (2.0 * total))
        if self.l1:
            l1 = optim.l1_penalty(layer_weights, self.l1 / total)
            penalty = l1 if penalty is None else penalty + l1
        return penalty

    # ---- L-BFGS -----------------------------------------------------------------------------------
    def _fit_lbfgs(self, X, targets, weights) -> None:
        """Full-batch L-BFGS-B (scipy) on the flattened parameters, as scikit-learn does."""
        params = list(self.model_.parameters())
        sizes = np.cumsum([0] + [p.data.size for p in params])
        total = len(X) if weights is None else float(weights.sum())
        layer_weights = [layer.weight for layer in self._linear_layers()]
        self.model_.train()

        def unpack(flat):
            for param, start, stop in zip(params, sizes[:-1], sizes[1:]):
                param.data[...] = flat[start:stop].reshape(param.shape)

        def loss_and_gradient(flat):
            unpack(flat)
            for param in params:
                param.grad = None
            objective, value = self._objective(X, targets, weights, total, layer_weights)
            objective.backward()
            grad = np.concatenate([np.zeros(p.data.size) if p.grad is None else p.grad.ravel()
                                   for p in params]).astype(np.float64)
            return value, grad

        def record(intermediate_result):
            self.loss_curve_.append(float(intermediate_result.fun))
            if self.verbose:
                print(f"Iteration {len(self.loss_curve_) - first}, loss = {self.loss_curve_[-1]:.8f}")

        start = np.concatenate([p.data.ravel() for p in params]).astype(np.float64)
        first = len(self.loss_curve_)
        try:
            result = scipy.optimize.minimize(
                loss_and_gradient, start, method="L-BFGS-B", jac=True, callback=record,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
        finally:
            self.model_.eval()
            for param in params:
                param.grad = None
        if not np.isfinite(result.fun):  # scikit-learn keeps such a run; it learned nothing
            raise ValueError(f"{NON_FINITE} (The training loss is {result.fun} at L-BFGS's "
                             "start; the estimator is left as it was. Scale X.)")
        unpack(result.x)
        self._batch_statistics(X)
        self.n_iter_ = min(int(result.nit), self.max_iter)
        self.loss_ = float(result.fun)
        self.best_loss_ = min(self.loss_curve_ + [self.loss_])
        if not result.success:
            warnings.warn(f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                          f"(status={result.status}): {result.message}. Increase the number of "
                          "iterations (max_iter) or scale the data.", ConvergenceWarning, stacklevel=2)

    def _batch_statistics(self, X) -> None:
        """Set batch norm's running statistics to those of the whole training set at the final
        weights: L-BFGS optimized the network with full-batch statistics, and its line-search
        trial points have left running averages of points it did not keep."""
        norms = [layer for layer in self.model_ if isinstance(layer, nn.BatchNorm1d)]
        if not norms:
            return
        momenta = [layer.momentum for layer in norms]
        self.model_.train()
        try:
            for layer in norms:
                layer.momentum = 1.0          # running = this batch's statistics
            with no_grad():
                self.model_(Tensor(X))
        finally:
            for layer, momentum in zip(norms, momenta):
                layer.momentum = momentum
            self.model_.eval()

    # ---- predicting -------------------------------------------------------------------------------
    def _outputs(self, X, check_input: bool = True) -> np.ndarray:
        """The network's last z (before the output activation), ``(n_samples, n_outputs_)``."""
        check_is_fitted(self, "model_")
        if check_input:
            X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        return _predict_outputs(self.model_, X.astype(self._dtype, copy=False))

    def _score(self, X, y, sample_weight=None) -> float:
        """The validation score for early stopping (accuracy or R^2), X already validated."""
        y_pred = self._predictions(self._outputs(X, check_input=False))
        if y_pred.dtype.kind == "f" and not np.all(np.isfinite(y_pred)):
            return np.nan
        return float(self._score_function(y, y_pred, sample_weight=sample_weight))

    def _check_solver(self) -> bool:
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    def _labels_from_targets(self, targets):
        return targets

