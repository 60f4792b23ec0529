"""What MLPClassifier and MLPRegressor share: the parameters, the network, the training loops.

The estimator builds a glassnet network (``model_``)::

    [Linear -> (BatchNorm1d) -> activation -> (Dropout)] per hidden layer -> Linear

and trains it with glassnet's autodiff and optimizers, following scikit-learn's MLP step by step:
the same initial weights for the same ``random_state`` (scikit-learn's Glorot-uniform scheme, drawn
from the same random stream), the same shuffling and batches, the same objective

    loss = data loss (a weighted mean over the batch) + (alpha/2 ||W||^2 + l1 ||W||_1) / n_batch

(``n_batch``: the batch's size, or the sum of its sample weights; only weights W, not biases),
the same epoch loss (``loss_curve_``), the same stopping rule (``tol``, ``n_iter_no_change``) and the
same learning-rate schedules. The subclasses say what the outputs mean: the targets, the data loss
and the predictions.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import init as _init
from .. import nn, optim
from ..tensor import Tensor, no_grad
from ..train import predict as _predict_outputs

# activation name -> glassnet module; scikit-learn's four first, then the course's others
ACTIVATIONS = {
    "identity": nn.Identity, "logistic": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU, "silu": nn.SiLU,
    "softplus": nn.Softplus,
}
STOCHASTIC_SOLVERS = {"sgd", "adam", "adagrad", "rmsprop", "adamw"}
INITS = {"xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "normal", "uniform", "zeros"}


class BaseMLP(BaseEstimator):
    """Base class of the MLP estimators (not for direct use)."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
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
    def coefs_(self) -> list:
        """The weight matrices W, one ``(n_in, n_out)`` array per layer (the network's own arrays)."""
        check_is_fitted(self, "model_")
        return [layer.weight.data for layer in self._linear_layers()]

    @property
    def intercepts_(self) -> list:
        """The bias vectors b, one ``(n_out,)`` array per layer (the network's own arrays)."""
        check_is_fitted(self, "model_")
        return [layer.bias.data for layer in self._linear_layers()]

    @coefs_.setter
    def coefs_(self, values) -> None:
        self._set_layer_arrays("coefs_", "weight", values)

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
                raise ValueError(f"Solver produced non-finite values ({name}). The input data may "
                                 "contain large values and need to be preprocessed.")

    def _hidden_sizes(self) -> list:
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        for size in sizes:
            if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size <= 0:
                raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(size) for size in sizes]

    # ---- the network ------------------------------------------------------------------------------
    def _build(self, n_features: int, hidden: list, n_outputs: int, dtype, rng) -> None:
        """Make ``model_`` and reset the training record, drawing initial weights from ``rng``."""
        units = [n_features, *hidden, n_outputs]
        generator = None  # for glassnet's initializers and the dropout masks, seeded from rng
        if self.init != "xavier_uniform" or self.dropout > 0:
            generator = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
        layers = []
        for index, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:])):
            linear = nn.Linear(fan_in, fan_out, dtype=dtype)
            linear.weight.data[...], linear.bias.data[...] = self._initial_weights(
                fan_in, fan_out, rng, generator)
            layers.append(linear)
            if index < len(hidden):
                if self.batch_norm:
                    layers.append(nn.BatchNorm1d(fan_out, dtype=dtype))
                layers.append(ACTIVATIONS[self.activation]())
                if self.dropout > 0:
                    layers.append(nn.Dropout(self.dropout, rng=generator))
        self.model_ = nn.Sequential(*layers)
        self._architecture = (tuple(hidden), self.activation, self.batch_norm, self.dropout)
        self.n_layers_ = len(units)
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

    def _initial_weights(self, fan_in: int, fan_out: int, rng, generator):
        """W and b of one layer. 'xavier_uniform' is scikit-learn's scheme, drawn from ``rng`` as
        scikit-learn draws it: W and b ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)), or
        sqrt(2 / (fan_in + fan_out)) for the logistic activation. The other initializers are
        glassnet's (``glassnet.init``), with zero biases."""
        if self.init == "xavier_uniform":
            factor = 2.0 if self.activation == "logistic" else 6.0
            bound = math.sqrt(factor / (fan_in + fan_out))
            return rng.uniform(-bound, bound, (fan_in, fan_out)), rng.uniform(-bound, bound, fan_out)
        weight = getattr(_init, self.init)((fan_in, fan_out), dtype=np.float64, rng=generator)
        return weight, np.zeros(fan_out)

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

    # ---- the stochastic solvers -------------------------------------------------------------------
    def _make_optimizer(self):
        params = list(self.model_.parameters())
        lr, eps, betas = self.learning_rate_init, self.epsilon, (self.beta_1, self.beta_2)
        if self.solver == "sgd":
            return optim.SGD(params, lr=lr, momentum=self.momentum,
                             nesterov=bool(self.nesterovs_momentum and self.momentum > 0))
        if self.solver == "adagrad":
            return optim.Adagrad(params, lr=lr, eps=eps)
        if self.solver == "rmsprop":
            return optim.RMSprop(params, lr=lr, alpha=self.beta_2, eps=eps)
        return optim.Adam(params, lr=lr, betas=betas, eps=eps)  # adam; adamw decays W itself

    def _fit_stochastic(self, X, targets, weights, incremental: bool, rng) -> None:
        if (not incremental or not hasattr(self, "_optimizer")
                or self._optimizer_solver != self.solver):   # solver changed between partial_fits
            self._optimizer = self._make_optimizer()
            self._optimizer_solver = self.solver
        # warm_start may switch early_stopping on or off: start the record the new mode keeps
        if self.early_stopping and self.validation_scores_ is None:
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
        if not self.early_stopping and self.best_loss_ is None:
            self.best_loss_ = np.inf
        X_val = y_val = weights_val = None
        if self.early_stopping:
            # scikit-learn's split: stratified for single-output classifiers only
            stratify = targets if (is_classifier(self) and self.n_outputs_ == 1) else None
            parts = [X, targets] + ([] if weights is None else [weights])
            parts = train_test_split(*parts, random_state=rng, test_size=self.validation_fraction,
                                     stratify=stratify)
            X, X_val, targets, y_val = parts[:4]
            if weights is not None:
                weights, weights_val = parts[4:]
            if len(X_val) < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                                 "or the size of your dataset.")
            y_val = self._labels_from_targets(y_val)

        n_samples = len(X)
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped", stacklevel=2)
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        if self.batch_norm and batch_size < 2:
            raise ValueError("batch_norm=True needs at least 2 samples per batch; got "
                             f"{n_samples} sample(s) with batch_size={self.batch_size!r}")
        starts = list(range(0, n_samples, batch_size))
        if self.batch_norm and n_samples - starts[-1] == 1:
            starts.pop()  # batch norm cannot train on a batch of one: the last batch takes it
        bounds = list(zip(starts, starts[1:] + [n_samples]))
        order = np.arange(n_samples)

        self.model_.train()
        self.n_iter_ = 0
        layer_weights = [layer.weight for layer in self._linear_layers()]
        # over/invalid: a diverging run ends with one clear error (the loss is checked each step)
        errors = np.errstate(over="ignore", invalid="ignore")
        try:
            errors.__enter__()
            for _ in range(self.max_iter):
                if self.shuffle:  # sklearn.utils.shuffle(order, random_state=rng), without its checks
                    permutation = np.arange(n_samples)
                    rng.shuffle(permutation)
                    order = order[permutation]
                accumulated = 0.0
                for start, stop in bounds:
                    rows = order[start:stop] if self.shuffle else slice(start, stop)
                    batch_weights = None if weights is None else weights[rows]
                    loss = self._step(X[rows], targets[rows], batch_weights, layer_weights)
                    accumulated += loss * (stop - start)
                self.n_iter_ += 1
                self.t_ += n_samples
                self.loss_ = accumulated / n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                self._update_no_improvement_count(X_val, y_val, weights_val)
                if self.solver == "sgd" and self.learning_rate == "invscaling":
                    self._optimizer.lr = self.learning_rate_init / (self.t_ + 1) ** self.power_t
                if self._no_improvement_count > self.n_iter_no_change:
                    if self._stop_or_slow_down():
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                                  "reached and the optimization hasn't converged yet.",
                                  ConvergenceWarning, stacklevel=2)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=2)
        finally:
            errors.__exit__(None, None, None)
            self.model_.eval()
            self._optimizer.zero_grad()
        if self.early_stopping and self._best_state is not None:
            self.model_.load_state_dict(self._best_state)

    def _step(self, X, targets, weights, layer_weights: list) -> float:
        """One step of the solver on a batch; returns the batch's objective before the step."""
        total = len(X) if weights is None else float(weights.sum())
        if total == 0.0:
            return 0.0  # every sample of the batch has weight 0: nothing to learn from
        optimizer = self._optimizer
        optimizer.zero_grad()
        loss = self._data_loss(self.model_(Tensor(X)), targets, weights)
        loss.backward()
        value = float(loss.data) + self._add_penalties(total, layer_weights)
        if not math.isfinite(value):
            raise ValueError(f"The training loss became {value} in epoch {self.n_iter_ + 1}; the "
                             "estimator is left as it was. Lower learning_rate_init or scale X.")
        if self.solver == "adam":
            # scikit-learn adds epsilon to sqrt(v) before the bias correction, PyTorch (and
            # glassnet's Adam) after it; this eps at step t makes the two steps equal.
            state = optimizer.state.get(0)
            step = (state["step"] if state else 0) + 1
            optimizer.eps = self.epsilon / math.sqrt(1.0 - self.beta_2 ** step)
        if self.solver == "adamw" and self.alpha:
            for weight in layer_weights:  # AdamW's decoupled decay: W = W - lr alpha W
                weight.data *= 1.0 - optimizer.lr * self.alpha
        optimizer.step()
        return value

    def _add_penalties(self, total: float, layer_weights: list) -> float:
        """Add the gradients of (alpha/2 ||W||^2 + l1 ||W||_1) / total to each W's gradient and
        return the penalty's value. With solver='adamw', alpha is AdamW's decoupled weight decay
        instead (applied in the step), so it is not part of the loss."""
        alpha = 0.0 if self.solver == "adamw" else self.alpha
        value = 0.0
        for param in layer_weights:
            weight, grad = param.data, param.grad
            flat = weight.ravel()
            if alpha:
                value += 0.5 * alpha * float(np.dot(flat, flat)) / total
                grad += (alpha / total) * weight                   # d/dW alpha/2 ||W||^2 / total
            if self.l1:
                value += self.l1 * float(np.abs(flat).sum()) / total
                grad += (self.l1 / total) * np.sign(weight)         # d/dW l1 ||W||_1 / total
        return value

    def _update_no_improvement_count(self, X_val, y_val, weights_val) -> None:
        if self.early_stopping:
            score = self._score(X_val, y_val, weights_val)
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
            loss = self._data_loss(self.model_(Tensor(X)), targets, weights)
            loss.backward()
            value = float(loss.data) + self._add_penalties(total, layer_weights)
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

