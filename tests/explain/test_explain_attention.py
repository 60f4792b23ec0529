"""attention_maps: the per-head weights of torch.nn.MultiheadAttention (average_attn_weights=False)
for a twin with the same weights; the layers of a TransformerEncoder reached; the model's output,
mode and hooks as they were."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from glassnet.explain import attention_maps


def torch_twin(attention):
    twin = torch.nn.MultiheadAttention(attention.embed_dim, attention.num_heads, batch_first=True,
                                       kdim=attention.kdim, vdim=attention.vdim).double()
    with torch.no_grad():
        if attention.in_proj_weight is not None:
            twin.in_proj_weight.copy_(torch.tensor(attention.in_proj_weight.data.T))
        else:
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                getattr(twin, name).copy_(torch.tensor(getattr(attention, name).data.T))
        twin.in_proj_bias.copy_(torch.tensor(attention.in_proj_bias.data))
        twin.out_proj.weight.copy_(torch.tensor(attention.out_proj.weight.data.T))
        twin.out_proj.bias.copy_(torch.tensor(attention.out_proj.bias.data))
    return twin.eval()


class SelfAttention(nn.Module):
    """Self-attention that asks for no weights (as the transformer encoder does); keeps its output."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, dropout=0.3, dtype=np.float64, rng=0)
        self.head = nn.Linear(8, 3, dtype=np.float64, rng=1)

    def forward(self, x, padding=None):
        out, weights = self.attn(x, x, x, key_padding_mask=padding, need_weights=False)
        assert weights is None  # the caller gets what it asked for
        self.last = self.head(out).data.copy()
        return self.head(out)


class CrossAttention(nn.Module):
    """Cross-attention with other key/value sizes; asks for averaged weights by position."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(6, 3, kdim=4, vdim=5, dtype=np.float64, rng=2)

    def forward(self, query, key, value):
        out, weights = self.attn(query, key, value, None, True)  # need_weights=True: averaged over heads
        self.last = (out.data.copy(), weights.data.copy())
        return out


def test_self_attention_equals_torch_per_head_weights_and_output_unchanged():
    model, rng = SelfAttention(), np.random.default_rng(0)
    x = rng.normal(size=(3, 5, 8))
    padding = np.zeros((3, 5), dtype=bool)
    padding[1, 3:] = True
    model.eval()
    plain = model(x, padding).data
    model.train()
    maps = attention_maps(model, x, padding)
    assert list(maps) == ["attn"] and maps["attn"].shape == (3, 2, 5, 5)
    np.testing.assert_array_equal(model.last, plain)  # the same output, bit for bit
    assert model.training and model.attn.training
    _, expected = torch_twin(model.attn)(*(torch.tensor(x),) * 3, key_padding_mask=torch.tensor(padding),
                                         need_weights=True, average_attn_weights=False)
    np.testing.assert_allclose(maps["attn"], expected.detach().numpy(), rtol=1e-12, atol=1e-15)
    assert np.all(maps["attn"][1, :, :, 3:] == 0)
    assert all("_hooks" not in m.__dict__ for m in model.modules())


def test_cross_attention_with_positional_arguments():
    model, rng = CrossAttention(), np.random.default_rng(1)
    query, key, value = rng.normal(size=(2, 4, 6)), rng.normal(size=(2, 7, 4)), rng.normal(size=(2, 7, 5))
    model(query, key, value)
    plain_out, plain_weights = model.last
    maps = attention_maps(model, query, key, value)
    np.testing.assert_array_equal(model.last[0], plain_out)
    np.testing.assert_array_equal(model.last[1], plain_weights)  # the caller still gets the mean over heads
    _, expected = torch_twin(model.attn)(torch.tensor(query), torch.tensor(key), torch.tensor(value),
                                         average_attn_weights=False)
    assert maps["attn"].shape == (2, 3, 4, 7)
    np.testing.assert_allclose(maps["attn"], expected.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(maps["attn"].mean(axis=1), plain_weights, rtol=1e-14)


def test_the_layers_of_a_transformer_encoder():
    layer = nn.TransformerEncoderLayer(8, nhead=4, dim_feedforward=16, dropout=0.2, dtype=np.float64, rng=0)
    encoder = nn.TransformerEncoder(layer, num_layers=3)
    x = np.random.default_rng(2).normal(size=(2, 6, 8))
    padding = np.zeros((2, 6), dtype=bool)
    padding[0, 4:] = True
    encoder.eval()
    plain = encoder(x, src_key_padding_mask=padding).data
    encoder.train()
    maps = attention_maps(encoder, x, src_key_padding_mask=padding)
    assert sorted(maps) == [f"layers.{i}.self_attn" for i in range(3)]
    encoder.eval()
    hidden = x
    for i, block in enumerate(encoder.layers):
        # the weights of layer i: its attention on its own input, asked directly
        _, weights = block.self_attn(hidden, hidden, hidden, key_padding_mask=padding, average_attn_weights=False)
        np.testing.assert_allclose(maps[f"layers.{i}.self_attn"], weights.data, rtol=1e-13, atol=1e-15)
        expected = torch_twin(block.self_attn)(*(torch.tensor(hidden),) * 3, key_padding_mask=torch.tensor(padding),
                                               average_attn_weights=False)[1].detach().numpy()
        np.testing.assert_allclose(maps[f"layers.{i}.self_attn"], expected, rtol=1e-12, atol=1e-15)
        hidden = block(hidden, src_key_padding_mask=padding).data
    np.testing.assert_array_equal(hidden, plain)
    assert np.all(maps["layers.2.self_attn"][0, :, :, 4:] == 0)
    np.testing.assert_allclose(maps["layers.1.self_attn"].sum(axis=-1), 1.0, rtol=1e-13)


class Twice(nn.Module):
    """One attention module used twice, once on an unbatched sequence."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(4, 2, dtype=np.float64, rng=3)

    def forward(self, x):
        first, _ = self.attn(x, x, x)
        second, _ = self.attn(first[0], first[0], first[0], need_weights=False)
        return second


def test_a_module_called_twice_and_an_unbatched_call():
    model = Twice()
    x = np.random.default_rng(3).normal(size=(1, 5, 4))
    maps = attention_maps(model, x)
    assert sorted(maps) == ["attn", "attn#1"]
    assert maps["attn"].shape == maps["attn#1"].shape == (1, 2, 5, 5)
    first, _ = model.attn(x, x, x)
    _, weights = model.attn(first.data[0], first.data[0], first.data[0], average_attn_weights=False)
    np.testing.assert_allclose(maps["attn#1"][0], weights.data, rtol=1e-14)


def test_bad_arguments_and_hooks_removed_after_a_failure():
    with pytest.raises(ValueError, match="no nn.MultiheadAttention"):
        attention_maps(nn.Sequential(nn.Linear(3, 2)), np.ones((2, 3)))
    with pytest.raises(TypeError, match="glassnet Module"):
        attention_maps(lambda x: x, np.ones((2, 3)))
    model = SelfAttention()
    with pytest.raises(ValueError, match="finite"):
        attention_maps(model, np.full((2, 5, 8), np.nan))
    with pytest.raises(ValueError, match="finite"):
        attention_maps(model, gn.Tensor(np.full((2, 5, 8), np.inf)))
    with pytest.raises(ValueError, match="features"):  # the model itself refuses the input
        attention_maps(model, np.ones((2, 5, 7)))
    assert all("_hooks" not in m.__dict__ for m in model.modules())
    assert model.training
