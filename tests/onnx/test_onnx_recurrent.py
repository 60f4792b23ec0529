"""ONNX export of the recurrent layers: RNN (tanh, relu), LSTM and GRU, uni- and bidirectional,
one and two layers, as ONNX's own RNN/LSTM/GRU nodes. onnxruntime's outputs (the sequence and
the final states) equal glassnet's at two batch sizes and two lengths other than the sample's."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from glassnet import nn, ops  # noqa: E402
from glassnet.onnx import export  # noqa: E402
from glassnet.onnx._recurrent import onnx_recurrent_weights  # noqa: E402
from onnx_helpers import assert_same, op_types, session  # noqa: E402

SAMPLE = (2, 5)               # batch, length of the traced sample
OTHERS = [(3, 4), (1, 7)]     # other batch sizes and lengths the graph must run at


class Recurrent(nn.Module):
    """A recurrent layer whose outputs are flattened: (output, h_n) or (output, h_n, c_n)."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x, *state):
        out, final = self.layer(x, *state)
        return (out, *final) if isinstance(final, tuple) else (out, final)


def sequences(rng, batch, length, features, batch_first=True):
    shape = (batch, length, features) if batch_first else (length, batch, features)
    return rng.normal(size=shape).astype(np.float32)


LAYERS = {
    "rnn_tanh": lambda **kw: nn.RNN(3, 4, **kw),
    "rnn_relu": lambda **kw: nn.RNN(3, 4, nonlinearity="relu", **kw),
    "lstm": lambda **kw: nn.LSTM(3, 4, **kw),
    "gru": lambda **kw: nn.GRU(3, 4, **kw),
}
EXPECTED_OP = {"rnn_tanh": "RNN", "rnn_relu": "RNN", "lstm": "LSTM", "gru": "GRU"}


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_recurrent_layer_matches_at_other_batch_sizes_and_lengths(tmp_path, rng, kind, bidirectional, num_layers):
    model = Recurrent(LAYERS[kind](num_layers=num_layers, bidirectional=bidirectional, rng=1))
    path = export(model, sequences(rng, *SAMPLE, 3), tmp_path / "model.onnx")
    assert op_types(path).count(EXPECTED_OP[kind]) == num_layers  # ONNX's own op, one per layer
    sess = session(path)
    for batch, length in [SAMPLE] + OTHERS:
        outputs = assert_same(model, sess, sequences(rng, batch, length, 3))
        directions = 2 if bidirectional else 1
        assert outputs[0].shape == (batch, length, directions * 4)
        assert outputs[1].shape == (directions * num_layers, batch, 4)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_time_major_without_bias(tmp_path, rng, kind):
    model = Recurrent(LAYERS[kind](batch_first=False, bias=False, bidirectional=True, rng=2))
    sess = session(export(model, sequences(rng, *SAMPLE, 3, batch_first=False), tmp_path / "m.onnx"))
    for batch, length in OTHERS:
        assert_same(model, sess, sequences(rng, batch, length, 3, batch_first=False))


@pytest.mark.parametrize("kind", ["rnn_tanh", "gru", "lstm"])
def test_initial_state_as_an_input(tmp_path, rng, kind):
    """h0 (and c0) given to the forward. The exporter takes axis 0 of every input as the batch,
    so the states come batch first, (N, D * num_layers, H), and the forward moves the axes; the
    length is then the sample's (a state has no length axis to grow with the sequence's)."""
    layer = LAYERS[kind](num_layers=2, bidirectional=True, rng=3)

    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, x, *states):
            states = tuple(ops.swapaxes(s, 0, 1) for s in states)
            out, final = self.layer(x, states if kind == "lstm" else states[0])
            return (out, *final) if isinstance(final, tuple) else (out, final)

    def inputs(batch):
        count = 2 if kind == "lstm" else 1
        return (sequences(rng, batch, SAMPLE[1], 3),
                *[rng.normal(size=(batch, 4, 4)).astype(np.float32) for _ in range(count)])

    model = WithState()
    sess = session(export(model, inputs(SAMPLE[0]), tmp_path / "m.onnx"))
    for batch in (SAMPLE[0], 3, 1):
        x, *states = inputs(batch)
        given = assert_same(model, sess, x, *states)
        zeros = assert_same(model, sess, x, *[np.zeros_like(s) for s in states])
        assert np.abs(given[0] - zeros[0]).max() > 1e-3  # the states given are really read


def test_recurrent_model_with_a_head(tmp_path, rng):
    """An embedding, a bidirectional LSTM and a linear head on its last step: the graph is the
    whole model, and its predictions equal glassnet's."""

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(10, 3, rng=0)
            self.lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True, rng=0)
            self.head = nn.Linear(10, 2, rng=0)

        def forward(self, tokens):
            out, _ = self.lstm(self.embed(tokens))
            return self.head(out[:, -1])

    model = Tagger()
    sess = session(export(model, rng.integers(0, 10, size=SAMPLE), tmp_path / "m.onnx"))
    for batch, length in OTHERS:
        assert_same(model, sess, rng.integers(0, 10, size=(batch, length)))


def test_onnx_weights_layout_and_gate_order():
    """W_ih (input, G*H), gates i, f, g, o -> ONNX W (D, G*H, input), gates i, o, f, c; GRU r, z, n
    -> z, r, h; the two biases side by side."""
    hidden = 2
    w_ih = np.arange(4 * hidden, dtype=np.float64).reshape(1, -1)        # gate k: 2k, 2k + 1
    b = np.arange(4 * hidden, dtype=np.float64)
    W, R, B = onnx_recurrent_weights([(w_ih, np.zeros((hidden, 4 * hidden)), b, 10 + b)], gates=4)
    np.testing.assert_array_equal(W[0, :, 0], [0, 1, 6, 7, 2, 3, 4, 5])
    np.testing.assert_array_equal(B[0], [0, 1, 6, 7, 2, 3, 4, 5, 10, 11, 16, 17, 12, 13, 14, 15])
    assert R.shape == (1, 8, 2)
    W, _, B = onnx_recurrent_weights([(w_ih[:, :6], np.zeros((hidden, 6)), None, b[:6])], gates=3)
    np.testing.assert_array_equal(W[0, :, 0], [2, 3, 0, 1, 4, 5])
    np.testing.assert_array_equal(B[0], [0, 0, 0, 0, 0, 0, 2, 3, 0, 1, 4, 5])  # a missing b_ih is zeros


def test_a_sample_of_one_value_is_still_read_from_the_input(tmp_path, rng):
    """A constant Tensor the forward makes with the input's batch size (the default zero state)
    is written as a ConstantOfShape; a sample that happens to hold one value (all ones) is the
    input all the same, not a constant."""
    model = Recurrent(nn.GRU(3, 4, rng=0))
    sess = session(export(model, np.ones((*SAMPLE, 3), np.float32), tmp_path / "m.onnx"))
    for batch, length in OTHERS:
        assert_same(model, sess, sequences(rng, batch, length, 3))


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_float64_model(tmp_path, rng, kind):
    """A float64 model exports as a double graph. onnxruntime runs RNN/LSTM/GRU in float32 only,
    so the layer runs in float32 between two Casts: float32's precision, double in and out."""
    model = Recurrent(LAYERS[kind](num_layers=2, bidirectional=True, dtype=np.float64, rng=4))
    sess = session(export(model, rng.normal(size=(*SAMPLE, 3)), tmp_path / "m.onnx"))
    assert [i.type for i in sess.get_inputs()] == ["tensor(double)"]
    for batch, length in OTHERS:
        assert_same(model, sess, rng.normal(size=(batch, length, 3)))


@pytest.mark.parametrize("opset", [13, 18, 21])
def test_opsets(tmp_path, rng, opset):
    model = Recurrent(nn.LSTM(3, 4, bidirectional=True, rng=5))
    sess = session(export(model, sequences(rng, *SAMPLE, 3), tmp_path / "m.onnx", opset=opset))
    assert_same(model, sess, sequences(rng, *OTHERS[0], 3))


def test_sample_of_one_sequence_of_one_step(tmp_path, rng):
    """The smallest sample (batch 1, length 1) still gives a graph that runs at other sizes."""
    model = Recurrent(nn.LSTM(3, 5, num_layers=3, bidirectional=True, rng=6))
    sess = session(export(model, sequences(rng, 1, 1, 3), tmp_path / "m.onnx"))
    assert_same(model, sess, sequences(rng, 4, 9, 3))
