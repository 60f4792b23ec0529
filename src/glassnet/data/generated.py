"""The generated 2-D datasets of the course (and Gaussian blobs in any dimension), seeded.

Each loader draws its points (here, or with scikit-learn's ``make_*``), then splits them into a
stratified train and test set: see :class:`glassnet.data.Dataset`. Labels are class indices
``0 .. n_classes - 1``, named in ``target_names``.
"""

from __future__ import annotations

import numpy as np

from .._checks import integer, non_negative_number, number_in_range, positive_number
from .dataset import Dataset, _int_seed, _split, _xy_names

__all__ = ["load_blobs", "load_circles", "load_moons", "load_spirals", "load_xor"]


def load_circles(n_samples=500, noise=0.1, factor=0.5, test_size=0.25, seed=0) -> Dataset:
    """Two concentric circles: the inner one (label 1) inside the outer one (label 0).

    Not linearly separable: a perceptron stays near chance, one hidden layer solves it.

    Parameters
    ----------
    n_samples : int
        Points in total, half on each circle.
    noise : float
        Standard deviation of the Gaussian noise added to every coordinate.
    factor : float in (0, 1)
        Radius of the inner circle relative to the outer one (radius 1).
    test_size : float in (0, 1)
        Fraction of the samples held out for testing.
    seed : int, numpy.random.Generator or None
        Seeds both the points and the split.

    Shape
    -----
    X: ``(n_samples, 2)``, y: ``(n_samples,)`` in {0, 1}, before the split.

    Example
    -------
    >>> from glassnet.data import load_circles
    >>> X_train, X_test, y_train, y_test = load_circles(n_samples=200, seed=0)
    >>> X_train.shape, X_test.shape
    ((150, 2), (50, 2))
    """
    from sklearn.datasets import make_circles

    n_samples = integer(n_samples, "n_samples", minimum=4)
    noise = non_negative_number(noise, "noise")
    factor = number_in_range(factor, "factor", 0, 1, include_low=False, include_high=False)
    X, y = make_circles(n_samples, noise=noise, factor=factor, random_state=_int_seed(seed))
    return _split(X, y, name="circles", test_size=test_size, seed=seed,
                  feature_names=_xy_names(2), target_names=("outer", "inner"))


def load_moons(n_samples=500, noise=0.1, test_size=0.25, seed=0) -> Dataset:
    """Two interleaving half circles: the upper moon (label 0) and the lower one (label 1).

    Parameters are those of :func:`load_circles` (no ``factor``).

    Example
    -------
    >>> from glassnet.data import load_moons
    >>> load_moons(n_samples=100, seed=0).target_names
    ('upper', 'lower')
    """
    from sklearn.datasets import make_moons

    n_samples = integer(n_samples, "n_samples", minimum=4)
    noise = non_negative_number(noise, "noise")
    X, y = make_moons(n_samples, noise=noise, random_state=_int_seed(seed))
    return _split(X, y, name="moons", test_size=test_size, seed=seed,
                  feature_names=_xy_names(2), target_names=("upper", "lower"))


def load_xor(n_samples=400, noise=0.1, test_size=0.25, seed=0) -> Dataset:
    """The XOR problem: four Gaussian clusters at the corners of the unit square.

    Corner (x1, x2) has label x1 XOR x2, the course's truth table: (0, 0) -> 0, (0, 1) -> 1,
    (1, 0) -> 1, (1, 1) -> 0. No straight line separates the two classes, so a single perceptron
    cannot solve it. The corners get equal shares of ``n_samples`` (the first ones one more when
    it is not a multiple of 4).

    Parameters
    ----------
    n_samples : int
    noise : float
        Standard deviation of each cluster around its corner (0 gives the four exact corners).
    test_size, seed
        As in :func:`load_circles`.

    Example
    -------
    >>> from glassnet.data import load_xor
    >>> X_train, X_test, y_train, y_test = load_xor(n_samples=40, noise=0.0, seed=0)
    >>> sorted(set(map(tuple, X_train.tolist())))
    [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
    """
    n_samples = integer(n_samples, "n_samples", minimum=4)
    noise = non_negative_number(noise, "noise")
    rng = np.random.default_rng(_int_seed(seed))
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    corner = corners[np.arange(n_samples) % 4]
    X = corner + noise * rng.standard_normal((n_samples, 2))
    y = corner[:, 0] ^ corner[:, 1]
    return _split(X, y, name="xor", test_size=test_size, seed=seed,
                  feature_names=_xy_names(2), target_names=("0", "1"))


def load_spirals(n_samples=600, n_arms=2, turns=1.0, noise=0.05, test_size=0.25,
                 seed=0) -> Dataset:
    """``n_arms`` interleaved spiral arms, one class each: a hard problem for small networks.

    A point on arm k at radius r in [0, 1) has angle theta = 2 pi (k / n_arms + turns * r) and
    sits at r (cos theta, sin theta) plus Gaussian noise. The arms meet at the centre, where a
    few points of different arms overlap. Each arm gets an equal share of ``n_samples``.

    Parameters
    ----------
    n_samples : int
    n_arms : int, at least 2
        The number of arms, and of classes.
    turns : float
        How many full turns each arm makes from the centre to radius 1.
    noise : float
        Standard deviation of the noise added to each coordinate.
    test_size, seed
        As in :func:`load_circles`.

    Example
    -------
    >>> from glassnet.data import load_spirals
    >>> data = load_spirals(n_samples=300, n_arms=3, seed=0)
    >>> data.n_classes, data.X_train.shape
    (3, (225, 2))
    """
    n_arms = integer(n_arms, "n_arms", minimum=2)
    n_samples = integer(n_samples, "n_samples", minimum=2 * n_arms)
    turns = positive_number(turns, "turns")
    noise = non_negative_number(noise, "noise")
    rng = np.random.default_rng(_int_seed(seed))
    arm = np.arange(n_samples) % n_arms
    radius = rng.uniform(0.0, 1.0, n_samples)
    theta = 2 * np.pi * (arm / n_arms + turns * radius)
    X = radius[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
    X += noise * rng.standard_normal((n_samples, 2))
    return _split(X, arm, name="spirals", test_size=test_size, seed=seed,
                  feature_names=_xy_names(2), target_names=tuple(f"arm {k}" for k in range(n_arms)))


def load_blobs(n_samples=500, centers=3, n_features=2, cluster_std=1.0, test_size=0.25,
               seed=0) -> Dataset:
    """Isotropic Gaussian blobs, one class per blob (scikit-learn's ``make_blobs``).

    Parameters
    ----------
    n_samples : int
    centers : int or array-like of shape (n_classes, n_features)
        How many blobs (their centres drawn uniformly in [-10, 10]^n_features), or the centres.
    n_features : int
        Ignored when ``centers`` gives the centres.
    cluster_std : float
        Standard deviation of each blob.
    test_size, seed
        As in :func:`load_circles`.

    Example
    -------
    >>> from glassnet.data import load_blobs
    >>> data = load_blobs(n_samples=100, centers=[[-5, 0], [5, 0]], cluster_std=0.5, seed=0)
    >>> data.n_classes, data.n_features
    (2, 2)
    """
    from sklearn.datasets import make_blobs

    n_samples = integer(n_samples, "n_samples", minimum=4)
    cluster_std = non_negative_number(cluster_std, "cluster_std")
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        n_centers = integer(centers, "centers", minimum=2)
        n_features = integer(n_features, "n_features", minimum=1)
    else:
        centers = np.asarray(centers, dtype=np.float64)
        if centers.ndim != 2 or len(centers) < 2 or not np.isfinite(centers).all():
            raise ValueError("centers must be an int >= 2 or a finite array of shape "
                             f"(n_classes >= 2, n_features), got shape {centers.shape}")
        n_centers, n_features = centers.shape
    X, y = make_blobs(n_samples, n_features=n_features, centers=centers,
                      cluster_std=cluster_std, random_state=_int_seed(seed))
    return _split(X, y, name="blobs", test_size=test_size, seed=seed,
                  feature_names=_xy_names(n_features),
                  target_names=tuple(str(k) for k in range(n_centers)))
