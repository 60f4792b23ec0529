"""The course's perceptron as a scikit-learn estimator: scikit-learn's ``Perceptron``, by hand."""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    check_random_state,
    check_X_y,
    validate_data,
)

from .._checks import (
    boolean,
    integer,
    non_negative_int,
    non_negative_number,
    number_in_range,
    one_of,
    positive_int,
    positive_number,
    probability,
)
from ._perceptron_rule import Problem, fit_one_versus_rest

__all__ = ["Perceptron"]


class Perceptron(ClassifierMixin, BaseEstimator):
    """Rosenblatt's perceptron, trained online with the course's rule: scikit-learn's
    ``sklearn.linear_model.Perceptron``, with its parameters, defaults and attributes.

    The labels become y = +1 (the positive class) and y = -1 (the rest). For each training
    sample x in turn:

        z = w0 + w . x                     (w0: the bias, the weight of a constant input x0 = 1)
        if y z <= 0:                       a mistake (or x exactly on the boundary z = 0)
            w_j <- w_j + eta y x_j         for every feature j
            w0  <- w0  + eta y

    With labels 0/1 and y_hat = step(z) this is the course's rule w_j <- w_j + eta (y - y_hat) x_j:
    y - y_hat is +-1 exactly on a mistake and 0 otherwise. The one difference is z = 0, which
    counts as a mistake for either class (so a fresh perceptron, w = 0, learns from its first
    sample). A correct prediction leaves the weights alone; a wrong one moves the boundary
    towards the misclassified sample. Prediction: ``classes_[1]`` where z > 0, else ``classes_[0]``.

    By the perceptron convergence theorem the rule reaches an epoch without mistakes in finitely
    many epochs if and only if a hyperplane separates the classes. On data that no line
    separates, such as XOR or two concentric circles, the weights keep moving. scikit-learn's
    stopping rule ends training when ``n_iter_no_change`` epochs in a row did not lower the mean
    objective (the perceptron loss max(0, -y z) plus the penalty) by ``tol``; ``tol=None`` runs
    all ``max_iter`` epochs. With more than two classes it trains one perceptron per class, one
    versus the rest, and predicts the class with the largest z.

    The samples are visited in scikit-learn's order (the same shuffles from the same
    ``random_state``), so the weights equal scikit-learn's on the same data, to rounding.

    Parameters
    ----------
    penalty : {None, 'l2', 'l1', 'elasticnet'}, default=None
        'l2' shrinks w after each sample, w <- (1 - eta alpha) w; 'l1' moves each weight towards
        0 by eta alpha (the cumulative truncated gradient); 'elasticnet' does both, mixed by
        ``l1_ratio``. The bias is never penalized.
    alpha : float >= 0, default=1e-4
        The strength of the penalty.
    l1_ratio : float in [0, 1], default=0.15
        The share of L1 in 'elasticnet' (0: 'l2', 1: 'l1').
    fit_intercept : bool, default=True
        Learn w0 (otherwise w0 = 0: the boundary passes through the origin).
    max_iter : int >= 1, default=1000
        The most epochs (passes over the training set).
    tol : float >= 0 or None, default=1e-3
        The stopping rule's improvement; None: never stop before ``max_iter``.
    shuffle : bool, default=True
        Visit the samples in a new order each epoch (scikit-learn's; otherwise as given).
    verbose : int >= 0, default=0
        Print each epoch's norm, bias, mistakes and objective.
    eta0 : float > 0, default=1.0
        The learning rate eta. Without a penalty the weights start at zero and eta only scales
        w and w0 together: it never changes a prediction.
    n_jobs : int or None, default=None
        Accepted for scikit-learn's API; the perceptrons train one after another.
    random_state : int, RandomState instance or None, default=0
        The shuffling and the early-stopping split (numpy.random.RandomState, as scikit-learn).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the samples (stratified) and stop when the accuracy
        on them did not rise by ``tol`` for ``n_iter_no_change`` epochs.
    validation_fraction : float in (0, 1), default=0.1
    n_iter_no_change : int >= 1, default=5
    class_weight : dict, 'balanced' or None, default=None
        Multiplies the step of each class's samples: ``{label: weight}``, or 'balanced' for
        n_samples / (n_classes * count(class)).
    warm_start : bool, default=False
        ``fit`` starts from the fitted coef_ and intercept_ instead of zeros.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted; ``classes_[1]`` is the positive class of a binary problem.
    coef_ : ndarray of shape (1, n_features) for two classes, (n_classes, n_features) otherwise
        w, one row per perceptron.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        w0.
    n_iter_ : int
        Epochs run by the last ``fit`` (the most of any class's perceptron), 1 by ``partial_fit``.
    t_ : float
        1 + the number of sample visits (n_iter_ * n_samples per call), as scikit-learn counts.
    errors_ : list of int, length n_iter_
        Per epoch, the number of mistakes (samples with y z <= 0: each caused an update),
        summed over the perceptrons; 0 once the training set is separated. With ``partial_fit``,
        one entry per call.
    n_features_in_ : int;  feature_names_in_ : ndarray of str (when X had column names)

    Shape
    -----
    - X: ``(n_samples, n_features)``; y: ``(n_samples,)``, any labels (at least two classes)
    - ``predict(X)``: ``(n_samples,)``; ``decision_function(X)``: z, ``(n_samples,)`` for two
      classes, ``(n_samples, n_classes)`` otherwise

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.sklearn import Perceptron
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> y_and = np.array([0, 0, 0, 1])                  # AND: linearly separable
    >>> model = Perceptron(shuffle=False).fit(X, y_and)
    >>> model.predict(X).tolist(), model.errors_[-1], model.coef_.tolist(), model.intercept_.tolist()
    ([0, 0, 0, 1], 0, [[3.0, 2.0]], [-4.0])
    """

    def __init__(self, *, penalty=None, alpha=0.0001, l1_ratio=0.15, fit_intercept=True,
                 max_iter=1000, tol=1e-3, shuffle=True, verbose=0, eta0=1.0, n_jobs=None,
                 random_state=0, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=5, class_weight=None, warm_start=False) -> None:
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.eta0 = eta0
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start

    # ---- training ---------------------------------------------------------------------------------
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None) -> Perceptron:
        """Train on ``X`` (n_samples, n_features) and labels ``y`` (n_samples,) for up to
        ``max_iter`` epochs, from zeros (or ``coef_init``/``intercept_init``, or the fitted
        weights with ``warm_start``); returns self. On any error the estimator is left as it was."""
        return self._all_or_nothing(self._fit, X, y, coef_init, intercept_init, sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None) -> Perceptron:
        """One epoch of the rule over (X, y), going on from the current weights: online
        learning, one batch (or one sample) at a time. The first call needs ``classes``, all the
        labels any call may bring; each call appends its number of mistakes to ``errors_``."""
        return self._all_or_nothing(self._partial_fit, X, y, classes, sample_weight)

    def _all_or_nothing(self, train, *args) -> Perceptron:
        """Run ``train``; on any error put every attribute back as it was."""
        saved = {name: value.copy() if isinstance(value, (np.ndarray, list)) else value
                 for name, value in self.__dict__.items()}
        try:
            train(*args)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
        return self

    def _fit(self, X, y, coef_init, intercept_init, sample_weight) -> None:
        self._check_params()
        classes = self._check_targets(X, y, None)
        X, y = validate_data(self, X, y, dtype=np.float64, order="C")
        sample_weight = self._checked_sample_weight(sample_weight, X)
        class_weights = self._class_weights(classes, y)
        if coef_init is None and self.warm_start and hasattr(self, "coef_"):
            coef_init, intercept_init = self.coef_, self.intercept_
        coef, intercept = _initial_weights(len(classes), X.shape[1], coef_init, intercept_init)
        n_iter, errors = self._train(X, y, classes, coef, intercept, sample_weight,
                                     class_weights, self.max_iter)
        if self.tol is not None and n_iter == self.max_iter:
            warnings.warn(f"Perceptron did not converge in max_iter={self.max_iter} epochs "
                          f"({errors[-1]} errors in the last one); the classes may not be "
                          "linearly separable, or increase max_iter", ConvergenceWarning, stacklevel=3)
        self._set_fitted(classes, coef, intercept, n_iter, 1.0 + n_iter * len(X), errors)

    def _partial_fit(self, X, y, classes, sample_weight) -> None:
        self._check_params()
        first_call = not hasattr(self, "classes_")
        if first_call and self.class_weight == "balanced":
            raise ValueError("class_weight 'balanced' is not supported for partial_fit: pass "
                             "compute_class_weight('balanced', classes=classes, y=y) for a large "
                             "enough sample of y as the class_weight dict instead")
        classes = self._check_targets(X, y, classes, partial=True)
        X, y = validate_data(self, X, y, dtype=np.float64, order="C", reset=first_call)
        sample_weight = self._checked_sample_weight(sample_weight, X)
        class_weights = self._class_weights(classes, y)
        if first_call:
            coef, intercept = _initial_weights(len(classes), X.shape[1], None, None)
        else:
            coef, intercept = self.coef_.copy(), self.intercept_.copy()
        n_iter, errors = self._train(X, y, classes, coef, intercept, sample_weight, class_weights, 1)
        self._set_fitted(classes, coef, intercept, n_iter,
                         (1.0 if first_call else self.t_) + n_iter * len(X),
                         [*getattr(self, "errors_", []), *errors])

    def _train(self, X, y, classes, coef, intercept, sample_weight, class_weights, max_iter):
        """Run the rule (``_perceptron_rule``) on ``coef`` and ``intercept`` in place; returns
        ``(n_iter, errors per epoch)``."""
        penalty = self.penalty
        l1_ratio = {"l2": 0.0, "l1": 1.0}.get(penalty, float(self.l1_ratio))
        problem = Problem(
            X=X, sample_weight=sample_weight, eta=float(self.eta0), alpha=float(self.alpha),
            l1_ratio=l1_ratio, shrink=penalty in ("l2", "elasticnet"),
            truncate=penalty in ("l1", "elasticnet"), fit_intercept=self.fit_intercept,
            max_iter=max_iter, tol=-math.inf if self.tol is None else float(self.tol),
            n_iter_no_change=int(self.n_iter_no_change), early_stopping=self.early_stopping,
            shuffle=self.shuffle, verbose=int(self.verbose))
        return fit_one_versus_rest(self, problem, y, classes, coef, intercept, class_weights)

    def _set_fitted(self, classes, coef, intercept, n_iter, t, errors) -> None:
        self.classes_ = classes
        self.coef_ = coef
        self.intercept_ = intercept
        self.n_iter_ = n_iter
        self.t_ = t
        self.errors_ = errors

    # ---- checks ----------------------------------------------------------------------------------
    def _check_params(self) -> None:
        one_of(self.penalty, "penalty", (None, "l2", "l1", "elasticnet"))
        non_negative_number(self.alpha, "alpha")
        probability(self.l1_ratio, "l1_ratio", include_one=True)
        boolean(self.fit_intercept, "fit_intercept")
        positive_int(self.max_iter, "max_iter")
        if self.tol is not None:
            non_negative_number(self.tol, "tol")
        boolean(self.shuffle, "shuffle")
        if not isinstance(self.verbose, bool):
            non_negative_int(self.verbose, "verbose")
        positive_number(self.eta0, "eta0")
        boolean(self.early_stopping, "early_stopping")
        number_in_range(self.validation_fraction, "validation_fraction", 0.0, 1.0,
                        include_low=False, include_high=False)
        positive_int(self.n_iter_no_change, "n_iter_no_change")
        boolean(self.warm_start, "warm_start")
        if not (self.class_weight is None or isinstance(self.class_weight, dict)
                or (isinstance(self.class_weight, str) and self.class_weight == "balanced")):
            raise ValueError("class_weight must be a dict, 'balanced' or None, got "
                             f"{self.class_weight!r}")
        integer(self.n_jobs, "n_jobs", allow_none=True)
        check_random_state(self.random_state)   # scikit-learn's RandomState, int or None

    def _check_targets(self, X, y, classes, partial=False) -> np.ndarray:
        """Check X and y (the estimator untouched) and return the sorted classes."""
        _, y = check_X_y(X, y, dtype=np.float64)
        check_classification_targets(y)
        if partial and hasattr(self, "classes_"):
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(f"classes={classes!r} differs from the first call's "
                                 f"{self.classes_.tolist()!r}")
            classes = self.classes_
        elif partial:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            classes = np.unique(np.asarray(classes))
        else:
            classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"{'classes' if partial else 'y'} holds one class only "
                             f"({classes[0].tolist()!r}); a perceptron needs at least two classes")
        unknown = np.setdiff1d(y, classes)
        if len(unknown):
            raise ValueError(f"y holds labels {unknown.tolist()!r} that are not in classes "
                             f"{classes.tolist()!r}")
        return classes

    def _class_weights(self, classes, y) -> np.ndarray:
        """The weight of each class (all 1 without ``class_weight``), finite and >= 0."""
        weights = compute_class_weight(self.class_weight, classes=classes, y=y)
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError(f"class_weight must give finite weights >= 0, got {self.class_weight!r}")
        return weights

    def _checked_sample_weight(self, sample_weight, X) -> np.ndarray:
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                             allow_all_zero_weights=self.early_stopping)
        if np.any(sample_weight < 0):
            raise ValueError("sample_weight holds negative values; weights must be >= 0")
        return sample_weight

    # ---- predicting ------------------------------------------------------------------------------
    def decision_function(self, X) -> np.ndarray:
        """z = w0 + w . x per sample: ``(n_samples,)`` for two classes, else ``(n_samples, n_classes)``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        z = X @ self.coef_.T + self.intercept_
        return z.ravel() if z.shape[1] == 1 else z

    def predict(self, X) -> np.ndarray:
        """The class of each sample: ``classes_[1]`` where z > 0 (else ``classes_[0]``) for two
        classes, the class of the largest z otherwise."""
        z = self.decision_function(X)
        if z.ndim == 1:
            return self.classes_[(z > 0).astype(np.intp)]
        return self.classes_[np.argmax(z, axis=1)]


def _initial_weights(n_classes: int, n_features: int, coef_init, intercept_init):
    """``(coef, intercept)``: zeros, or copies of the given starting weights, checked."""
    n_rows = 1 if n_classes == 2 else n_classes
    coef, intercept = np.zeros((n_rows, n_features)), np.zeros(n_rows)
    if coef_init is not None:
        coef_init = np.asarray(coef_init, dtype=np.float64)
        if coef_init.size != coef.size or (n_rows > 1 and coef_init.shape != coef.shape):
            raise ValueError(f"coef_init needs shape {coef.shape}, got {coef_init.shape}")
        coef[...] = coef_init.reshape(coef.shape)
    if intercept_init is not None:
        intercept_init = np.asarray(intercept_init, dtype=np.float64)
        if intercept_init.size != n_rows:
            raise ValueError(f"intercept_init needs shape {intercept.shape}, got {intercept_init.shape}")
        intercept[...] = intercept_init.reshape(n_rows)
    return coef, intercept
