"""ONNX export of attention and the transformer encoder, with masks: a padding mask given as a
second input (the sample is a tuple), a causal mask, an attention mask as an input, and queries
whose keys are all masked out (zeros, as glassnet, not NaN). onnxruntime's outputs equal
glassnet's at two batch sizes and two lengths other than the sample's."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from glassnet import functional as F  # noqa: E402
from glassnet import nn, ops  # noqa: E402
from glassnet.onnx import UnsupportedOpError, export  # noqa: E402
from onnx_helpers import assert_same, op_types, session  # noqa: E402

SAMPLE = (2, 5)
OTHERS = [(3, 4), (1, 7)]
EMBED = 8


def embeddings(rng, batch, length):
    return rng.normal(size=(batch, length, EMBED)).astype(np.float32)


def padding(rng, batch, length):
    """True for padding keys: each sequence keeps a random number (>= 1) of its first positions."""
    kept = rng.integers(1, length + 1, size=batch)
    return np.arange(length)[None, :] >= kept[:, None]


class PaddedEncoder(nn.Module):
    """A transformer encoder reading a padding mask as its second input, causal if asked."""

    def __init__(self, causal=False, **layer):
        super().__init__()
        self.causal = causal
        settings = {"dim_feedforward": 16, "dropout": 0.1} | layer
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(EMBED, 2, **settings),
                                             num_layers=2, norm=True, rng=0)

    def forward(self, x, pad):
        return self.encoder(x, src_key_padding_mask=pad, is_causal=self.causal)


@pytest.mark.parametrize("settings", [
    {},
    {"causal": True},
    {"norm_first": True, "activation": "gelu"},
    {"causal": True, "norm_first": True, "activation": "silu"},
    {"causal": True, "bias": False, "activation": "mish"},
])
def test_encoder_with_padding_mask_input(tmp_path, rng, settings):
    model = PaddedEncoder(**settings)
    path = export(model, (embeddings(rng, *SAMPLE), padding(rng, *SAMPLE)), tmp_path / "m.onnx")
    sess = session(path)
    assert [i.type for i in sess.get_inputs()] == ["tensor(float)", "tensor(bool)"]
    for batch, length in [SAMPLE] + OTHERS:
        assert_same(model, sess, embeddings(rng, batch, length), padding(rng, batch, length))
    assert not any(t in op_types(path) for t in ("Dropout", "RandomUniform"))  # eval mode


def test_padding_changes_the_output(tmp_path, rng):
    """The padding mask is really read from the input (not the sample's, frozen)."""
    model = PaddedEncoder()
    sess = session(export(model, (embeddings(rng, *SAMPLE), padding(rng, *SAMPLE)), tmp_path / "m.onnx"))
    x = embeddings(rng, 3, 6)
    none = np.zeros((3, 6), bool)
    some = none.copy()
    some[:, 3:] = True
    first = assert_same(model, sess, x, none)[0]
    second = assert_same(model, sess, x, some)[0]
    assert np.abs(first - second).max() > 1e-3


def test_fully_masked_queries_give_zeros_not_nan(tmp_path, rng):
    """A query whose keys are all masked out attends to nothing: glassnet gives zeros there,
    and so must the graph (ONNX's Softmax alone would give NaN)."""

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = nn.MultiheadAttention(EMBED, 2, rng=0)

        def forward(self, x, pad):
            return self.attention(x, x, x, key_padding_mask=pad, need_weights=False)[0]

    model = Attention()
    sess = session(export(model, (embeddings(rng, *SAMPLE), padding(rng, *SAMPLE)), tmp_path / "m.onnx"))
    pad = padding(rng, 3, 4)
    pad[1] = True  # every key of sequence 1 is padding
    out = assert_same(model, sess, embeddings(rng, 3, 4), pad)[0]
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[1], np.broadcast_to(model.attention.out_proj.bias.numpy(), (4, EMBED)))


def test_attention_weights_and_causal_mask(tmp_path, rng):
    """MultiheadAttention asked for its weights (the composed path: masked_softmax), causal."""

    class Weights(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = nn.MultiheadAttention(EMBED, 4, rng=1)

        def forward(self, x):
            return self.attention(x, x, x, is_causal=True, average_attn_weights=False)

    model = Weights()
    sess = session(export(model, embeddings(rng, *SAMPLE), tmp_path / "m.onnx"))
    for batch, length in OTHERS:
        out, weights = assert_same(model, sess, embeddings(rng, batch, length))
        assert weights.shape == (batch, 4, length, length)
        assert np.all(np.triu(weights, k=1) == 0)  # no query sees a later key


def test_cross_attention_with_padding_of_the_keys(tmp_path, rng):
    """Queries from one sequence, keys and values from another (kdim != embed_dim), keys padded."""

    class Cross(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = nn.MultiheadAttention(EMBED, 2, kdim=6, vdim=5, rng=2)

        def forward(self, query, memory, values, pad):
            return self.attention(query, memory, values, key_padding_mask=pad)[0]

    model = Cross()

    def inputs(batch, length):
        return (embeddings(rng, batch, length), rng.normal(size=(batch, length, 6)).astype(np.float32),
                rng.normal(size=(batch, length, 5)).astype(np.float32), padding(rng, batch, length))

    sess = session(export(model, inputs(*SAMPLE), tmp_path / "m.onnx"))
    for batch, length in OTHERS:
        assert_same(model, sess, *inputs(batch, length))


def test_float_padding_mask_input(tmp_path, rng):
    """A float padding mask (-inf for padding, added to the scores) as the second input."""
    model = PaddedEncoder(causal=True)

    def inputs(batch, length):
        return embeddings(rng, batch, length), np.where(padding(rng, batch, length), -np.inf, 0.0).astype(np.float32)

    sess = session(export(model, inputs(*SAMPLE), tmp_path / "m.onnx"))
    for batch, length in [SAMPLE] + OTHERS:
        assert_same(model, sess, *inputs(batch, length))


def test_attention_mask_input_with_fixed_sizes(tmp_path, rng):
    """A boolean (L, L) attention mask as an input. Its first axis is no batch, so the sizes are
    the sample's (dynamic_axes=False); the graph reads the mask's values from the input."""

    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = PaddedEncoder().encoder

        def forward(self, x, pad, mask):
            return self.encoder(x, mask=mask, src_key_padding_mask=pad)

    model = Masked()

    def attention_mask():
        mask = rng.random((SAMPLE[1], SAMPLE[1])) < 0.4
        np.fill_diagonal(mask, False)  # every query sees itself
        return mask

    x, pad = embeddings(rng, *SAMPLE), np.zeros(SAMPLE, bool)
    sess = session(export(model, (x, pad, attention_mask()), tmp_path / "m.onnx", dynamic_axes=False))
    first, second = (assert_same(model, sess, x, pad, attention_mask())[0] for _ in range(2))
    assert np.abs(first - second).max() > 1e-3  # the mask is read from the input


def test_constant_mask_of_the_model(tmp_path, rng):
    """A mask that is part of the model (a fixed array of the module) stays a constant."""

    class Fixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(EMBED, 2, dim_feedforward=16, rng=0)
            self.mask = np.triu(np.ones((5, 5), bool), k=2)  # each query sees one key ahead

        def forward(self, x):
            return self.layer(x, src_mask=self.mask)

    model = Fixed()
    sess = session(export(model, embeddings(rng, *SAMPLE), tmp_path / "m.onnx"))
    for batch in (1, 4):
        assert_same(model, sess, embeddings(rng, batch, 5))


def test_mask_made_from_the_input_outside_the_ops_is_refused(tmp_path, rng):
    """A padding mask computed with NumPy from the input's values cannot be rebuilt: a clear
    error naming the op, not a graph that freezes the sample's padding."""

    class Sneaky(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = nn.MultiheadAttention(EMBED, 2, rng=0)

        def forward(self, x):
            pad = x.data[..., 0] > 1.0  # NumPy, outside glassnet.ops
            return self.attention(x, x, x, key_padding_mask=pad, need_weights=False)[0]

    with pytest.raises(UnsupportedOpError, match="mask"):
        export(Sneaky(), embeddings(rng, *SAMPLE), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("opset", [13, 18, 21])
def test_opsets(tmp_path, rng, opset):
    """ReduceMax takes its axes as an attribute before opset 18, as an input from 18 on."""
    model = PaddedEncoder(causal=True)
    sess = session(export(model, (embeddings(rng, *SAMPLE), padding(rng, *SAMPLE)), tmp_path / "m.onnx",
                          opset=opset))
    assert_same(model, sess, embeddings(rng, *OTHERS[1]), padding(rng, *OTHERS[1]))


def test_time_major_and_unbatched_attention(tmp_path, rng):
    """batch_first=False (L, N, E) and an unbatched (L, E) query, both causal."""

    class TimeMajor(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(EMBED, 2, dim_feedforward=16, batch_first=False, rng=0)

        def forward(self, x):
            return self.layer(x, is_causal=True)

    class Unbatched(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = nn.MultiheadAttention(EMBED, 2, rng=0)

        def forward(self, x):
            return self.attention(x, x, x, is_causal=True)[0]

    model = TimeMajor()
    sess = session(export(model, rng.normal(size=(5, 2, EMBED)).astype(np.float32), tmp_path / "a.onnx"))
    assert_same(model, sess, rng.normal(size=(7, 3, EMBED)).astype(np.float32))
    model = Unbatched()
    sess = session(export(model, rng.normal(size=(5, EMBED)).astype(np.float32), tmp_path / "b.onnx"))
    assert_same(model, sess, rng.normal(size=(7, EMBED)).astype(np.float32))


def test_integer_mask_is_refused_by_the_forward(tmp_path, rng):
    """A 0/1 integer mask is ambiguous (1 = keep or mask?): the forward's own TypeError, no file."""
    model = PaddedEncoder()
    with pytest.raises(TypeError, match="boolean"):
        export(model, (embeddings(rng, *SAMPLE), np.zeros(SAMPLE, np.int64)), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_attention_without_any_mask(tmp_path, rng):
    """No mask: a plain Softmax (no row can be empty), in the fused and the composed paths."""

    class Plain(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = nn.MultiheadAttention(EMBED, 2, rng=3)

        def forward(self, x):
            fused = self.attention(x, x, x, need_weights=False)[0]
            composed, weights = self.attention(x, x, x)
            return fused, composed, weights

    model = Plain()
    path = export(model, embeddings(rng, *SAMPLE), tmp_path / "m.onnx")
    assert op_types(path).count("Softmax") == 2
    fused, composed, _ = assert_same(model, session(path), embeddings(rng, *OTHERS[1]))
    np.testing.assert_allclose(fused, composed, rtol=1e-5, atol=1e-6)


class OwnBias(nn.Module):
    """Attention written with the ops directly: scores x x^T, a bias the forward makes itself."""

    def __init__(self, make_bias):
        super().__init__()
        self.make_bias = make_bias

    def forward(self, x, *masks):
        scores = x @ ops.swapaxes(x, -1, -2)
        return ops.masked_softmax(scores, self.make_bias(x, *masks), scale=0.5) @ x


def test_a_fixed_bias_of_the_model_is_a_constant(tmp_path, rng):
    bias = np.where(rng.random((5, 5)) < 0.3, -np.inf, 0.0).astype(np.float32)
    model = OwnBias(lambda x: bias)
    sess = session(export(model, embeddings(rng, *SAMPLE), tmp_path / "m.onnx"))
    for batch in (1, 4):
        assert_same(model, sess, embeddings(rng, batch, 5))


def test_a_padding_bias_reshaped_by_the_forward_is_rebuilt(tmp_path, rng):
    """ops.mask_bias of an input, spread to (N, 1, S) by the forward as attention_bias does."""
    model = OwnBias(lambda x, pad: ops.mask_bias(pad, x.dtype, "key_padding_mask")[:, None, :])
    sess = session(export(model, (embeddings(rng, *SAMPLE), padding(rng, *SAMPLE)), tmp_path / "m.onnx"))
    for batch, length in OTHERS:
        assert_same(model, sess, embeddings(rng, batch, length), padding(rng, batch, length))


def test_a_bias_changed_by_numpy_after_mask_bias_is_refused(tmp_path, rng):
    model = OwnBias(lambda x, pad: np.maximum(ops.mask_bias(pad, x.dtype, "key_padding_mask")[:, None, :], -5.0))
    for dynamic_axes in (True, False):  # with fixed sizes too: the mask is read from an input
        with pytest.raises(UnsupportedOpError, match="masked_softmax.*cannot rebuild"):
            export(model, (embeddings(rng, *SAMPLE), padding(rng, *SAMPLE)), tmp_path / "m.onnx",
                   dynamic_axes=dynamic_axes)
    assert not (tmp_path / "m.onnx").exists()


def test_self_attention_with_a_dropout_mask_is_refused(tmp_path, rng):
    """ops.self_attention called with a dropout mask (training-time randomness) has no ONNX form."""

    class Dropped(nn.Module):
        def forward(self, x):
            keep = np.ones((x.shape[0], 2, x.shape[1], x.shape[1]), np.float32)
            return ops.self_attention(x, 2, None, 0.5, keep)

    with pytest.raises(UnsupportedOpError, match="self_attention.*dropout mask"):
        export(Dropped(), rng.normal(size=(2, 5, 12)).astype(np.float32), tmp_path / "m.onnx")


def test_the_course_transformer_with_positional_encoding(tmp_path, rng):
    """examples/transformer_toy.py's architecture: tokens, Embedding, PositionalEncoding, two
    encoder layers, a Linear per position. The exported graph holds the whole table (max_len
    rows) and cuts it to the input's length, so batch and length stay dynamic."""
    model = nn.Sequential(nn.Embedding(10, 16, rng=0), nn.PositionalEncoding(16, max_len=40),
                          nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, rng=1),
                          nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, rng=2), nn.Linear(16, 10, rng=3))
    sess = session(export(model, rng.integers(0, 10, size=(2, 8)), tmp_path / "m.onnx"))
    assert len(sess.get_inputs()[0].shape) == 2 and not any(isinstance(d, int) for d in sess.get_inputs()[0].shape)
    for batch, length in ((1, 8), (7, 3), (3, 40)):
        assert_same(model, sess, rng.integers(0, 10, size=(batch, length)))
    assert "_encoding" not in vars(model[1])  # the export's table cut is gone again


def test_positional_encoding_time_major_and_a_table_too_large_to_export(tmp_path, rng):
    model = nn.Sequential(nn.PositionalEncoding(8, max_len=30, batch_first=False))
    sess = session(export(model, embeddings(rng, 5, 8)[:, :, :8].copy(), tmp_path / "m.onnx"))
    for length, batch in ((3, 2), (30, 1)):
        assert_same(model, sess, rng.normal(size=(length, batch, 8)).astype(np.float32))
    huge = nn.Sequential(nn.PositionalEncoding(64, max_len=2**21))
    with pytest.raises(ValueError, match="too large to export"):
        export(huge, embeddings(rng, 2, 5)[:, :, :1].repeat(64, axis=2), tmp_path / "huge.onnx")
    assert not (tmp_path / "huge.onnx").exists()


def test_scaled_dot_product_attention_with_padding_on_three_axes(tmp_path, rng):
    """F.scaled_dot_product_attention on (N, L, E) scores of rank 3: the padding mask (N, S)
    is spread to (N, 1, S), as attention_bias spreads it."""

    class Attend(nn.Module):
        def forward(self, x, pad):
            return F.scaled_dot_product_attention(x, x, x, key_padding_mask=pad, is_causal=True)

    model = Attend()
    sess = session(export(model, (embeddings(rng, *SAMPLE), padding(rng, *SAMPLE)), tmp_path / "m.onnx"))
    for batch, length in OTHERS:
        assert_same(model, sess, embeddings(rng, batch, length), padding(rng, batch, length))


def test_unbatched_scaled_dot_product_attention_with_padding(tmp_path, rng):
    """A 2-D query (L, E) and its padding mask (S,): the mask is added as it is (rank 2)."""

    class Attend(nn.Module):
        def forward(self, x, pad):
            return F.scaled_dot_product_attention(x, x, x, key_padding_mask=pad)

    model = Attend()
    sess = session(export(model, (embeddings(rng, 1, 5)[0], padding(rng, 1, 5)[0]), tmp_path / "m.onnx"))
    for length in (3, 7):
        assert_same(model, sess, embeddings(rng, 1, length)[0], padding(rng, 1, length)[0])


def test_each_mask_is_written_once(tmp_path, rng):
    """The two encoder layers read one padding mask and one causal mask: one Where each."""
    path = export(PaddedEncoder(causal=True), (embeddings(rng, *SAMPLE), padding(rng, *SAMPLE)), tmp_path / "m.onnx")
    assert op_types(path).count("Where") == 2 + 2 * 2  # + each softmax's two Wheres per layer
