"""RNN, LSTM and GRU: gradients vs central differences (float64), outputs and every gradient vs
PyTorch (weights copied by a transpose), parameter names, dropout, unbatched input, configs and
errors."""

import json

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from oracle import check_module_against_torch, check_module_gradients

torch.set_default_dtype(torch.float64)

KINDS = {"RNN": (nn.RNN, torch.nn.RNN), "LSTM": (nn.LSTM, torch.nn.LSTM), "GRU": (nn.GRU, torch.nn.GRU)}


def make_pair(kind, input_size=3, hidden_size=2, dtype=np.float64, **options):
    """Our layer (seeded) and PyTorch's, with PyTorch's weights set to the transposes of ours."""
    ours_class, torch_class = KINDS[kind]
    ours = ours_class(input_size, hidden_size, dtype=dtype, rng=0, **options)
    options.setdefault("batch_first", True)  # our default; PyTorch's is False
    theirs = torch_class(input_size, hidden_size, dtype=torch.float64 if dtype == np.float64 else torch.float32,
                         **options)
    with torch.no_grad():
        for name, parameter in theirs.named_parameters():
            parameter.copy_(torch.tensor(getattr(ours, name).data.T))
    return ours, theirs


def state_shape(layer, batch):
    directions = 2 if layer.bidirectional else 1
    return (directions * layer.num_layers, batch, layer.hidden_size)


def flat_outputs(result):
    """(output, h_n) or (output, (h_n, c_n)) -> [output, h_n(, c_n)]."""
    output, final = result
    return [output, *final] if isinstance(final, tuple) else [output, final]


def inputs_and_states(kind, layer, rng, batch=2, length=3, dtype=np.float64):
    shape = (batch, length, layer.input_size) if layer.batch_first else (length, batch, layer.input_size)
    x = rng.normal(size=shape).astype(dtype)
    states = [rng.normal(size=state_shape(layer, batch)).astype(dtype) for _ in range(2 if kind == "LSTM" else 1)]
    return x, states


def call(layer, x, states):
    if states is None:
        return layer(x)
    return layer(x, tuple(states) if len(states) == 2 else states[0])


# ---- finite differences ---------------------------------------------------------------------

def check_finite_differences(layer, x, states):
    """Gradients of sum_k v_k * output_k (output, h_n and c_n, each with a fixed random v_k) with
    respect to x, the initial states and every parameter, vs central differences."""
    check_module_gradients(layer, x, *states, forward=lambda m, x, *states: call(m, x, states), seed=1)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (1, True), (2, False), (2, True)])
def test_gradients_match_finite_differences(kind, num_layers, bidirectional):
    layer = KINDS[kind][0](3, 2, num_layers=num_layers, bidirectional=bidirectional, dtype=np.float64, rng=0)
    x, states = inputs_and_states(kind, layer, np.random.default_rng(0))
    check_finite_differences(layer, x, states)


def test_relu_rnn_and_no_bias_match_finite_differences():
    for layer in (nn.RNN(3, 2, nonlinearity="relu", bidirectional=True, dtype=np.float64, rng=0),
                  nn.GRU(3, 2, bias=False, dtype=np.float64, rng=0),
                  nn.LSTM(3, 2, bias=False, batch_first=False, dtype=np.float64, rng=0)):
        kind = type(layer).__name__
        x, states = inputs_and_states(kind, layer, np.random.default_rng(2))
        check_finite_differences(layer, x, states)


# ---- PyTorch --------------------------------------------------------------------------------

def check_against_torch(kind, with_states=True, dtype=np.float64, atol=1e-10, rtol=1e-8, **options):
    """Outputs, h_n (c_n) and the gradients of the input, the initial states and every weight and
    bias, ours vs PyTorch's, under the same random upstream gradients."""
    ours, theirs = make_pair(kind, dtype=dtype, **options)
    x, states = inputs_and_states(kind, ours, np.random.default_rng(3), batch=3, length=5, dtype=dtype)
    check_module_against_torch(ours, theirs, x, *(states if with_states else ()),
                               forward=lambda m, x, *states: call(m, x, states or None),
                               dtype=dtype, atol=atol, rtol=rtol, seed=3)


OPTIONS = [
    {},
    {"bidirectional": True},
    {"num_layers": 2, "bidirectional": True},
    {"num_layers": 3},
    {"num_layers": 2, "bidirectional": True, "batch_first": False},
    {"num_layers": 2, "bidirectional": True, "bias": False},
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_against_torch(kind, options):
    check_against_torch(kind, **options)


@pytest.mark.parametrize("kind", KINDS)
def test_against_torch_without_initial_states(kind):
    check_against_torch(kind, with_states=False, num_layers=2, bidirectional=True)


def test_relu_rnn_against_torch():
    check_against_torch("RNN", nonlinearity="relu", num_layers=2, bidirectional=True)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_against_torch(kind):
    check_against_torch(kind, dtype=np.float32, atol=1e-5, rtol=1e-4, num_layers=2, bidirectional=True)


@pytest.mark.parametrize("kind", KINDS)
def test_long_sequence_and_wide_input_against_torch(kind):
    # Longer than the tiny cases: gradients through 30 steps, and an input of several features.
    ours, theirs = make_pair(kind, input_size=5, hidden_size=4, bidirectional=True)
    x = np.random.default_rng(4).normal(size=(2, 30, 5))
    our_x, their_x = gn.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    our_out, their_out = ours(our_x)[0], theirs(their_x)[0]
    np.testing.assert_allclose(our_out.data, their_out.detach().numpy(), atol=1e-10)
    (our_out * our_out).sum().backward()
    (their_out * their_out).sum().backward()
    np.testing.assert_allclose(our_x.grad, their_x.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.weight_hh_l0_reverse.grad.T, theirs.weight_hh_l0_reverse.grad.numpy(),
                               atol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input_against_torch(kind):
    ours, theirs = make_pair(kind, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 3))
    states = [rng.normal(size=(4, 2)) for _ in range(2 if kind == "LSTM" else 1)]
    ours_outputs = flat_outputs(call(ours, x, states))
    theirs_outputs = flat_outputs(call(theirs, torch.tensor(x), [torch.tensor(s) for s in states]))
    assert [o.shape for o in ours_outputs] == [(4, 4)] + [(4, 2)] * len(states)
    for a, b in zip(ours_outputs, theirs_outputs):
        np.testing.assert_allclose(a.data, b.detach().numpy(), atol=1e-10)


# ---- parameters -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_names_and_shapes_are_pytorchs_transposed(kind):
    ours, theirs = make_pair(kind, num_layers=2, bidirectional=True)
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    assert {k: v.shape for k, v in ours_state.items()} == {k: tuple(v.shape)[::-1] for k, v in theirs_state.items()}
    gates = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind]
    assert ours.weight_ih_l0.shape == (3, gates * 2)
    assert ours.weight_ih_l1_reverse.shape == (4, gates * 2)  # reads both directions of layer 0
    assert ours.weight_hh_l1.shape == (2, gates * 2)


def test_weights_load_from_pytorch_by_transpose():
    _, theirs = make_pair("LSTM", num_layers=2)
    ours = nn.LSTM(3, 2, num_layers=2, dtype=np.float64, rng=1)
    ours.load_state_dict({name: value.numpy().T for name, value in theirs.state_dict().items()})
    x = np.random.default_rng(6).normal(size=(2, 4, 3))
    np.testing.assert_allclose(ours(x)[0].data, theirs(torch.tensor(x))[0].detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_initialization_is_pytorchs_uniform_and_seeded(kind):
    layer = KINDS[kind][0](4, 25, num_layers=2, bidirectional=True, rng=0)
    bound = 1 / np.sqrt(25)
    values = np.concatenate([p.data.ravel() for p in layer.parameters()])
    assert values.dtype == np.float32
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.99 * bound
    assert abs(values.mean()) < 0.02 * bound
    np.testing.assert_allclose(values.std(), bound / np.sqrt(3), rtol=0.05)  # std of U(-b, b)
    again = KINDS[kind][0](4, 25, num_layers=2, bidirectional=True, rng=0)
    assert all(np.array_equal(a, b) for a, b in zip(layer.state_dict().values(), again.state_dict().values()))
    other = KINDS[kind][0](4, 25, num_layers=2, bidirectional=True, rng=1)
    assert not np.array_equal(layer.weight_hh_l0.data, other.weight_hh_l0.data)


# ---- dropout between layers -----------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_dropout_only_in_training_and_only_between_layers(kind):
    layer_class = KINDS[kind][0]
    x = np.random.default_rng(7).normal(size=(3, 6, 2))
    plain = layer_class(2, 5, num_layers=2, dtype=np.float64, rng=0)
    dropped = layer_class(2, 5, num_layers=2, dropout=0.5, dtype=np.float64, rng=0)
    expected = flat_outputs(plain(x))
    dropped.eval()
    for _ in range(2):  # evaluation: deterministic, the same as without dropout
        for a, b in zip(flat_outputs(dropped(x)), expected):
            np.testing.assert_array_equal(a.data, b.data)
    dropped.train()
    first, second = dropped(x)[0].data, dropped(x)[0].data
    assert not np.allclose(first, expected[0].data)
    assert not np.allclose(first, second)  # a new mask at each call
    # Only between layers: with one layer, dropout changes nothing, even in training.
    single = layer_class(2, 5, dropout=0.5, dtype=np.float64, rng=0)
    single_plain = layer_class(2, 5, dtype=np.float64, rng=0)
    np.testing.assert_array_equal(single(x)[0].data, single_plain(x)[0].data)


def test_dropout_masks_are_reproducible_with_a_seed():
    x = np.random.default_rng(8).normal(size=(3, 6, 2))
    a = nn.GRU(2, 5, num_layers=3, dropout=0.3, rng=4)
    b = nn.GRU(2, 5, num_layers=3, dropout=0.3, rng=4)
    np.testing.assert_array_equal(a(x)[0].data, b(x)[0].data)


def test_dropout_gradient_flows_through_kept_values():
    layer = nn.LSTM(2, 3, num_layers=2, dropout=0.4, dtype=np.float64, rng=0)
    x = gn.Tensor(np.random.default_rng(9).normal(size=(2, 4, 2)), requires_grad=True)
    layer(x)[0].sum().backward()
    assert np.all(np.isfinite(x.grad)) and np.abs(x.grad).sum() > 0
    assert np.abs(layer.weight_ih_l1.grad).sum() > 0


# ---- configs, repr, save and load -----------------------------------------------------------

CONFIG_LAYERS = [
    nn.RNN(3, 4), nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bias=False, batch_first=False, dropout=0.2,
                         bidirectional=True, dtype=np.float64),
    nn.LSTM(1, 6, bidirectional=True), nn.GRU(2, 3, num_layers=3, dropout=0.1),
]


@pytest.mark.parametrize("layer", CONFIG_LAYERS, ids=repr)
def test_config_is_json_and_rebuilds_the_layer(layer):
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    rebuilt = type(layer)(**config)
    assert rebuilt.get_config() == config and repr(rebuilt) == repr(layer)
    assert {k: (v.shape, v.dtype) for k, v in rebuilt.state_dict().items()} == \
        {k: (v.shape, v.dtype) for k, v in layer.state_dict().items()}


def test_config_and_repr_values():
    assert CONFIG_LAYERS[1].get_config() == {
        "input_size": 3, "hidden_size": 4, "num_layers": 2, "nonlinearity": "relu", "bias": False,
        "batch_first": False, "dropout": 0.2, "bidirectional": True, "dtype": "float64"}
    assert nn.GRU(2, 3).get_config() == {"input_size": 2, "hidden_size": 3, "num_layers": 1, "bias": True,
                                         "batch_first": True, "dropout": 0.0, "bidirectional": False,
                                         "dtype": "float32"}
    assert repr(nn.GRU(1, 6, bidirectional=True)) == "GRU(1, 6, bidirectional=True)"
    assert repr(CONFIG_LAYERS[1]) == ("RNN(3, 4, num_layers=2, nonlinearity='relu', bias=False, batch_first=False, "
                                      "dropout=0.2, bidirectional=True)")


def test_save_and_load_round_trip(tmp_path):
    layer = nn.GRU(1, 6, bidirectional=True, rng=0)
    gn.save(layer, tmp_path / "gru.safetensors")
    loaded = gn.load(tmp_path / "gru.safetensors")
    x = np.random.default_rng(10).normal(size=(2, 5, 1))
    assert type(loaded) is nn.GRU and loaded.get_config() == layer.get_config()
    np.testing.assert_array_equal(loaded(x)[0].data, layer(x)[0].data)


# ---- errors -----------------------------------------------------------------------------------

def test_wrong_input_rank_and_features():
    gru = nn.GRU(3, 4)
    with pytest.raises(ValueError, match=r"3 dimensions \(batch, seq_len, input_size\).*got shape \(5,\)"):
        gru(np.zeros(5))
    with pytest.raises(ValueError, match=r"got shape \(1, 2, 3, 3\)"):
        gru(np.zeros((1, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"\(seq_len, batch, input_size\)"):
        nn.GRU(3, 4, batch_first=False)(np.zeros((2, 3)).ravel())
    with pytest.raises(ValueError, match=r"GRU\(input_size=3\) expects an input whose last dimension is 3, "
                                         r"got shape \(2, 5, 4\)"):
        gru(np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match="at least one step"):
        gru(np.zeros((2, 0, 3)))
    with pytest.raises(TypeError, match="float32 parameters but input has dtype float64"):
        gru(gn.Tensor(np.zeros((2, 5, 3)), dtype=np.float64))


def test_wrong_initial_states():
    with pytest.raises(ValueError, match=r"expects h0 of shape \(2, 5, 4\) .* got \(1, 5, 4\)"):
        nn.GRU(3, 4, bidirectional=True)(np.zeros((5, 7, 3)), np.zeros((1, 5, 4)))
    with pytest.raises(ValueError, match=r"expects h0 of shape \(2, 4\) .* got \(2, 1, 4\)"):
        nn.RNN(3, 4, num_layers=2)(np.zeros((7, 3)), np.zeros((2, 1, 4)))
    lstm = nn.LSTM(3, 4)
    with pytest.raises(TypeError, match=r"tuple \(h0, c0\), got ndarray"):
        lstm(np.zeros((5, 7, 3)), np.zeros((1, 5, 4)))
    with pytest.raises(ValueError, match=r"expects c0 of shape \(1, 5, 4\) .* got \(1, 5, 3\)"):
        lstm(np.zeros((5, 7, 3)), (np.zeros((1, 5, 4)), np.zeros((1, 5, 3))))


def test_bad_arguments():
    with pytest.raises(ValueError, match="hidden_size must be a positive int, got 0"):
        nn.GRU(3, 0)
    with pytest.raises(TypeError, match="num_layers must be a positive int"):
        nn.LSTM(3, 4, num_layers=1.5)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.0"):
        nn.GRU(3, 4, dropout=1.0)
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(TypeError, match="bidirectional must be True or False, got str 'yes'"):
        nn.RNN(3, 4, bidirectional="yes")
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        nn.LSTM(3, 4, dtype=np.int32)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_batch_of_no_sequences_gives_empty_outputs_and_backward_works(kind, bidirectional):
    # It used to raise NumPy's "cannot reshape array of size 0" (a reshape with -1).
    layer = KINDS[kind][0](3, 4, num_layers=2, bidirectional=bidirectional, dtype=np.float32)
    x = gn.Tensor(np.zeros((0, 5, 3), np.float32), requires_grad=True)
    out, state = layer(x)
    h_n = state[0] if kind == "LSTM" else state
    directions = 2 if bidirectional else 1
    assert out.shape == (0, 5, 4 * directions) and out.dtype == np.float32
    assert h_n.shape == (2 * directions, 0, 4)
    if kind == "LSTM":
        assert state[1].shape == (2 * directions, 0, 4)
    (out.sum() + h_n.sum()).backward()
    assert x.grad.shape == (0, 5, 3)
    for name, parameter in layer.named_parameters():
        assert parameter.grad.shape == parameter.shape and not parameter.grad.any(), name  # no samples: no gradient


@pytest.mark.parametrize("kind", KINDS)
def test_a_sequence_of_no_steps_names_the_shape_the_caller_gave(kind):
    with pytest.raises(ValueError, match=r"at least one step, got shape \(2, 0, 3\)"):
        KINDS[kind][0](3, 4)(np.zeros((2, 0, 3)))
