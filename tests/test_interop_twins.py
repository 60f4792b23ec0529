"""glassnet.interop against PyTorch, model family by model family.

Each case is a glassnet model and its PyTorch twin: the same layers in the same order under the
same names (an MLP with every activation, CNNs with batch norm and pooling, ConvTranspose
decoders, RNN/LSTM/GRU uni- and bidirectional and stacked, an embedding + LSTM classifier, a
transformer encoder with masks, attention with its own key/value sizes, a user's Module with a
residual connection). For each: PyTorch's weights loaded into glassnet (as a dict of arrays and as
a safetensors file) and glassnet's loaded into PyTorch (by ``load_state_dict`` and by
``safetensors.torch.load_file``) give the same outputs in float64 to 1e-10, the names come in
PyTorch's order, and round trips give back identical arrays. Every weight and buffer is first
set to random values (running variances positive, ``num_batches_tracked`` a count), so that a
layout or a name that maps wrongly shows in the outputs.
"""

import gc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import safetensors
import safetensors.torch
import torch

from activation_twins import glassnet_and_torch, registered_names
from glassnet import nn
from glassnet.interop import load_torch, save_torch, torch_state_dict

F64 = np.float64
TOLERANCE = {"rtol": 1e-10, "atol": 1e-10}


class TorchFunction(torch.nn.Module):
    """A stateless PyTorch layer from a function (the activations' twins)."""

    def __init__(self, function):
        super().__init__()
        self.function = function

    def forward(self, x):
        return self.function(x)


@dataclass
class Twin:
    ours: Callable  # () -> glassnet model, float64
    theirs: Callable  # () -> torch model, float64
    inputs: Callable  # rng -> tuple of arrays
    forward: Callable = staticmethod(lambda model, *inputs: model(*inputs))  # glassnet's call
    torch_forward: Callable = staticmethod(lambda model, *inputs: model(*inputs))


# ---- the models ------------------------------------------------------------------------------
ACTIVATIONS = registered_names()
WIDTHS = [5 + i for i in range(len(ACTIVATIONS) + 1)]  # never square: a transpose shows in shapes


def mlp_ours():
    layers = []
    for i, name in enumerate(ACTIVATIONS):
        layers += [nn.Linear(WIDTHS[i], WIDTHS[i + 1], dtype=F64), nn.make_activation(name)]
    return nn.Sequential(*layers)


def mlp_theirs():
    layers = []
    for i, name in enumerate(ACTIVATIONS):
        layers += [torch.nn.Linear(WIDTHS[i], WIDTHS[i + 1]), TorchFunction(glassnet_and_torch(name, {})[1])]
    return torch.nn.Sequential(*layers)


def cnn2d_ours():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, dtype=F64), nn.BatchNorm2d(4, dtype=F64), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, padding=2, dilation=2, dtype=F64), nn.AvgPool2d(2),
                         nn.Flatten(), nn.Linear(24, 5, dtype=F64), nn.BatchNorm1d(5, dtype=F64), nn.Tanh())


def cnn2d_theirs():
    T = torch.nn
    return T.Sequential(T.Conv2d(2, 4, 3, padding=1), T.BatchNorm2d(4), T.ReLU(), T.MaxPool2d(2),
                        T.Conv2d(4, 6, 3, padding=2, dilation=2), T.AvgPool2d(2), T.Flatten(), T.Linear(24, 5),
                        T.BatchNorm1d(5), T.Tanh())


def cnn1d_ours():
    return nn.Sequential(nn.Conv1d(3, 4, 3, padding=1, dtype=F64), nn.BatchNorm1d(4, dtype=F64), nn.ReLU(),
                         nn.MaxPool1d(2), nn.Conv1d(4, 5, 2, stride=2, bias=False, dtype=F64), nn.AvgPool1d(2),
                         nn.Flatten(), nn.Linear(10, 3, dtype=F64))


def cnn1d_theirs():
    T = torch.nn
    return T.Sequential(T.Conv1d(3, 4, 3, padding=1), T.BatchNorm1d(4), T.ReLU(), T.MaxPool1d(2),
                        T.Conv1d(4, 5, 2, stride=2, bias=False), T.AvgPool1d(2), T.Flatten(), T.Linear(10, 3))


def decoder2d_ours():
    return nn.Sequential(nn.Linear(4, 48, dtype=F64), nn.Unflatten(1, (3, 4, 4)),
                         nn.ConvTranspose2d(3, 5, 3, stride=2, padding=1, output_padding=1, dtype=F64),
                         nn.BatchNorm2d(5, dtype=F64), nn.ReLU(),
                         nn.ConvTranspose2d(5, 2, 4, stride=2, padding=1, dtype=F64), nn.Sigmoid())


def decoder2d_theirs():
    T = torch.nn
    return T.Sequential(T.Linear(4, 48), T.Unflatten(1, (3, 4, 4)),
                        T.ConvTranspose2d(3, 5, 3, stride=2, padding=1, output_padding=1), T.BatchNorm2d(5),
                        T.ReLU(), T.ConvTranspose2d(5, 2, 4, stride=2, padding=1), T.Sigmoid())


def decoder1d_ours():
    return nn.Sequential(nn.ConvTranspose1d(4, 3, 3, stride=2, padding=1, output_padding=1, dtype=F64), nn.ELU(),
                         nn.ConvTranspose1d(3, 2, 2, dilation=2, bias=False, dtype=F64))


def decoder1d_theirs():
    T = torch.nn
    return T.Sequential(T.ConvTranspose1d(4, 3, 3, stride=2, padding=1, output_padding=1), T.ELU(),
                        T.ConvTranspose1d(3, 2, 2, dilation=2, bias=False))


def recurrent(kind: str, **options):
    """The twin of one recurrent layer, batch first, on (3, 5, 4) sequences."""
    return Twin(ours=lambda: getattr(nn, kind)(4, 6, dtype=F64, **options),
                theirs=lambda: getattr(torch.nn, kind)(4, 6, batch_first=True, **options),
                inputs=lambda rng: (rng.normal(size=(3, 5, 4)),))


class SequenceClassifier(nn.Module):
    """Tokens -> embedding -> 2-layer bidirectional LSTM -> the last step's linear head."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(11, 4, dtype=F64)
        self.lstm = nn.LSTM(4, 5, num_layers=2, bidirectional=True, dtype=F64)
        self.head = nn.Linear(10, 3, dtype=F64)

    def forward(self, tokens):
        out, _ = self.lstm(self.embedding(tokens))
        return self.head(out[:, -1])


class TorchSequenceClassifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(11, 4)
        self.lstm = torch.nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True)
        self.head = torch.nn.Linear(10, 3)

    def forward(self, tokens):
        out, _ = self.lstm(self.embedding(tokens))
        return self.head(out[:, -1])


class Residual(nn.Module):
    """A user's Module: embedding, then x + block(x) under a layer norm, then a mean-pooled head."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 6, dtype=F64)
        self.block = nn.Sequential(nn.Linear(6, 9, dtype=F64), nn.GELU(), nn.Linear(9, 6, dtype=F64))
        self.norm = nn.LayerNorm(6, dtype=F64)
        self.head = nn.Linear(6, 4, dtype=F64)

    def forward(self, tokens):
        x = self.embed(tokens)
        x = self.norm(x + self.block(x))
        return self.head(x.mean(axis=1))


class TorchResidual(torch.nn.Module):
    def __init__(self):
        super().__init__()
        T = torch.nn
        self.embed = T.Embedding(10, 6)
        self.block = T.Sequential(T.Linear(6, 9), T.GELU(), T.Linear(9, 6))
        self.norm = T.LayerNorm(6)
        self.head = T.Linear(6, 4)

    def forward(self, tokens):
        x = self.embed(tokens)
        x = self.norm(x + self.block(x))
        return self.head(x.mean(dim=1))


def encoder_ours(norm_first: bool, activation: str):
    layer = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, activation=activation, norm_first=norm_first,
                                       dtype=F64)
    return nn.TransformerEncoder(layer, num_layers=2, norm=True, rng=0)


def encoder_theirs(norm_first: bool, activation: str):
    layer = torch.nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, activation=activation, norm_first=norm_first,
                                             batch_first=True)
    return torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)


def padding_mask(batch: int, length: int) -> np.ndarray:
    """True for padding: the first sequence loses its last two steps, the third its last one
    (never the first step, so that no query, causal or not, has every key masked)."""
    mask = np.zeros((batch, length), dtype=bool)
    mask[0, -2:] = True
    mask[2 % batch, -1] = True
    return mask


CAUSAL = np.triu(np.ones((5, 5), dtype=bool), k=1)  # True above the diagonal: the future is masked


def encoder(norm_first: bool, activation: str):
    return Twin(ours=lambda: encoder_ours(norm_first, activation),
                theirs=lambda: encoder_theirs(norm_first, activation),
                inputs=lambda rng: (rng.normal(size=(3, 5, 8)), padding_mask(3, 5)),
                forward=lambda model, x, padding: model(x, mask=CAUSAL, src_key_padding_mask=padding),
                torch_forward=lambda model, x, padding: model(x, mask=torch.from_numpy(CAUSAL),
                                                              src_key_padding_mask=padding))


TWINS = {
    "mlp-every-activation": Twin(mlp_ours, mlp_theirs, lambda rng: (rng.normal(size=(4, WIDTHS[0])),)),
    "cnn2d-batchnorm-pooling": Twin(cnn2d_ours, cnn2d_theirs, lambda rng: (rng.normal(size=(3, 2, 8, 8)),)),
    "cnn1d-batchnorm-pooling": Twin(cnn1d_ours, cnn1d_theirs, lambda rng: (rng.normal(size=(3, 3, 16)),)),
    "convtranspose2d-decoder": Twin(decoder2d_ours, decoder2d_theirs, lambda rng: (rng.normal(size=(3, 4)),)),
    "convtranspose1d-decoder": Twin(decoder1d_ours, decoder1d_theirs, lambda rng: (rng.normal(size=(3, 4, 5)),)),
    **{f"{kind.lower()}-{'bi' if bidirectional else 'uni'}-{layers}-layer":
       recurrent(kind, num_layers=layers, bidirectional=bidirectional)
       for kind in ("RNN", "LSTM", "GRU") for bidirectional in (False, True) for layers in (1, 2)},
    "rnn-relu-no-bias": recurrent("RNN", nonlinearity="relu", bias=False, num_layers=2),
    "lstm-initial-state": Twin(
        ours=lambda: nn.LSTM(4, 6, num_layers=2, bidirectional=True, dtype=F64),
        theirs=lambda: torch.nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True),
        inputs=lambda rng: (rng.normal(size=(3, 5, 4)), rng.normal(size=(4, 3, 6)), rng.normal(size=(4, 3, 6))),
        forward=lambda model, x, h0, c0: model(x, (h0, c0)),
        torch_forward=lambda model, x, h0, c0: model(x, (h0, c0))),
    "embedding-lstm-classifier": Twin(SequenceClassifier, TorchSequenceClassifier,
                                      lambda rng: (rng.integers(0, 11, size=(3, 7)),)),
    "residual-user-module": Twin(Residual, TorchResidual, lambda rng: (rng.integers(0, 10, size=(3, 5)),)),
    "transformer-encoder-post-norm-masks": encoder(norm_first=False, activation="relu"),
    "transformer-encoder-pre-norm-gelu-masks": encoder(norm_first=True, activation="gelu"),
    "attention-kdim-vdim-padding": Twin(
        ours=lambda: nn.MultiheadAttention(8, 2, kdim=5, vdim=3, dtype=F64),
        theirs=lambda: torch.nn.MultiheadAttention(8, 2, kdim=5, vdim=3, batch_first=True),
        inputs=lambda rng: (rng.normal(size=(3, 4, 8)), rng.normal(size=(3, 6, 5)), rng.normal(size=(3, 6, 3)),
                            padding_mask(3, 6)),
        forward=lambda model, q, k, v, padding: model(q, k, v, key_padding_mask=padding),
        torch_forward=lambda model, q, k, v, padding: model(q, k, v, key_padding_mask=padding)),
    "self-attention-no-bias": Twin(
        ours=lambda: nn.MultiheadAttention(6, 3, bias=False, dtype=F64),
        theirs=lambda: torch.nn.MultiheadAttention(6, 3, bias=False, batch_first=True),
        inputs=lambda rng: (rng.normal(size=(2, 5, 6)),),
        forward=lambda model, x: model(x, x, x), torch_forward=lambda model, x: model(x, x, x)),
}


# ---- helpers ---------------------------------------------------------------------------------
def random_state(shapes: dict, seed: int) -> dict:
    """name -> new random values for a state_dict's names and (shape, dtype): running variances
    positive, counters whole."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, (shape, dtype) in shapes.items():
        if np.dtype(dtype).kind == "i":
            state[name] = np.array(rng.integers(1, 100, size=shape), dtype=dtype)
        elif name.endswith("running_var"):
            state[name] = rng.uniform(0.5, 2.0, size=shape)
        else:
            state[name] = rng.normal(0.0, 0.5, size=shape)
    return state


def make_theirs(twin: Twin, seed: int = 1) -> torch.nn.Module:
    torch.manual_seed(seed)
    theirs = twin.theirs().double()
    shapes = {name: (tuple(t.shape), t.numpy().dtype) for name, t in theirs.state_dict().items()}
    with torch.no_grad():
        for name, values in random_state(shapes, seed).items():
            theirs.state_dict()[name].copy_(torch.from_numpy(values))
    return theirs.eval()


def make_ours(twin: Twin, seed: int = 2) -> nn.Module:
    ours = twin.ours()
    shapes = {name: (array.shape, array.dtype) for name, array in ours.state_dict().items()}
    ours.load_state_dict(random_state(shapes, seed))
    return ours.eval()


def outputs(result) -> list:
    """Every array of a forward's result (a Tensor, or nested tuples such as (out, (h_n, c_n)))."""
    if result is None:
        return []
    if isinstance(result, (tuple, list)):
        return [array for item in result for array in outputs(item)]
    if isinstance(result, torch.Tensor):
        return [result.detach().numpy()]
    return [result.data]


def assert_same_outputs(twin: Twin, ours, theirs, seed: int = 0) -> None:
    inputs = twin.inputs(np.random.default_rng(seed))
    ours_out = outputs(twin.forward(ours, *inputs))
    # Not under no_grad: PyTorch's fused inference path for the transformer is left out.
    theirs_out = outputs(twin.torch_forward(theirs, *(torch.from_numpy(a) for a in inputs)))
    assert len(ours_out) == len(theirs_out) > 0
    for index, (a, b) in enumerate(zip(ours_out, theirs_out)):
        assert a.dtype == np.float64 and a.shape == b.shape, (index, a.dtype, a.shape, b.shape)
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, **TOLERANCE, err_msg=f"output {index}")
    assert np.ptp(ours_out[0]) > 1e-3  # not a constant output, which would hide a wrong weight


def numpy_state(theirs: torch.nn.Module) -> dict:
    return {name: tensor.detach().numpy() for name, tensor in theirs.state_dict().items()}


def assert_identical(got: dict, expected: dict) -> None:
    """The same names in the same order, each array of the same dtype, shape and values."""
    assert list(got) == list(expected)
    for name in expected:
        assert got[name].dtype == expected[name].dtype, name
        assert got[name].shape == expected[name].shape, name
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


CASES = pytest.mark.parametrize("name", list(TWINS))


def teardown_module():
    """Collect the cyclic garbage of the many models built here now, not during a later test that
    measures its own allocations (tests/test_io_hostile.py's bounds were exceeded in a full run)."""
    gc.collect()


# ---- torch -> glassnet -----------------------------------------------------------------------
@CASES
def test_torch_state_dict_loads_into_glassnet(name):
    twin = TWINS[name]
    theirs, ours = make_theirs(twin), make_ours(twin)
    assert load_torch(ours, numpy_state(theirs)) is ours
    assert not ours.training  # the mode is left as it was
    assert_same_outputs(twin, ours, theirs)


@CASES
def test_torch_safetensors_file_loads_into_glassnet(name, tmp_path):
    twin = TWINS[name]
    theirs, ours = make_theirs(twin), make_ours(twin)
    path = tmp_path / "torch.safetensors"
    safetensors.torch.save_file(theirs.state_dict(), str(path))
    load_torch(ours, path)
    assert_same_outputs(twin, ours, theirs)


# ---- glassnet -> torch -----------------------------------------------------------------------
@CASES
def test_glassnet_state_loads_into_torch(name):
    twin = TWINS[name]
    ours, theirs = make_ours(twin), make_theirs(twin)
    state = torch_state_dict(ours)
    assert list(state) == list(theirs.state_dict())  # PyTorch's names, in PyTorch's order
    result = theirs.load_state_dict({key: torch.from_numpy(array) for key, array in state.items()})
    assert not result.missing_keys and not result.unexpected_keys
    assert_same_outputs(twin, ours, theirs)


@CASES
def test_save_torch_file_loads_into_torch(name, tmp_path):
    twin = TWINS[name]
    ours, theirs = make_ours(twin), make_theirs(twin)
    path = tmp_path / "glassnet.safetensors"
    save_torch(ours, path)
    with safetensors.safe_open(str(path), framework="pt") as file:
        assert file.metadata() == {"format": "pt"}
    theirs.load_state_dict(safetensors.torch.load_file(str(path)))
    assert_same_outputs(twin, ours, theirs)


# ---- round trips -----------------------------------------------------------------------------
@CASES
def test_round_trips_give_identical_arrays(name, tmp_path):
    twin = TWINS[name]
    # torch -> glassnet -> torch: PyTorch's state_dict back, array for array
    theirs = make_theirs(twin)
    expected = numpy_state(theirs)
    assert_identical(torch_state_dict(load_torch(make_ours(twin), expected)), expected)
    # glassnet -> torch -> glassnet, through the files both ways
    ours = make_ours(twin, seed=3)
    save_torch(ours, tmp_path / "out.safetensors")
    theirs.load_state_dict(safetensors.torch.load_file(str(tmp_path / "out.safetensors")))
    safetensors.torch.save_file(theirs.state_dict(), str(tmp_path / "back.safetensors"))
    again = load_torch(make_ours(twin, seed=4), tmp_path / "back.safetensors")
    assert_identical(again.state_dict(), ours.state_dict())


# ---- layer options: the same names, shapes and order as PyTorch's --------------------------
OPTIONS = {
    "batchnorm-no-affine": (lambda: nn.BatchNorm1d(4, affine=False), lambda: torch.nn.BatchNorm1d(4, affine=False)),
    "batchnorm-no-running-stats": (lambda: nn.BatchNorm2d(4, track_running_stats=False),
                                   lambda: torch.nn.BatchNorm2d(4, track_running_stats=False)),
    "layernorm-no-bias": (lambda: nn.LayerNorm((3, 4), bias=False), lambda: torch.nn.LayerNorm((3, 4), bias=False)),
    "layernorm-no-affine": (lambda: nn.LayerNorm(4, elementwise_affine=False),
                            lambda: torch.nn.LayerNorm(4, elementwise_affine=False)),
    "embedding-padding": (lambda: nn.Embedding(7, 3, padding_idx=0), lambda: torch.nn.Embedding(7, 3, padding_idx=0)),
    "linear-no-bias": (lambda: nn.Linear(3, 5, bias=False), lambda: torch.nn.Linear(3, 5, bias=False)),
    "conv2d-no-bias": (lambda: nn.Conv2d(2, 3, (2, 3), bias=False), lambda: torch.nn.Conv2d(2, 3, (2, 3), bias=False)),
    "convtranspose2d-no-bias": (lambda: nn.ConvTranspose2d(2, 3, 3, bias=False),
                                lambda: torch.nn.ConvTranspose2d(2, 3, 3, bias=False)),
    "gru-3-layers-bi-no-bias": (lambda: nn.GRU(3, 4, num_layers=3, bidirectional=True, bias=False),
                                lambda: torch.nn.GRU(3, 4, num_layers=3, bidirectional=True, bias=False)),
    "attention-kdim-no-bias": (lambda: nn.MultiheadAttention(6, 2, kdim=4, bias=False),
                               lambda: torch.nn.MultiheadAttention(6, 2, kdim=4, bias=False)),
    "encoder-layer-no-bias": (lambda: nn.TransformerEncoderLayer(6, 2, 10, bias=False),
                              lambda: torch.nn.TransformerEncoderLayer(6, 2, 10, bias=False)),
}


@pytest.mark.parametrize("name", list(OPTIONS))
def test_layer_options_keep_pytorch_names_and_layouts(name):
    make_ours, make_theirs_ = OPTIONS[name]
    ours, theirs = make_ours(), make_theirs_()
    state = torch_state_dict(ours)
    expected = theirs.state_dict()
    assert [(key, array.shape) for key, array in state.items()] == \
        [(key, tuple(tensor.shape)) for key, tensor in expected.items()]
    theirs.load_state_dict({key: torch.from_numpy(array) for key, array in state.items()})  # strict
    fresh = make_ours()
    load_torch(fresh, {key: tensor.numpy() for key, tensor in theirs.state_dict().items()})
    assert_identical(fresh.state_dict(), ours.state_dict())
