"""The course's perceptron as a scikit-learn estimator."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_X_y, validate_data

from .._checks import boolean, positive_int, positive_number
from ..random import get_rng

__all__ = ["Perceptron"]


def perceptron_step(z: np.ndarray) -> np.ndarray:
    """The step activation: y_hat = 1 if z >= 0 else 0 (as ``glassnet.functional.step``)."""
    return (z >= 0).astype(np.float64)


class Perceptron(ClassifierMixin, BaseEstimator):
    """Rosenblatt's perceptron, trained online with the course's rule.

    For each training sample x with label y in {0, 1}, in turn:

        z     = w0 + w . x                 (w0: the bias, the weight of a constant input x0 = 1)
        y_hat = step(z) = 1 if z >= 0 else 0
        w_j  <- w_j + eta (y - y_hat) x_j   for every feature j
        w0   <- w0  + eta (y - y_hat)

    A correct prediction leaves the weights alone; a wrong one moves the boundary towards the
    misclassified sample. The weights start at zero, so eta only scales w and w0 together and
    never changes a prediction; it is kept because it is the course's rule.

    By the perceptron convergence theorem the rule reaches zero training errors in finitely many
    epochs if and only if a hyperplane separates the classes (the data is linearly separable).
    An epoch without errors changes no weight, so training stops there (``n_iter_`` epochs). On
    data that no line separates, such as XOR or two concentric circles, it never converges: the
    weights keep moving, accuracy stays near chance, and after ``max_iter`` epochs a
    ``ConvergenceWarning`` says so. A hidden layer (an MLP) is the way out.

    With more than two classes it trains one perceptron per class, one versus the rest (label 1
    for that class, 0 for all others), all in the same pass over the samples, and predicts the
    class whose perceptron has the largest z.

    Parameters
    ----------
    eta0 : float > 0
        The learning rate eta (scikit-learn's name for it).
    max_iter : int >= 1
        The most epochs (passes over the training set).
    shuffle : bool
        Visit the samples in a new random order each epoch (otherwise in the given order).
    random_state : int, numpy.random.Generator or None
        The randomness of the shuffling (None: glassnet's default generator, see
        ``glassnet.seed``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted; ``classes_[1]`` is the positive class of a binary problem.
    coef_ : ndarray of shape (1, n_features) for two classes, (n_classes, n_features) otherwise
        w, one row per perceptron.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        w0.
    n_iter_ : int
        Epochs run (by the last ``fit``, or by all ``partial_fit`` calls since).
    errors_ : list of int, length n_iter_
        Per epoch, the number of samples that caused an update (a wrong y_hat of any of the
        perceptrons); 0 in the last epoch when training converged.
    n_features_in_ : int

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
    >>> model.predict(X).tolist(), model.errors_[-1]
    ([0, 0, 0, 1], 0)
    """

    def __init__(self, eta0=0.1, max_iter=100, shuffle=True, random_state=None) -> None:
        self.eta0 = eta0
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state

    def fit(self, X, y) -> Perceptron:
        """Train on ``X`` (n_samples, n_features) and labels ``y`` (n_samples,); returns self."""
        self._check_params()
        # check_X_y first: validate_data records n_features_in_, which must not change on bad input
        _, y = check_X_y(X, y, dtype=np.float64)
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"y holds one class only ({classes[0].tolist()!r}); a perceptron "
                             "needs at least two classes")
        X, y = validate_data(self, X, y, dtype=np.float64)
        rng = get_rng(self.random_state)
        targets = self._targets(y_index, len(classes))
        weights = np.zeros((X.shape[1], targets.shape[1]))    # w, one column per perceptron
        bias = np.zeros(targets.shape[1])                      # w0
        errors = []
        for _ in range(self.max_iter):
            errors.append(self._epoch(X, targets, weights, bias, rng))
            if errors[-1] == 0:  # converged: no later epoch can change a weight
                break
        else:
            warnings.warn(f"Perceptron did not converge in max_iter={self.max_iter} epochs "
                          f"({errors[-1]} errors in the last one); the classes may not be "
                          "linearly separable", ConvergenceWarning, stacklevel=2)

        self.classes_ = classes
        self.coef_ = weights.T.copy()
        self.intercept_ = bias
        self.n_iter_ = len(errors)
        self.errors_ = errors
        return self

    def partial_fit(self, X, y, classes=None) -> Perceptron:
        """One epoch of the rule over (X, y), going on from the current weights: online
        learning, one batch (or one sample) at a time. The first call needs ``classes``, all the
        labels any call may bring; each call appends its number of updates to ``errors_``."""
        self._check_params()
        _, y = check_X_y(X, y, dtype=np.float64)
        check_classification_targets(y)
        first_call = not hasattr(self, "classes_")
        if first_call:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            classes = np.unique(np.asarray(classes))
            if len(classes) < 2:
                raise ValueError(f"classes holds {len(classes)} label(s); a perceptron needs at "
                                 "least two")
        else:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(f"classes={classes!r} differs from the first call's "
                                 f"{self.classes_.tolist()!r}")
            classes = self.classes_
        unknown = np.setdiff1d(y, classes)
        if len(unknown):
            raise ValueError(f"y holds labels {unknown.tolist()!r} that are not in classes "
                             f"{classes.tolist()!r}")
        X, y = validate_data(self, X, y, dtype=np.float64, reset=first_call)
        targets = self._targets(np.searchsorted(classes, y), len(classes))
        if first_call:
            weights, bias = np.zeros((X.shape[1], targets.shape[1])), np.zeros(targets.shape[1])
        else:
            weights, bias = self.coef_.T.copy(), self.intercept_.copy()
        n_errors = self._epoch(X, targets, weights, bias, get_rng(self.random_state))
        self.classes_ = classes
        self.coef_ = weights.T.copy()
        self.intercept_ = bias
        self.errors_ = [*getattr(self, "errors_", []), n_errors]
        self.n_iter_ = len(self.errors_)
        return self

    @staticmethod
    def _targets(y_index: np.ndarray, n_classes: int) -> np.ndarray:
        """t[i, k] in {0, 1}: one column for binary (the positive class), else one per class."""
        if n_classes == 2:
            return y_index.reshape(-1, 1).astype(np.float64)
        return np.eye(n_classes)[y_index]

    def _epoch(self, X, targets, weights, bias, rng) -> int:
        """One pass of the rule over the samples, updating ``weights`` and ``bias`` in place;
        returns the number of samples that caused an update."""
        order = rng.permutation(len(X)) if self.shuffle else range(len(X))
        n_errors = 0
        for i in order:
            y_hat = perceptron_step(bias + X[i] @ weights)
            error = targets[i] - y_hat                     # y - y_hat, in {-1, 0, 1}
            if error.any():
                weights += self.eta0 * np.outer(X[i], error)   # w_j <- w_j + eta (y - y_hat) x_j
                bias += self.eta0 * error                      # w0 <- w0 + eta (y - y_hat) 1
                n_errors += 1
        return n_errors

    def decision_function(self, X) -> np.ndarray:
        """z = w0 + w . x per sample: ``(n_samples,)`` for two classes, else ``(n_samples, n_classes)``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        z = X @ self.coef_.T + self.intercept_
        return z.ravel() if len(self.classes_) == 2 else z

    def predict(self, X) -> np.ndarray:
        """The class of each sample: step(z) for two classes, the largest z otherwise."""
        z = self.decision_function(X)
        if len(self.classes_) == 2:
            return self.classes_[perceptron_step(z).astype(np.intp)]
        return self.classes_[np.argmax(z, axis=1)]

    def _check_params(self) -> None:
        positive_number(self.eta0, "eta0")
        positive_int(self.max_iter, "max_iter")
        boolean(self.shuffle, "shuffle")
