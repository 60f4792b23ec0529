"""nn.Impute: scikit-learn's SimpleImputer numbers, NaN only, its gradient, the model file, nn.mlp's
impute option, and fit / evaluate / predict letting NaN through only to a model that fills it."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.impute import SimpleImputer

import glassnet as gn
from glassnet import losses, nn, optim
from oracle import check_against_torch, check_finite_differences


def with_gaps(rng, shape=(60, 4), fraction=0.25):
    X = rng.normal(loc=3.0, scale=2.0, size=shape)
    X[rng.random(shape) < fraction] = np.nan
    return X


@pytest.mark.parametrize("strategy", ["mean", "median", "constant"])
def test_same_numbers_as_simple_imputer(rng, strategy):
    X = with_gaps(rng, (61, 5))                # odd and even counts of observed values per column
    X[:, 3] = np.nan                           # a column without any observed value
    X[:7, 4] = np.nan
    new = with_gaps(rng, (20, 5), fraction=0.4)
    imputer = SimpleImputer(strategy=strategy, fill_value=-1.5, keep_empty_features=True)
    if strategy != "constant":  # sklearn fills an empty column with 0 for mean/median; we, with fill_value
        imputer = SimpleImputer(strategy=strategy, keep_empty_features=True)
    expected = imputer.fit(X)
    fill_value = -1.5 if strategy == "constant" else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        layer = nn.Impute(5, strategy=strategy, fill_value=fill_value, dtype="float64").fit(X)
    np.testing.assert_array_equal(layer.statistics, expected.statistics_)
    np.testing.assert_array_equal(layer(new).numpy(), expected.transform(new))
    # float32: the same statistics, rounded once
    layer32 = nn.Impute(5, strategy=strategy, fill_value=fill_value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        layer32.fit(X)
    assert layer32.statistics.dtype == np.float32 and layer32(new).dtype == np.float32
    np.testing.assert_array_equal(layer32.statistics, expected.statistics_.astype(np.float32))


def test_median_of_an_even_count_is_the_mean_of_the_middle_two():
    X = np.array([[1.0, np.nan], [4.0, 2.0], [np.nan, 8.0], [10.0, 5.0], [2.0, np.nan]])
    layer = nn.Impute(2, strategy="median", dtype="float64").fit(X)
    np.testing.assert_array_equal(layer.statistics, [3.0, 5.0])   # (2 + 4) / 2 and the middle of 2, 5, 8


def test_an_empty_column_is_filled_with_fill_value_and_named_in_a_warning():
    X = np.array([[1.0, np.nan, 3.0], [2.0, np.nan, np.nan]])
    with pytest.warns(UserWarning, match=r"column\(s\) \[1\] have no observed value.*fill_value=7.0"):
        layer = nn.Impute(3, strategy="mean", fill_value=7.0).fit(X)
    np.testing.assert_array_equal(layer.statistics, [1.5, 7.0, 3.0])


def test_only_nan_is_filled_and_everything_else_passes_bit_for_bit(rng):
    layer = nn.Impute(3, dtype="float64").fit(with_gaps(rng, (30, 3)))
    x = rng.normal(size=(8, 3)) * 1e30
    x[2, 1] = np.nan
    x[5, 0] = -0.0
    out = layer(x).numpy()
    observed = ~np.isnan(x)
    np.testing.assert_array_equal(out[observed], x[observed])
    assert np.signbit(out[5, 0])
    assert out[2, 1] == layer.statistics[1]
    assert not np.isnan(layer(np.full((2, 3), np.nan)).numpy()).any()


def test_infinity_is_not_a_missing_value(rng):
    layer = nn.Impute(2).fit(np.array([[1.0, np.nan], [3.0, 4.0]]))
    before = layer.statistics.copy()
    with pytest.raises(ValueError, match="infinite values; only NaN counts as missing"):
        layer(np.array([[np.inf, np.nan]]))
    with pytest.raises(ValueError, match="infinite values; only NaN counts as missing"):
        layer.fit(np.array([[1.0, -np.inf], [np.nan, 2.0]]))
    np.testing.assert_array_equal(layer.statistics, before)   # a refused fit changes nothing


def test_gradient_passes_to_observed_cells_and_is_zero_for_filled_ones(rng):
    layer = nn.Impute(4, strategy="median", dtype="float64").fit(with_gaps(rng, (30, 4)))
    x = rng.normal(size=(5, 4))
    x[[0, 2, 2, 4], [1, 0, 3, 3]] = np.nan
    check_finite_differences(lambda t: (layer(t) ** 2).sum(axis=1), x)
    statistics = torch.tensor(layer.statistics)
    check_against_torch(lambda t: layer(t) ** 2,
                        lambda t: torch.where(torch.isnan(t), statistics, t) ** 2, x)
    t = gn.Tensor(x, requires_grad=True)
    layer(t).sum().backward()
    np.testing.assert_array_equal(t.grad, (~np.isnan(x)).astype(np.float64))
    assert list(layer.parameters()) == []


def test_a_saved_model_takes_raw_rows_with_gaps(tmp_path, rng):
    """Impute + Standardize + network, saved and loaded, predicts what SimpleImputer followed by
    the same network (without the Impute layer) predicts."""
    X = with_gaps(rng, (80, 4))
    model = nn.mlp(4, (6,), 3, standardize_with=X, impute="median", rng=0)
    path = tmp_path / "model.safetensors"
    gn.save(model, path)
    loaded = gn.load(path)
    assert type(loaded[0]) is nn.Impute and loaded[0].strategy == "median"
    np.testing.assert_array_equal(loaded[0].statistics, model[0].statistics)
    new = with_gaps(rng, (25, 4), fraction=0.5)
    np.testing.assert_array_equal(gn.predict(loaded, new), gn.predict(model, new))
    filled = SimpleImputer(strategy="median").fit(X).transform(new)
    without_impute = nn.Sequential(*list(model)[1:])
    np.testing.assert_allclose(gn.predict(loaded, new), gn.predict(without_impute, filled), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(gn.predict(loaded, new), gn.predict(without_impute, filled.astype(np.float32)))


def test_mlp_puts_impute_before_standardize_fitted_on_the_filled_data(rng):
    X = with_gaps(rng, (50, 3))
    model = nn.mlp(3, (5,), 2, standardize_with=X, impute="mean", fill_value=2.0, rng=0)
    assert [type(layer).__name__ for layer in model][:3] == ["Impute", "Standardize", "Linear"]
    filled = SimpleImputer(strategy="mean").fit_transform(X)
    np.testing.assert_allclose(model[1].mean, filled.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(model[1].scale, filled.std(axis=0), rtol=1e-6)
    assert model[0].fill_value == 2.0
    # the same weights as without impute: the preprocessing layers draw no random numbers
    plain = nn.mlp(3, (5,), 2, standardize_with=filled, rng=0)
    np.testing.assert_array_equal(model[2].weight.data, plain[1].weight.data)
    assert [type(layer).__name__ for layer in nn.mlp(3, (5,), 2, impute="constant", rng=0)][:2] == ["Impute", "Linear"]
    with pytest.raises(ValueError, match="impute='median' learns from training data: pass standardize_with"):
        nn.mlp(3, (5,), 2, impute="median")
    with pytest.raises(ValueError, match="impute must be 'mean', 'median' or 'constant', got 'mode'"):
        nn.mlp(3, (5,), 2, standardize_with=X, impute="mode")
    with pytest.raises(ValueError, match="fill_value must be finite"):
        nn.mlp(3, (5,), 2, standardize_with=X, impute="mean", fill_value=float("nan"))


def test_fit_refuses_nan_by_default_and_trains_through_an_impute_layer(rng):
    """Training on NaN behind an Impute layer ends with exactly the weights of training on
    SimpleImputer's output without one."""
    X = with_gaps(rng, (64, 3))
    y = (np.nan_to_num(X[:, 0], nan=3.0) > 3.0).astype(np.int64)
    plain = nn.mlp(3, (8,), 2, standardize_with=np.nan_to_num(X), rng=0)
    with pytest.raises(ValueError, match=r"X contains NaN or infinite values; to fill missing values \(NaN\), "
                                         r"put an nn.Impute layer first"):
        gn.fit(plain, X, y, loss=losses.cross_entropy, optimizer=optim.SGD(plain.parameters(), lr=0.1), verbose=0)

    def train(model, data):
        return gn.fit(model, data, y, loss=losses.cross_entropy, optimizer=optim.Adam(model.parameters(), lr=0.01),
                      epochs=5, batch_size=16, validation_split=0.25, seed=0, verbose=0)

    model = nn.mlp(3, (8,), 2, standardize_with=X, impute="mean", rng=0)
    filled = SimpleImputer(strategy="mean").fit_transform(X)
    reference = nn.Sequential(*[
        layer for layer in nn.mlp(3, (8,), 2, standardize_with=X, impute="mean", rng=0)][1:])
    history = train(model, X)
    expected = train(reference, filled)
    assert history.history["loss"] == expected.history["loss"]
    np.testing.assert_array_equal(model[2].weight.data, reference[1].weight.data)
    assert gn.evaluate(model, X, y, loss="cross_entropy") == gn.evaluate(reference, filled, y, loss="cross_entropy")
    gn.fit(model, X, y, loss=losses.cross_entropy, optimizer=optim.SGD(model.parameters(), lr=0.1),
           validation_data=(X[:10], y[:10]), epochs=1, verbose=0)


def test_infinity_stays_refused_with_an_impute_layer(rng):
    X = with_gaps(rng, (20, 3))
    model = nn.Sequential(nn.Sequential(nn.Impute(3).fit(X)), nn.Linear(3, 2, rng=0))  # nested: still first
    assert not np.isnan(gn.predict(model, X)).any()
    weights = model[1].weight.data.copy()
    X[4, 2] = np.inf
    y = np.zeros(20, np.int64)
    for call in (lambda: gn.predict(model, X), lambda: gn.evaluate(model, X, y, loss="cross_entropy"),
                 lambda: gn.fit(model, X, y, loss=losses.cross_entropy,
                                optimizer=optim.SGD(model.parameters(), lr=0.1), verbose=0)):
        with pytest.raises(ValueError, match="X contains infinite values"):
            call()
    np.testing.assert_array_equal(model[1].weight.data, weights)
    # an Impute layer that is not the first does not open the door
    later = nn.Sequential(nn.Linear(3, 3, rng=0), nn.Impute(3))
    with pytest.raises(ValueError, match="NaN or infinite"):
        gn.predict(later, np.full((2, 3), np.nan))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"num_features": 0}, ValueError, "num_features must be"),
    ({"num_features": 2, "strategy": "most_frequent"}, ValueError, "strategy must be 'mean', 'median' or 'constant'"),
    ({"num_features": 2, "strategy": None}, TypeError, "strategy must be"),
    ({"num_features": 2, "fill_value": "0"}, TypeError, "fill_value must be a real number"),
    ({"num_features": 2, "fill_value": float("inf")}, ValueError, "fill_value must be finite"),
    ({"num_features": 2, "fill_value": 1e39}, ValueError, "fill_value does not fit in float32"),
    ({"num_features": 2, "dtype": "int32"}, TypeError, "dtype must be float32 or float64"),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        nn.Impute(**kwargs)


@pytest.mark.parametrize("X, error, message", [
    (np.zeros((3, 3)), ValueError, r"shape \(n, 2\), got \(3, 3\)"),
    (np.zeros((0, 2)), ValueError, r"non-empty array of shape \(n, 2\), got \(0, 2\)"),
    (np.zeros(2), ValueError, r"got \(2,\)"),
    (np.array([["a", "b"]]), TypeError, "expects numbers"),
    (np.array([[1e39, 1.0]]), ValueError, "a fitted statistic does not fit in float32"),
])
def test_bad_training_data_changes_nothing(X, error, message):
    layer = nn.Impute(2, strategy="mean").fit(np.array([[1.0, 2.0], [3.0, np.nan]]))
    with pytest.raises(error, match=message):
        layer.fit(X)
    np.testing.assert_array_equal(layer.statistics, [2.0, 2.0])
    with pytest.raises(ValueError, match=r"\(batch, 2\), got \(4, 3\)"):
        layer(np.zeros((4, 3)))


def test_unfitted_fills_with_fill_value_and_config_round_trips():
    layer = nn.Impute(3, strategy="median", fill_value=-1.0, dtype="float64")
    np.testing.assert_array_equal(layer(np.array([[np.nan, 2.0, np.nan]])).numpy(), [[-1.0, 2.0, -1.0]])
    assert layer.get_config() == {"num_features": 3, "strategy": "median", "fill_value": -1.0, "dtype": "float64"}
    assert repr(layer) == "Impute(num_features=3, strategy='median', fill_value=-1.0)"
    assert nn.Impute.accepts_missing and not getattr(nn.Standardize, "accepts_missing", False)
    from_tensor = nn.Impute(2, strategy="median").fit(gn.Tensor(np.array([[1.0, np.nan], [3.0, 4.0]])))
    np.testing.assert_array_equal(from_tensor.statistics, [2.0, 4.0])
