"""scikit-learn estimators built on glassnet: fit, predict, score, and the attributes ending in ``_``.

- :class:`Perceptron`: Rosenblatt's perceptron, trained with the course's rule: scikit-learn's
  ``Perceptron`` (same parameters, attributes and weights) written out in NumPy.
- :class:`MLPClassifier`, :class:`MLPRegressor`: drop-in replacements for scikit-learn's
  ``sklearn.neural_network`` estimators (same parameters, attributes and methods) trained by
  glassnet, with more activations and solvers, dropout, batch normalization, L1, weight
  initializers, ``class_weight`` and more regression losses.

They pass scikit-learn's own estimator checks and work in Pipeline, GridSearchCV, ensembles and
under joblib's Dask backend; see ``docs/sklearn.md``.
"""

from .mlp import MLPClassifier, MLPRegressor
from .perceptron import Perceptron

__all__ = ["MLPClassifier", "MLPRegressor", "Perceptron"]
