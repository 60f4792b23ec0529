"""Every dataset: shapes, dtypes, stratified splits, seeds, names, argument errors, no network."""

import random
import socket
import urllib.request

import numpy as np
import pytest

from glassnet import data
from glassnet.data import DATASETS, Dataset, load_dataset

# small but realistic settings, so that every loader runs in well under a second
FAST = {"mnist1d": {"n_samples": 500}}
SEEDED = ["circles", "moons", "xor", "spirals", "blobs", "iris", "digits", "mnist1d"]
EXPECTED = {  # name: (n_samples, n_features, n_classes) with the defaults (mnist1d: FAST)
    "circles": (500, 2, 2), "moons": (500, 2, 2), "xor": (400, 2, 2), "spirals": (600, 2, 2),
    "blobs": (500, 2, 3), "iris": (150, 4, 3), "digits": (1797, 64, 10), "mnist1d": (500, 40, 10),
}


def load(name, **kwargs):
    return load_dataset(name, **{**FAST.get(name, {}), **kwargs})


def test_every_dataset_is_registered():
    assert sorted(DATASETS) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shapes_dtypes_and_names(name):
    n_samples, n_features, n_classes = EXPECTED[name]
    dataset = load(name)
    assert isinstance(dataset, Dataset) and dataset.name == name
    assert dataset.task == "classification"
    X_train, X_test, y_train, y_test = dataset            # scikit-learn's order
    assert X_train is dataset.X_train and y_test is dataset.y_test
    n_test = 1000 * n_samples // 5000 if name == "mnist1d" else int(np.ceil(0.25 * n_samples))
    assert X_train.shape == (n_samples - n_test, n_features)
    assert X_test.shape == (n_test, n_features)
    assert y_train.shape == (n_samples - n_test,) and y_test.shape == (n_test,)
    assert X_train.dtype == X_test.dtype == np.float32
    assert y_train.dtype == y_test.dtype == np.int64
    assert X_train.flags.c_contiguous and X_test.flags.c_contiguous
    assert np.isfinite(X_train).all() and np.isfinite(X_test).all()
    assert len(dataset.feature_names) == dataset.n_features == n_features
    assert len(dataset.target_names) == dataset.n_classes == n_classes
    assert set(np.unique(np.concatenate([y_train, y_test]))) == set(range(n_classes))
    assert repr(dataset) == (f"Dataset(name={name!r}, task='classification', "
                             f"n_train={n_samples - n_test}, n_test={n_test}, "
                             f"n_features={n_features}, n_classes={n_classes})")


@pytest.mark.parametrize("name", ["circles", "moons", "xor", "spirals", "blobs", "iris", "digits"])
def test_split_is_stratified(name):
    dataset = load(name, seed=3)
    y_all = np.concatenate([dataset.y_train, dataset.y_test])
    share_all = np.bincount(y_all) / len(y_all)
    share_test = np.bincount(dataset.y_test, minlength=dataset.n_classes) / len(dataset.y_test)
    # stratification rounds each class's test count to within one sample of its exact share
    np.testing.assert_array_less(np.abs(share_test - share_all), 1.0 / len(dataset.y_test) + 1e-12)


@pytest.mark.parametrize("name", ["circles", "moons", "xor", "spirals", "blobs"])
def test_generated_sets_are_balanced(name):
    dataset = load(name)
    counts = np.bincount(np.concatenate([dataset.y_train, dataset.y_test]))
    assert counts.max() - counts.min() <= 1


def test_mnist1d_uses_the_packages_split_with_about_a_tenth_per_class():
    dataset = load("mnist1d")
    counts = np.bincount(np.concatenate([dataset.y_train, dataset.y_test]), minlength=10)
    np.testing.assert_array_equal(counts, np.full(10, 50))
    assert np.bincount(dataset.y_test, minlength=10).min() >= 3   # 100 test samples, 10 classes


@pytest.mark.parametrize("name", SEEDED)
def test_same_seed_same_data_other_seed_other_data(name):
    first, again, other = load(name, seed=5), load(name, seed=5), load(name, seed=6)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.X_train, other.X_train)


def test_seed_may_be_a_generator():
    a = data.load_circles(seed=np.random.default_rng(1))
    b = data.load_circles(seed=np.random.default_rng(1))
    np.testing.assert_array_equal(a.X_train, b.X_train)


def test_mnist1d_defaults_equal_the_packages_generator_and_keep_global_random_state():
    from mnist1d.data import get_dataset_args, make_dataset

    np.random.seed(123)  # noqa: NPY002 (the legacy global state is what is tested)
    random.seed(123)
    dataset = data.load_mnist1d()
    # the caller's global generators continue as if nothing had happened
    after_numpy, after_python = np.random.rand(), random.random()  # noqa: NPY002 (the legacy global state is what is tested)
    np.random.seed(123)  # noqa: NPY002 (the legacy global state is what is tested)
    random.seed(123)
    assert after_numpy == np.random.rand() and after_python == random.random()  # noqa: NPY002 (the legacy global state is what is tested)

    reference = make_dataset(get_dataset_args())
    assert dataset.X_train.shape == (4000, 40) and dataset.X_test.shape == (1000, 40)
    np.testing.assert_array_equal(dataset.X_train, reference["x"].astype(np.float32))
    np.testing.assert_array_equal(dataset.X_test, reference["x_test"].astype(np.float32))
    np.testing.assert_array_equal(dataset.y_train, reference["y"])
    np.testing.assert_array_equal(dataset.y_test, reference["y_test"])


def test_loading_needs_no_network(monkeypatch, tmp_path):
    import requests

    def no_network(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(requests, "get", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.chdir(tmp_path)
    shapes = {name: load(name).X_train.shape for name in DATASETS}
    assert shapes["mnist1d"] == (400, 40) and shapes["iris"] == (112, 4)
    assert list(tmp_path.iterdir()) == []          # and no cache file written (mnist1d pickles)


def test_xor_is_the_truth_table_without_noise():
    dataset = data.load_xor(n_samples=40, noise=0.0)
    X = np.concatenate([dataset.X_train, dataset.X_test])
    y = np.concatenate([dataset.y_train, dataset.y_test])
    table = {tuple(map(int, x)): int(label) for x, label in zip(X, y)}
    assert table == {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 0}
    assert len({tuple(x) for x in X.tolist()}) == 4


def test_circles_radii_and_moons_names():
    circles = data.load_circles(noise=0.0, factor=0.3)
    radius = np.linalg.norm(np.concatenate([circles.X_train, circles.X_test]), axis=1)
    y = np.concatenate([circles.y_train, circles.y_test])
    np.testing.assert_allclose(radius[y == 0], 1.0, rtol=1e-6)    # outer
    np.testing.assert_allclose(radius[y == 1], 0.3, rtol=1e-6)    # inner
    assert circles.target_names == ("outer", "inner")
    moons = data.load_moons(noise=0.0)
    X = np.concatenate([moons.X_train, moons.X_test])
    y = np.concatenate([moons.y_train, moons.y_test])
    assert X[y == 0, 1].mean() > X[y == 1, 1].mean()             # "upper" above "lower"


def test_spirals_follow_their_formula_without_noise():
    dataset = data.load_spirals(n_samples=300, n_arms=3, turns=0.5, noise=0.0)
    X = np.concatenate([dataset.X_train, dataset.X_test]).astype(np.float64)
    arm = np.concatenate([dataset.y_train, dataset.y_test])
    radius = np.linalg.norm(X, axis=1)
    theta = 2 * np.pi * (arm / 3 + 0.5 * radius)     # theta = 2 pi (k / n_arms + turns r)
    np.testing.assert_allclose(X[:, 0], radius * np.cos(theta), atol=1e-5)
    np.testing.assert_allclose(X[:, 1], radius * np.sin(theta), atol=1e-5)
    assert dataset.target_names == ("arm 0", "arm 1", "arm 2")
    assert np.bincount(arm).tolist() == [100, 100, 100]


def test_blobs_with_given_centres():
    centres = [[-5.0, 0.0, 1.0], [5.0, 0.0, 1.0]]
    dataset = data.load_blobs(n_samples=400, centers=centres, cluster_std=0.5)
    assert dataset.n_features == 3 and dataset.target_names == ("0", "1")
    for label, centre in enumerate(centres):
        np.testing.assert_allclose(dataset.X_train[dataset.y_train == label].mean(axis=0), centre,
                                   atol=0.15)


def test_iris_and_digits_match_scikit_learn():
    from sklearn.datasets import load_digits, load_iris

    iris = data.load_iris()
    assert iris.feature_names == tuple(load_iris().feature_names)
    assert iris.target_names == ("setosa", "versicolor", "virginica")
    all_rows = np.concatenate([iris.X_train, iris.X_test])
    np.testing.assert_array_equal(np.sort(all_rows, axis=0),
                                  np.sort(load_iris().data.astype(np.float32), axis=0))
    digits = data.load_digits()
    assert digits.X_train.min() == 0 and digits.X_train.max() == 16
    assert digits.target_names == tuple(str(d) for d in range(10))
    assert len(digits.feature_names) == 64 and digits.feature_names[0] == load_digits().feature_names[0]


def test_test_size_sets_the_split():
    dataset = data.load_iris(test_size=0.2)
    assert (len(dataset.y_train), len(dataset.y_test)) == (120, 30)
    mnist = data.load_mnist1d(n_samples=200, test_size=0.3)
    assert (len(mnist.y_train), len(mnist.y_test)) == (140, 60)


def test_standardized_copy():
    dataset = data.load_digits()
    scaled = dataset.standardized()
    assert scaled.X_train.dtype == np.float32 and scaled.y_train is dataset.y_train
    np.testing.assert_allclose(scaled.X_train.mean(axis=0), 0.0, atol=1e-5)
    std = scaled.X_train.std(axis=0)
    constant = dataset.X_train.std(axis=0) == 0        # digits has always-blank corner pixels
    assert constant.any()
    np.testing.assert_allclose(std[~constant], 1.0, rtol=1e-4)
    np.testing.assert_array_equal(std[constant], 0.0)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError) as error:
        load_dataset("mnist")
    assert str(error.value) == ("unknown dataset 'mnist'; known datasets: circles, moons, xor, "
                                "spirals, blobs, iris, digits, mnist1d (or a path to a .csv file)")
    with pytest.raises(TypeError, match="name must be a str, got int 3"):
        load_dataset(3)


@pytest.mark.parametrize("call, error, message", [
    (lambda: data.load_circles(n_samples=2), ValueError, "n_samples must be an int >= 4, got 2"),
    (lambda: data.load_circles(n_samples=10.0), TypeError, "n_samples must be an int >= 4, got float 10.0"),
    (lambda: data.load_circles(noise=-0.1), ValueError, "noise must be >= 0, got -0.1"),
    (lambda: data.load_circles(factor=1.5), ValueError, r"factor must be in \(0, 1\), got 1.5"),
    (lambda: data.load_moons(test_size=1.0), ValueError, r"test_size must be in \(0, 1\), got 1.0"),
    (lambda: data.load_xor(test_size=0), ValueError, r"test_size must be in \(0, 1\), got 0"),
    (lambda: data.load_xor(seed=-1), ValueError, r"seed must be in \[0, 2\*\*32\), got -1"),
    (lambda: data.load_xor(seed="a"), TypeError, "rng must be an int seed"),
    (lambda: data.load_spirals(n_arms=1), ValueError, "n_arms must be an int >= 2, got 1"),
    (lambda: data.load_spirals(turns=0), ValueError, "turns must be > 0, got 0"),
    (lambda: data.load_blobs(centers=1), ValueError, "centers must be an int >= 2, got 1"),
    (lambda: data.load_blobs(centers=[[0.0, 1.0]]), ValueError,
     r"centers must be an int >= 2 or a finite array .* got shape \(1, 2\)"),
    (lambda: data.load_mnist1d(n_samples=105), ValueError, "n_samples must be a multiple of 10"),
    (lambda: data.load_iris(test_size=0.01), ValueError,
     r"cannot split the 150 samples of 'iris' with test_size=0.01: .*"),
    (lambda: load_dataset("circles", colour="red"), TypeError, "unexpected keyword argument 'colour'"),
])
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
