"""TransformerEncoderLayer, TransformerEncoder and PositionalEncoding: outputs and every gradient
vs PyTorch (weights copied by a transpose; post- and pre-norm, ReLU and GELU, masks, evaluation
mode with dropout), gradients vs central differences (float64), the positional encoding against
its formula, dropout, configs, saving and errors."""

import functools
import json
import math
import warnings

import numpy as np
import pytest
import torch

import glassnet as gn
from activation_twins import TWINS
from glassnet import nn
from oracle import check_module_against_torch, check_module_gradients

torch.set_default_dtype(torch.float64)


def copy_to_torch(ours, theirs):
    """Copy our parameters into PyTorch's module of the same structure (2-D weights transposed)
    after making our biases and layer-norm scales non-trivial, so that every one of them matters."""
    rng = np.random.default_rng(42)
    for name, parameter in ours.named_parameters():
        if parameter.ndim == 1:
            parameter.data[...] = (1.0 if name.endswith("norm1.weight") or name.endswith("norm2.weight")
                                   or name == "norm.weight" else 0.0) + 0.3 * rng.normal(size=parameter.shape)
    theirs_parameters = dict(theirs.named_parameters())
    assert sorted(theirs_parameters) == sorted(name for name, _ in ours.named_parameters())
    with torch.no_grad():
        for name, parameter in ours.named_parameters():
            theirs_parameters[name].copy_(torch.tensor(parameter.data.T))


def make_layer_pair(d_model=8, nhead=2, dim_feedforward=12, dropout=0.0, **options):
    ours = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=dropout, dtype=np.float64,
                                      rng=0, **options)
    options.setdefault("batch_first", True)
    theirs = torch.nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=dropout, **options)
    copy_to_torch(ours, theirs)
    return ours, theirs


def compare(ours, theirs, x, atol=1e-10, rtol=1e-8, **kwargs):
    """Output and the gradients of the input and of every parameter under the same random
    upstream gradient."""
    torch_kwargs = {key: (torch.tensor(value) if isinstance(value, np.ndarray) else value)
                    for key, value in kwargs.items()}
    return check_module_against_torch(ours, theirs, x, forward=lambda m, x: m(x, **kwargs),
                                      torch_forward=lambda m, x: m(x, **torch_kwargs), atol=atol, rtol=rtol)[0]


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_torch(rng, norm_first, activation):
    ours, theirs = make_layer_pair(norm_first=norm_first, activation=activation)
    padding = np.zeros((3, 5), dtype=bool)
    padding[1, 3:] = True
    compare(ours, theirs, rng.normal(size=(3, 5, 8)), src_key_padding_mask=padding)


@pytest.mark.parametrize("activation", gn.functional.hidden_activation_names())
def test_encoder_layer_with_each_hidden_activation_matches_torch(rng, activation):
    """Any activation of the registry usable between layers, at its defaults; PyTorch takes the
    twin as a callable."""
    entry = gn.functional.get_activation(activation)
    ours = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, activation=activation, dtype=np.float64, rng=0)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, batch_first=True,
                                              activation=functools.partial(TWINS[activation], **entry.parameters))
    copy_to_torch(ours, theirs)
    compare(ours, theirs, rng.normal(size=(3, 5, 8)))


def test_encoder_layer_with_causal_and_float_masks_matches_torch(rng):
    ours, theirs = make_layer_pair(nhead=4, norm_first=True)
    x = rng.normal(size=(2, 6, 8))
    causal = gn.ops.causal_mask(6, 6)
    compare(ours, theirs, x, src_mask=causal, is_causal=True)
    ours.zero_grad(), theirs.zero_grad()
    compare(ours, theirs, x, src_mask=rng.normal(size=(6, 6)))


def test_encoder_layer_sequence_first_unbatched_and_no_bias_match_torch(rng):
    ours, theirs = make_layer_pair(batch_first=False, bias=False, activation="gelu")
    assert ours.norm1.bias is None and ours.linear1.bias is None
    compare(ours, theirs, rng.normal(size=(5, 2, 8)))  # (L, N, E)
    ours, theirs = make_layer_pair()
    compare(ours, theirs, rng.normal(size=(4, 8)))  # unbatched (L, E)


@pytest.mark.parametrize("norm_first", [False, True])
def test_eval_mode_with_dropout_matches_torch_eval(rng, norm_first):
    ours, theirs = make_layer_pair(dropout=0.3, norm_first=norm_first)
    ours.eval(), theirs.eval()
    compare(ours, theirs, rng.normal(size=(2, 4, 8)))


def test_training_mode_dropout_is_reproducible_and_off_in_eval(rng):
    x = rng.normal(size=(2, 4, 8))
    first = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.3, rng=5)
    second = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.3, rng=5)
    out = first(x).data
    np.testing.assert_array_equal(out, second(x).data)
    assert not np.allclose(out, first(x).data)  # a new mask each call
    first.eval()
    np.testing.assert_array_equal(first(x).data, first(x).data)
    assert not np.allclose(out, first(x).data)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_finite_differences(rng, norm_first):
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation="gelu", norm_first=norm_first,
                                       dtype=np.float64, rng=0)
    for parameter in layer.parameters():
        if parameter.ndim == 1:
            parameter.data[...] += 0.3 * rng.normal(size=parameter.shape)
    padding = np.array([[False, False, True], [False, False, False]])
    check_module_gradients(layer, rng.normal(size=(2, 3, 4)),
                           forward=lambda m, x: m(x, src_key_padding_mask=padding, is_causal=True),
                           atol=1e-6, rtol=1e-4, seed=7)


def test_encoder_stack_matches_torch(rng):
    layer = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, norm_first=True, dtype=np.float64)
    ours = nn.TransformerEncoder(layer, num_layers=2, norm=True, rng=0)
    their_layer = torch.nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, norm_first=True, batch_first=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's note on nested tensors and norm_first
        theirs = torch.nn.TransformerEncoder(their_layer, num_layers=2, norm=torch.nn.LayerNorm(8))
    assert not np.allclose(ours.layers[0].linear1.weight.data, ours.layers[1].linear1.weight.data)
    copy_to_torch(ours, theirs)
    padding = np.zeros((2, 5), dtype=bool)
    padding[0, 4] = True
    compare(ours, theirs, rng.normal(size=(2, 5, 8)), mask=gn.ops.causal_mask(5, 5),
            src_key_padding_mask=padding)


def test_parameter_names_follow_torch():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, 16)
    assert {name: shape.shape for name, shape in layer.state_dict().items()} == \
        {name: tuple(reversed(tensor.shape)) for name, tensor in theirs.state_dict().items()}
    assert [name for name, _ in layer.named_children()] == \
        ["self_attn", "linear1", "dropout", "linear2", "norm1", "norm2", "dropout1", "dropout2"]


# ---- positional encoding -------------------------------------------------------------------------

@pytest.mark.parametrize("d_model", [6, 7])
def test_positional_encoding_values_follow_the_formula(d_model):
    table = gn.functional.sinusoidal_positional_encoding(50, d_model, dtype=np.float64)
    expected = np.zeros((50, d_model))
    for pos in range(50):
        for column in range(d_model):
            i = column // 2
            angle = pos / 10000 ** (2 * i / d_model)
            expected[pos, column] = math.sin(angle) if column % 2 == 0 else math.cos(angle)
    np.testing.assert_allclose(table, expected, rtol=1e-12, atol=1e-12)
    assert gn.functional.sinusoidal_positional_encoding(5, d_model).dtype == np.float32


def test_positional_encoding_module_adds_the_table(rng):
    encode = nn.PositionalEncoding(6, max_len=10)
    x = gn.Tensor(rng.normal(size=(2, 4, 6)).astype(np.float32), requires_grad=True)
    out = encode(x)
    np.testing.assert_allclose(out.data, x.data + encode.pe[:4], rtol=1e-6)
    out.backward(np.full(out.shape, 2.0, np.float32))
    np.testing.assert_array_equal(x.grad, 2.0)  # the identity's gradient: the table is constant
    assert encode.state_dict() == {} and encode.pe.shape == (10, 6)
    sequence_first = nn.PositionalEncoding(6, max_len=10, batch_first=False)
    np.testing.assert_allclose(sequence_first(x.data.transpose(1, 0, 2)).data.transpose(1, 0, 2), out.data)
    np.testing.assert_allclose(encode(x.data[0]).data, out.data[0])  # unbatched (L, d_model)


def test_positional_encoding_dropout(rng):
    encode = nn.PositionalEncoding(8, max_len=16, dropout=0.5, rng=0)
    x = rng.normal(size=(4, 16, 8)).astype(np.float32)
    out = encode(x).data
    kept = out != 0
    assert 0.3 < kept.mean() < 0.7
    np.testing.assert_allclose(out[kept], 2 * (x + encode.pe)[kept], rtol=1e-6)
    np.testing.assert_allclose(encode.eval()(x).data, x + encode.pe, rtol=1e-6)


# ---- configs, saving, errors ----------------------------------------------------------------

LAYERS = [
    nn.TransformerEncoderLayer(8, 2),
    nn.TransformerEncoderLayer(6, 3, dim_feedforward=10, dropout=0.2, activation="gelu", layer_norm_eps=1e-6,
                               batch_first=False, norm_first=True, bias=False, dtype=np.float64),
    nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 1, 8), num_layers=3, norm=True),
    nn.PositionalEncoding(5, max_len=20, dropout=0.1, batch_first=False, dtype=np.float64),
]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: type(layer).__name__)
def test_config_is_json_and_rebuilds_the_layer(layer):
    config = layer.get_config()
    assert json.loads(json.dumps(config, allow_nan=False)) == config
    rebuilt = type(layer)(**config)
    assert rebuilt.get_config() == config
    assert repr(rebuilt) == repr(layer)
    assert {k: (v.shape, v.dtype) for k, v in rebuilt.state_dict().items()} == \
        {k: (v.shape, v.dtype) for k, v in layer.state_dict().items()}


def test_configs_hold_the_arguments():
    assert LAYERS[1].get_config() == {"d_model": 6, "nhead": 3, "dim_feedforward": 10, "dropout": 0.2,
                                      "activation": "gelu", "layer_norm_eps": 1e-6, "batch_first": False,
                                      "norm_first": True, "bias": False, "dtype": "float64"}
    assert LAYERS[2].get_config()["num_layers"] == 3 and LAYERS[2].get_config()["norm"] is True
    assert LAYERS[3].get_config() == {"d_model": 5, "max_len": 20, "dropout": 0.1, "batch_first": False,
                                      "dtype": "float64"}


def test_save_and_load_a_transformer_model(tmp_path, rng):
    model = nn.Sequential(nn.Embedding(10, 8, rng=0), nn.PositionalEncoding(8, max_len=6),
                          nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 2, rng=1),
                          nn.Linear(8, 10, rng=2))
    tokens = rng.integers(0, 10, (3, 6))
    gn.save(model, tmp_path / "model.safetensors")
    loaded = gn.load(tmp_path / "model.safetensors")
    np.testing.assert_array_equal(loaded(tokens).data, model(tokens).data)


@pytest.mark.parametrize("build, error, message", [
    (lambda: nn.TransformerEncoderLayer(8, 3), ValueError, r"embed_dim \(8\) must be divisible by num_heads \(3\)"),
    (lambda: nn.TransformerEncoderLayer(8, 2, activation="softmax"), ValueError,
     r"activation must be 'sigmoid', 'logistic', 'tanh', 'relu', 'leaky_relu', .*, got 'softmax'"),
    (lambda: nn.TransformerEncoderLayer(8, 2, activation="swish"), ValueError,
     r"activation must be 'sigmoid', .*, got 'swish'"),
    (lambda: nn.TransformerEncoderLayer(8, 2, activation=None), TypeError,
     r"activation must be 'sigmoid', .*, got NoneType None"),
    (lambda: nn.TransformerEncoderLayer(8, 2, dropout=1.0), ValueError, r"dropout must be in \[0, 1\), got 1.0"),
    (lambda: nn.TransformerEncoder("layer", 2), TypeError,
     r"encoder_layer must be a TransformerEncoderLayer or its get_config\(\) dict, got str"),
    (lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2), 0), ValueError,
     r"num_layers must be a positive int, got 0"),
    (lambda: nn.PositionalEncoding(0), ValueError, r"d_model must be a positive int, got 0"),
    (lambda: gn.functional.sinusoidal_positional_encoding(3, 0), ValueError,
     r"d_model must be a positive int, got 0"),
])
def test_constructor_errors(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize("call, error, message", [
    (lambda x: nn.TransformerEncoderLayer(8, 2)(x[..., :6]), ValueError,
     r"TransformerEncoderLayer\(d_model=8\) expects src of shape \(N, L, d_model\) or \(L, d_model\) with "
     r"d_model = 8, got \(2, 5, 6\)"),
    (lambda x: nn.TransformerEncoderLayer(8, 2)(x[None]), ValueError, r"got \(1, 2, 5, 8\)"),
    (lambda x: nn.TransformerEncoderLayer(8, 2)(x, src_mask=np.zeros((5, 4), bool)), ValueError,
     r"attn_mask must have shape \(L, S\) = \(5, 5\)"),
    (lambda x: nn.TransformerEncoderLayer(8, 2)(x, src_key_padding_mask=np.zeros((5,), bool)), ValueError,
     r"key_padding_mask must have shape \(2, 5\)"),
    (lambda x: nn.TransformerEncoderLayer(8, 2, dtype=np.float64)(gn.Tensor(x)), TypeError,
     r"TransformerEncoderLayer has float64 parameters but src is float32"),
    (lambda x: nn.PositionalEncoding(8, max_len=4)(x), ValueError,
     r"PositionalEncoding\(max_len=4\) got a sequence of length 5 \(input shape \(2, 5, 8\)\)"),
    (lambda x: nn.PositionalEncoding(6)(x), ValueError,
     r"PositionalEncoding\(d_model=6\) expects an input of shape \(N, L, d_model\) or \(L, d_model\) with "
     r"d_model = 6, got \(2, 5, 8\)"),
])
def test_forward_errors_name_expected_and_got(call, error, message):
    with pytest.raises(error, match=message):
        call(np.zeros((2, 5, 8), np.float32))
