"""MLPClassifier and MLPRegressor: scikit-learn's multi-layer perceptrons, trained by glassnet.

Change one import and keep your code::

    from glassnet.sklearn import MLPClassifier      # was: from sklearn.neural_network import ...

Every parameter of scikit-learn's estimators keeps its name, default and meaning; the fitted
attributes and methods are the same. glassnet adds what scikit-learn's MLP lacks: more hidden
activations, the solvers 'adagrad', 'rmsprop', 'adamw' and 'adamax', ``dropout``, ``batch_norm``, ``l1``,
``init``, ``class_weight`` and the regression losses 'absolute_error' and 'huber'; and
``model_``, the trained glassnet network, to inspect, plot or save with ``glassnet.save``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax, xlogy
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import column_or_1d, validate_data

from .. import losses
from ..ops.fused import softmax_cross_entropy
from ._mlp import BaseMLP

_PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        The number of units of each hidden layer.
    activation : str, default='relu'
        The hidden layers' activation phi: scikit-learn's 'identity', 'logistic' (also called
        'sigmoid'), 'tanh', 'relu', and every other activation of glassnet's registry usable
        between hidden layers ('leaky_relu' (slope 0.01), 'elu', 'gelu', 'silu', ...):
        ``glassnet.functional.hidden_activation_names(aliases=True)``.
    solver : {'adam', 'sgd', 'lbfgs', 'adagrad', 'rmsprop', 'adamw', 'adamax'}, default='adam'
        'sgd': the course's SGD, with ``momentum`` (v = momentum v + lr grad; w = w - v) and
        Nesterov's look-ahead (``nesterovs_momentum``); 'adam' (``beta_1``, ``beta_2``,
        ``epsilon``, added to sqrt(v) before the bias correction as scikit-learn does);
        'lbfgs': scipy's L-BFGS-B on the whole training set, as
        scikit-learn; 'adagrad' (the course's form, ``epsilon`` inside the square root),
        'rmsprop' (``beta_2`` is the decay of the squared-gradient average) and 'adamw'
        (``alpha`` becomes AdamW's decoupled weight decay, W = W - lr alpha W per step);
        'adamax' (``beta_1``, ``beta_2``, ``epsilon``: Adam with a decaying maximum of |grad|).
    alpha : float >= 0, default=1e-4
        L2 penalty: adds alpha/2 ||W||^2 / n_batch to the loss (weights only, not biases).
    batch_size : int or 'auto', default='auto'
        Samples per mini-batch; 'auto' is min(200, n_samples). Not used by 'lbfgs'.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        The schedule of solver='sgd' (as in scikit-learn): 'invscaling' sets
        lr = learning_rate_init / (t + 1)^power_t after each epoch (t: samples seen);
        'adaptive' divides lr by 5 whenever ``n_iter_no_change`` epochs bring no improvement
        of ``tol``, and stops when lr falls to 1e-6.
    learning_rate_init : float > 0, default=1e-3
        The (initial) learning rate eta of the stochastic solvers.
    power_t : float >= 0, default=0.5
        The exponent of 'invscaling'.
    max_iter : int >= 1, default=200
        The most epochs (stochastic solvers) or iterations ('lbfgs').
    shuffle : bool, default=True
        Shuffle the samples each epoch (stochastic solvers).
    random_state : int, RandomState instance or None, default=None
        The initial weights, the shuffling, the early-stopping split and the dropout masks. The
        same int gives the same initial weights and batches as scikit-learn's MLP (unless
        ``dropout`` > 0 or another ``init``: their generator is seeded from the same stream
        first).
    tol : float >= 0, default=1e-4
        Training stops (or, with 'adaptive', slows down) when the loss (or, with
        ``early_stopping``, the validation score) has not improved by ``tol`` for
        ``n_iter_no_change`` epochs in a row. For 'lbfgs': the gradient tolerance.
    verbose : bool, default=False
        Print the loss after each epoch.
    warm_start : bool, default=False
        Continue from the fitted network at the next ``fit`` (the optimizer starts afresh).
    momentum : float in [0, 1), default=0.9
        The momentum gamma of solver='sgd'.
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for solver='sgd' (when momentum > 0).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data, score it after each epoch, stop
        when the score stops improving, and keep the weights of the best epoch. A diverging run
        then scores NaN and carries on, as scikit-learn's; without early stopping a loss that
        is no longer finite is an error (scikit-learn's message, with the epoch).
    validation_fraction : float in [0, 1), default=0.1
        The held-out share for ``early_stopping``.
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.999
        Adam's decay rates of the first and second moments (beta_2 also RMSprop's decay).
    epsilon : float > 0, default=1e-8
        The numerical-stability term of adam, adamw, adagrad and rmsprop.
    n_iter_no_change : int >= 1 or inf, default=10
        Epochs without improvement before stopping (see ``tol``).
    max_fun : int >= 1, default=15000
        The most loss evaluations of 'lbfgs'.
    l1 : float >= 0, default=0.0
        L1 penalty: adds l1 ||W||_1 / n_batch to the loss (weights only).
    dropout : float in [0, 1), default=0.0
        Dropout after each hidden activation: in training each unit is zeroed with this
        probability (and the others scaled by 1 / (1 - dropout)); off in prediction. Not with
        'lbfgs'.
    batch_norm : bool, default=False
        Batch normalization between each hidden layer's z and its activation (needs batches
        of at least two samples).
    init : str, default='xavier_uniform'
        The initial weights. 'xavier_uniform' is scikit-learn's Glorot scheme: W and b drawn
        from U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (sqrt(2 / ...) with 'logistic'). The
        others are ``glassnet.init``'s ('xavier_normal', 'he_uniform', 'he_normal', 'normal',
        'uniform', 'zeros'), with zero biases.
"""

_ATTRIBUTES = """
    Attributes
    ----------
    loss_ : float
        The objective at the end of training (the last epoch's mean batch loss, or the final
        L-BFGS value).
    best_loss_ : float or None
        The smallest ``loss_curve_`` value (None with ``early_stopping`` and a stochastic solver).
    loss_curve_ : list of float
        The loss of each epoch (each L-BFGS iteration).
    validation_scores_, best_validation_score_ : list of float, float or None
        With ``early_stopping``: the score of each epoch on the held-out set, and the best one.
    t_ : int
        Training samples seen by the stochastic solver.
    coefs_, intercepts_ : list of ndarray
        W (``(n_in, n_out)``) and b of each layer: the network's own arrays.
    n_features_in_ : int;  feature_names_in_ : ndarray of str (when X had column names)
    n_iter_ : int
        Epochs (iterations for 'lbfgs') of the last fit.
    n_layers_ : int
        Layers including input and output.
    n_outputs_ : int
        Output units.
    out_activation_ : str
        The output activation.
    model_ : glassnet.nn.Sequential
        The trained network. It maps X to the output layer's z, before the output activation;
        use it like any glassnet module (``glassnet.save``, ``glassnet.plot``, ...).
"""


def _weighted_mean(terms, weights):
    """sum_i w_i L_i / sum_i w_i (the plain mean without weights), as scikit-learn averages."""
    if weights is None:
        return terms.mean()
    return (terms * weights).sum() / float(weights.sum())


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = ("""Multi-layer perceptron classifier: scikit-learn's ``MLPClassifier``, trained by glassnet.

    The output layer is one sigmoid unit for two classes (binary cross-entropy), a softmax over
    the classes for more (categorical cross-entropy), and one sigmoid unit per label for a
    multilabel indicator matrix y. The objective is the weighted mean cross-entropy plus the
    penalties (see ``alpha`` and ``l1``).
""" + _PARAMETERS + """    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight``: ``{label: weight}``, or
        'balanced' for n_samples / (n_classes * count(class)). Single-label y only; 'balanced'
        is not available in ``partial_fit`` (its counts would change batch by batch).
""" + _ATTRIBUTES + """    classes_ : ndarray
        The class labels.

    Example
    -------
    >>> from sklearn.datasets import load_iris
    >>> from glassnet.sklearn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = MLPClassifier((16,), solver="lbfgs", random_state=0).fit(X, y)
    >>> model.score(X, y) > 0.95, model.predict_proba(X[:1]).shape
    (True, (1, 3))
    """)

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, l1=0.0, dropout=0.0, batch_norm=False,
                 init="xavier_uniform", class_weight=None) -> None:
        self._set_parameters(locals())

    # ---- public methods ---------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None) -> MLPClassifier:
        """Train on X ``(n_samples, n_features)`` and y (labels ``(n_samples,)`` or a multilabel
        indicator matrix ``(n_samples, n_labels)``), optionally weighting each sample; returns
        self. On any error the estimator is left as it was."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(lambda estimator: estimator._check_solver())
    def partial_fit(self, X, y, sample_weight=None, classes=None) -> MLPClassifier:
        """One epoch over (X, y), continuing the fitted network. The first call needs
        ``classes``, all the labels that any later call may bring."""
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each sample (a 0/1 indicator row for multilabel y)."""
        return self._predictions(self._outputs(X))

    def decision_function(self, X) -> np.ndarray:
        """z of the output layer, before its activation: ``(n_samples,)`` for two classes
        (z > 0 predicts ``classes_[1]``), else ``(n_samples, n_classes or n_labels)``."""
        z = self._outputs(X)
        return z.ravel() if z.shape[1] == 1 else z

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)``, columns in the order of ``classes_``
        (per-label probabilities for multilabel y; a column of ones after a one-class fit)."""
        return self._probabilities(self._outputs(X))

    def predict_log_proba(self, X) -> np.ndarray:
        """log of ``predict_proba`` (the same ties, so the same argmax, as scikit-learn's); where
        a probability rounds to 0, the exact log-probability from z instead of -inf."""
        z = self._outputs(X)
        proba = self._probabilities(z)
        with np.errstate(divide="ignore"):
            return np.where(proba > 0, np.log(proba), self._probabilities(z, log=True))

    def _probabilities(self, z, log=False) -> np.ndarray:
        """predict_proba from z; with ``log``, its exact log (log-softmax, log-sigmoid)."""
        if self.out_activation_ == "softmax":
            return log_softmax(z, axis=1) if log else softmax(z, axis=1)
        sigmoid = log_expit if log else expit
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return sigmoid(z)
        if len(self.classes_) == 1:                  # a one-class fit: that class, surely
            return np.full((len(z), 1), 0.0 if log else 1.0, dtype=z.dtype)
        return np.hstack([sigmoid(-z), sigmoid(z)])  # P(classes_[0]), P(classes_[1])

    # ---- the subclass part of training -------------------------------------------------------------
    def _validate_input(self, X, y, incremental, reset, classes=None):
        if incremental and _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y if type_of_target(y).startswith("multilabel") else classes)
        X, y = validate_data(self, X, y, multi_output=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "_label_binarizer") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            labels = unique_labels(y)
            if self.warm_start and not incremental and set(labels) != set(self.classes_):
                raise ValueError("warm_start can only be used where `y` has the same classes as in "
                                 f"the previous call to fit. Previously got {self.classes_}, `y` has "
                                 f"{labels}")
            if len(np.setdiff1d(labels, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {labels}.")
        multilabel = self._label_binarizer.y_type_ == "multilabel-indicator"
        # one class fits as in scikit-learn: one sigmoid unit learns "not classes_[0]" = 0
        indicator = self._label_binarizer.transform(y)
        if self._label_binarizer.y_type_ == "multiclass":
            targets = indicator.argmax(axis=1)          # class indices for the softmax output
        else:
            targets = indicator.astype(X.dtype)         # 0/1 per sigmoid output unit
        return X, targets, self._class_weights(y, indicator, multilabel, incremental, X.dtype)

    def _class_weights(self, y, indicator, multilabel, incremental, dtype):
        """Per-sample weights from ``class_weight`` (None when there is none)."""
        if self.class_weight is None:
            return None
        if multilabel:
            raise ValueError("class_weight is not supported for multilabel y")
        if incremental and self.class_weight == "balanced":
            raise ValueError("class_weight='balanced' is not supported for partial_fit: pass "
                             "compute_class_weight('balanced', classes=classes, y=y_sample) for a "
                             "large enough sample of the targets as a dict instead")
        per_class = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
        if not np.all(np.isfinite(per_class)) or np.any(per_class < 0):
            raise ValueError(f"class_weight must give finite weights >= 0, got {self.class_weight!r}")
        index = indicator[:, 0] if indicator.shape[1] == 1 else indicator.argmax(axis=1)
        return per_class[index].astype(dtype)

    def _output_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _data_loss(self, z, targets, weights):
        """Cross-entropy: softmax with class indices, or one sigmoid per output (summed)."""
        if targets.ndim == 1:
            return softmax_cross_entropy(z, targets, None, weights, "mean")
        terms = losses.binary_cross_entropy_with_logits(z, targets, reduction="none")
        return _weighted_mean(terms.sum(axis=1), weights)

    def _predictions(self, z) -> np.ndarray:
        if self.out_activation_ == "softmax":
            return self.classes_[np.argmax(z, axis=1)]
        return self._label_binarizer.inverse_transform((z > 0).astype(int))  # p > 0.5

    def _labels_from_targets(self, targets):
        if targets.ndim == 1:
            return self.classes_[targets]
        return self._label_binarizer.inverse_transform(targets.astype(int))

    @staticmethod
    def _score_function(y, y_pred, sample_weight=None):
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    __doc__ = ("""Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor``, trained by glassnet.

    The output layer is linear (one unit per target; exponential with loss='poisson'). The
    objective is the weighted mean of the loss below over the samples (averaged over the
    targets) plus the penalties (see ``alpha`` and ``l1``).

    Parameters
    ----------
    loss : {'squared_error', 'absolute_error', 'huber', 'poisson'}, default='squared_error'
        Per sample, with d = prediction - y: 'squared_error' 1/2 d^2 (scikit-learn's half
        squared error), 'absolute_error' |d|, 'huber' 1/2 d^2 for |d| <= 1 else |d| - 1/2,
        'poisson' scikit-learn's half Poisson deviance with a log link (prediction = e^z,
        loss y log(y / e^z) - y + e^z summed over the targets; needs y >= 0).
""" + _PARAMETERS.split("----------\n", 1)[1] + _ATTRIBUTES + """
    Notes
    -----
    With several targets, scikit-learn reports the squared error averaged over them but
    steps along the gradient of their sum; here the loss and its gradient agree (the
    average), so the steps are 1/n_targets of scikit-learn's.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.sklearn import MLPRegressor
    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
    >>> model = MLPRegressor(hidden_layer_sizes=(20,), solver="lbfgs", random_state=0).fit(X, X.ravel() ** 2)
    >>> model.score(X, X.ravel() ** 2) > 0.99
    True
    """)

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "absolute_error", "huber", "poisson"})],
    }

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 l1=0.0, dropout=0.0, batch_norm=False, init="xavier_uniform") -> None:
        self._set_parameters(locals())

    # ---- public methods ---------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None) -> MLPRegressor:
        """Train on X ``(n_samples, n_features)`` and y ``(n_samples,)`` or
        ``(n_samples, n_targets)``, optionally weighting each sample; returns self. On any error
        the estimator is left as it was."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(lambda estimator: estimator._check_solver())
    def partial_fit(self, X, y, sample_weight=None) -> MLPRegressor:
        """One epoch over (X, y), continuing the fitted network."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Predictions ``(n_samples,)`` for one target, ``(n_samples, n_targets)`` for several."""
        return self._predictions(self._outputs(X))

    # ---- the subclass part of training -------------------------------------------------------------
    def _validate_input(self, X, y, incremental, reset, classes=None):
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("Some value(s) of y are negative which is not allowed for Poisson "
                             "regression.")
        return X, y.reshape(len(y), -1).astype(X.dtype), None

    def _output_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _data_loss(self, z, targets, weights):
        if self.loss == "poisson":  # e^z - y z + (y log y - y): half the Poisson deviance
            constant = (xlogy(targets, targets) - targets).sum(axis=1)
            return _weighted_mean((z.exp() - z * targets).sum(axis=1) + constant, weights)
        if self.loss == "squared_error":
            terms = losses.mse(z, targets, reduction="none") * 0.5
        elif self.loss == "absolute_error":
            terms = losses.mae(z, targets, reduction="none")
        else:
            terms = losses.huber(z, targets, reduction="none")
        return _weighted_mean(terms.mean(axis=1), weights)

    def _predictions(self, z) -> np.ndarray:
        if self.loss == "poisson":
            z = np.exp(z)
        return z.ravel() if z.shape[1] == 1 else z

    @staticmethod
    def _score_function(y, y_pred, sample_weight=None):
        return r2_score(y, y_pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
