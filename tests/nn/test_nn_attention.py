"""Attention: the masked softmax, F.scaled_dot_product_attention and nn.MultiheadAttention.
Gradients vs central differences (float64); outputs, attention weights and every gradient (query,
key, value, in_proj or q/k/v_proj weights, in_proj_bias, out_proj) vs PyTorch with the weights
copied by a transpose; masks (key padding, causal, boolean and float attn_mask); fully masked
queries; dropout; configs and errors."""

import json

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import functional as F
from glassnet import nn
from oracle import (
    check_against_torch,
    check_finite_differences,
    check_module_against_torch,
    check_module_gradients,
)

torch.set_default_dtype(torch.float64)


# ---- masked softmax ---------------------------------------------------------------------------

def test_masked_softmax_matches_softmax_with_masked_entries_at_zero(rng):
    x = rng.normal(size=(2, 3, 5))
    mask = rng.random((3, 5)) < 0.4
    mask[:, 0] = False  # no row fully masked here
    bias = gn.ops.mask_bias(mask, np.dtype(np.float64), "mask")
    out = check_against_torch(lambda t: gn.ops.masked_softmax(t, bias, 0.7),
                              lambda t: torch.softmax(0.7 * t + torch.tensor(bias), dim=-1), x)
    assert (out.data[:, mask] == 0).all()
    check_finite_differences(lambda t: gn.ops.masked_softmax(t, bias, 0.7), x)


def test_masked_softmax_fully_masked_row_is_zero_with_zero_gradient():
    x = gn.Tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), requires_grad=True)
    bias = np.array([[0.0, -np.inf, 0.0], [-np.inf, -np.inf, -np.inf]])
    out = gn.ops.masked_softmax(x, bias)
    expected_first = np.exp([1.0, 3.0]) / np.exp([1.0, 3.0]).sum()
    np.testing.assert_allclose(out.data, [[expected_first[0], 0, expected_first[1]], [0, 0, 0]])
    out.backward(np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]))
    assert np.isfinite(x.grad).all()
    np.testing.assert_array_equal(x.grad[1], [0.0, 0.0, 0.0])
    assert x.grad[0, 1] == 0.0


def test_mask_bias_and_causal_mask():
    np.testing.assert_array_equal(gn.ops.mask_bias(np.array([True, False]), np.dtype(np.float32), "m"),
                                  np.array([-np.inf, 0.0], np.float32))
    floats = np.array([0.5, -1.0])
    assert gn.ops.mask_bias(floats, np.dtype(np.float32), "m").dtype == np.float32
    np.testing.assert_array_equal(gn.ops.causal_mask(2, 3), [[False, True, True], [False, False, True]])
    with pytest.raises(TypeError, match=r"my_mask must be a boolean array .* got dtype int64; for 0/1"):
        gn.ops.mask_bias(np.array([0, 1]), np.dtype(np.float32), "my_mask")


# ---- scaled dot-product attention -----------------------------------------------------------

def torch_sdpa(q, k, v, mask=None, **kwargs):
    """PyTorch's function with our boolean convention: its boolean mask is True where attending."""
    if mask is not None and mask.dtype == torch.bool:
        mask = ~mask
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, **kwargs)


@pytest.mark.parametrize("shapes", [((4, 3), (5, 3), (5, 2)),                    # unbatched
                                    ((2, 4, 3), (2, 5, 3), (2, 5, 2)),           # batched
                                    ((2, 3, 4, 3), (2, 3, 5, 3), (2, 3, 5, 2)),  # batch and heads
                                    ((2, 3, 4, 3), (1, 1, 5, 3), (2, 1, 5, 2))])  # broadcast
def test_sdpa_matches_torch_and_finite_differences(rng, shapes):
    arrays = [rng.normal(size=shape) for shape in shapes]
    check_against_torch(F.scaled_dot_product_attention, torch_sdpa, *arrays)
    check_finite_differences(F.scaled_dot_product_attention, *arrays)


def test_sdpa_boolean_float_and_causal_masks_match_torch(rng):
    q, k, v = rng.normal(size=(2, 2, 4, 3)), rng.normal(size=(2, 2, 4, 3)), rng.normal(size=(2, 2, 4, 3))
    boolean = rng.random((4, 4)) < 0.3
    np.fill_diagonal(boolean, False)
    floats = rng.normal(size=(2, 1, 4, 4))
    for ours_kwargs, torch_mask in (({"attn_mask": boolean}, torch.tensor(boolean)),
                                    ({"attn_mask": floats}, torch.tensor(floats)),
                                    ({"is_causal": True}, torch.tensor(gn.ops.causal_mask(4, 4)))):
        check_against_torch(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, **ours_kwargs),
                            lambda a, b, c: torch_sdpa(a, b, c, torch_mask), q, k, v)
    check_finite_differences(lambda a, b, c: F.scaled_dot_product_attention(
        a, b, c, attn_mask=boolean, is_causal=True, scale=0.3), q, k, v)


def test_sdpa_causal_mask_with_more_keys_than_queries_is_aligned_top_left(rng):
    q, k, v = rng.normal(size=(2, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    check_against_torch(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True),
                        lambda a, b, c: torch_sdpa(a, b, c, is_causal=True), q, k, v)


def test_sdpa_key_padding_mask_matches_the_equivalent_full_mask(rng):
    q, k, v = rng.normal(size=(3, 2, 4, 3)), rng.normal(size=(3, 2, 5, 3)), rng.normal(size=(3, 2, 5, 3))
    padding = np.zeros((3, 5), dtype=bool)
    padding[0, 3:], padding[2, 1:] = True, True
    full = torch.tensor(np.broadcast_to(padding[:, None, None, :], (3, 2, 4, 5)).copy())
    out = check_against_torch(
        lambda a, b, c: F.scaled_dot_product_attention(a, b, c, key_padding_mask=padding, is_causal=True),
        lambda a, b, c: torch_sdpa(a, b, c, full | torch.tensor(gn.ops.causal_mask(4, 5))), q, k, v)
    # Sequence 2 has only its first key, and query 0 only sees key 0, so its rows all equal v[2, :, 0].
    np.testing.assert_allclose(out.data[2], np.broadcast_to(v[2, :, :1, :], (2, 4, 3)))
    check_finite_differences(lambda a, b, c: F.scaled_dot_product_attention(
        a, b, c, key_padding_mask=padding[:2, :3]), q[:2, :, :2], k[:2, :, :3], v[:2, :, :3])
    _, weights = F.scaled_dot_product_attention(q, k, v, key_padding_mask=padding, need_weights=True)
    assert (weights.data[0, :, :, 3:] == 0).all()
    np.testing.assert_allclose(weights.data.sum(axis=-1), 1.0)


def test_sdpa_fully_masked_queries_give_zeros_like_torch_sdpa(rng):
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    mask = np.zeros((3, 3), dtype=bool)
    mask[1] = True  # query 1 may attend to nothing
    padding = np.array([[True, True, True], [False, False, False]])  # sequence 0 is all padding
    out = check_against_torch(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=mask),
                              lambda a, b, c: torch_sdpa(a, b, c, torch.tensor(mask)), q, k, v)
    np.testing.assert_array_equal(out.data[:, 1], 0.0)
    q_t = gn.Tensor(q, requires_grad=True)
    out, weights = F.scaled_dot_product_attention(q_t, k, v, key_padding_mask=padding, need_weights=True)
    out.sum().backward()
    np.testing.assert_array_equal(out.data[0], 0.0)
    np.testing.assert_array_equal(weights.data[0], 0.0)
    np.testing.assert_array_equal(q_t.grad[0], 0.0)
    assert np.isfinite(out.data).all() and np.isfinite(q_t.grad).all()


def test_sdpa_weights_are_the_softmax_of_the_scaled_scores(rng):
    q, k, v = rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 5))
    out, weights = F.scaled_dot_product_attention(q, k, v, need_weights=True, scale=0.25)
    scores = 0.25 * q @ k.T
    expected = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(weights.data, expected, rtol=1e-12)
    np.testing.assert_allclose(out.data, expected @ v, rtol=1e-12)
    single = F.scaled_dot_product_attention(*(a.astype(np.float32) for a in (q, k, v)), scale=0.25)
    assert single.dtype == np.float32  # no op upcasts
    np.testing.assert_allclose(single.data, expected @ v, rtol=1e-5, atol=1e-6)


def test_sdpa_dropout_on_the_weights(rng):
    q, k, v = rng.normal(size=(2, 6, 4)), rng.normal(size=(2, 6, 4)), rng.normal(size=(2, 6, 3))
    clean = F.scaled_dot_product_attention(q, k, v, need_weights=True)[1].data
    out, weights = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, rng=7, need_weights=True)
    kept = weights.data != 0
    assert 0.2 < kept.mean() < 0.8
    np.testing.assert_allclose(weights.data[kept], 2 * clean[kept], rtol=1e-6)
    np.testing.assert_allclose(out.data, weights.data @ v.astype(np.float32), rtol=1e-5, atol=1e-6)
    again = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, rng=7)
    np.testing.assert_array_equal(again.data, out.data)
    not_training = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, training=False, need_weights=True)
    np.testing.assert_array_equal(not_training[1].data, clean)


@pytest.mark.parametrize("call, error, message", [
    (lambda q: F.scaled_dot_product_attention(q[0, 0], q, q), ValueError,
     r"query must have 2 or more dimensions \(\.\.\., sequence, features\), got shape \(3,\)"),
    (lambda q: F.scaled_dot_product_attention(q, q[..., :2], q), ValueError,
     r"key must have query's 3 features, got key shape \(2, 4, 2\)"),
    (lambda q: F.scaled_dot_product_attention(q, q[:, :0], q[:, :0]), ValueError,
     r"key must hold at least one position \(S >= 1\) to attend to, got key shape \(2, 0, 3\)"),
    (lambda q: F.scaled_dot_product_attention(q, q, q[:, :3]), ValueError,
     r"value must have one row per key \(4\), got value shape \(2, 3, 3\)"),
    (lambda q: F.scaled_dot_product_attention(q, q[:1].repeat(3, 0), q), ValueError,
     r"the leading axes of query \(2, 4, 3\), key \(3, 4, 3\) and value \(2, 4, 3\) do not broadcast"),
    (lambda q: F.scaled_dot_product_attention(q, q, q, attn_mask=np.zeros((4, 5), bool)), ValueError,
     r"attn_mask must broadcast to the scores' shape \(2, 4, 4\) \(\.\.\., L=4, S=4\), e\.g\. \(4, 4\); "
     r"got shape \(4, 5\)"),
    (lambda q: F.scaled_dot_product_attention(q, q, q, key_padding_mask=np.zeros((4,), bool)), ValueError,
     r"key_padding_mask must have shape \(2, 4\) \(\(batch, S\) for batched input, \(S,\) unbatched\), "
     r"got \(4,\)"),
    (lambda q: F.scaled_dot_product_attention(q, q, q, attn_mask=np.zeros((4, 4), int)), TypeError,
     r"attn_mask must be a boolean array"),
    (lambda q: F.scaled_dot_product_attention(q, q, q, dropout_p=1.5), ValueError,
     r"dropout_p must be in \[0, 1\], got 1.5"),
    (lambda q: F.scaled_dot_product_attention(q, q, q, dropout_p=-0.5, training=False), ValueError,
     r"dropout_p must be in \[0, 1\], got -0.5"),
    (lambda q: F.scaled_dot_product_attention(gn.Tensor(q), gn.Tensor(q, dtype=np.float64), q), TypeError,
     r"key is float64 but query is float32"),
])
def test_sdpa_errors_name_expected_and_got(call, error, message):
    with pytest.raises(error, match=message):
        call(np.zeros((2, 4, 3), np.float32))


# ---- MultiheadAttention vs PyTorch ---------------------------------------------------------

def make_pair(embed_dim=6, num_heads=2, dtype=np.float64, seed=0, **options):
    """Our layer and PyTorch's with the same weights (ours transposed), biases made non-zero."""
    ours = nn.MultiheadAttention(embed_dim, num_heads, dtype=dtype, rng=seed, **options)
    options.setdefault("batch_first", True)  # our default; PyTorch's is False
    theirs = torch.nn.MultiheadAttention(embed_dim, num_heads, dtype=torch.float64 if dtype == np.float64
                                         else torch.float32, **options)
    rng = np.random.default_rng(seed + 100)
    for name, parameter in ours.named_parameters():
        if "bias" in name:
            parameter.data[...] = rng.normal(size=parameter.shape)
    with torch.no_grad():
        for name, parameter in theirs.named_parameters():
            parameter.copy_(torch.tensor(ours.state_dict()[name].T))
    return ours, theirs


def compare(ours, theirs, arrays, same=(), need_weights=True, atol=1e-10, rtol=1e-8, **kwargs):
    """Our layer vs PyTorch's on the same inputs: outputs, attention weights and the gradients of
    every input and parameter (:func:`oracle.check_module_against_torch`). ``same`` lists
    (position, source) pairs of inputs that are the same object as an earlier one (self-attention,
    key is value), so that their gradient sums both uses. Returns our [output(, weights)]."""
    sources = dict(same)
    unique = [i for i in range(len(arrays)) if i not in sources]

    def arguments(tensors):
        by_position = dict(zip(unique, tensors))
        return [by_position[sources.get(i, i)] for i in range(len(arrays))]

    torch_kwargs = {key: (torch.tensor(value) if isinstance(value, np.ndarray) else value)
                    for key, value in kwargs.items()}
    if torch_kwargs.get("is_causal") and torch_kwargs.get("attn_mask") is None:
        length = arrays[0].shape[-2 if ours.batch_first or arrays[0].ndim == 2 else 0]
        torch_kwargs["attn_mask"] = torch.tensor(gn.ops.causal_mask(length, length))
    return check_module_against_torch(
        ours, theirs, *(arrays[i] for i in unique), dtype=arrays[0].dtype, atol=atol, rtol=rtol, seed=1,
        forward=lambda m, *tensors: m(*arguments(tensors), need_weights=need_weights, **kwargs),
        torch_forward=lambda m, *tensors: m(*arguments(tensors), need_weights=need_weights, **torch_kwargs))


@pytest.mark.parametrize("num_heads", [1, 3])
@pytest.mark.parametrize("masks", ["none", "key_padding", "causal", "bool_attn_mask", "float_attn_mask",
                                   "padding_and_causal"])
def test_self_attention_matches_torch(rng, num_heads, masks):
    ours, theirs = make_pair(6, num_heads)
    x = rng.normal(size=(3, 5, 6))
    padding = np.zeros((3, 5), dtype=bool)
    padding[1, 3:], padding[2, 1:] = True, True
    kwargs = {"none": {}, "key_padding": {"key_padding_mask": padding}, "causal": {"is_causal": True},
              "bool_attn_mask": {"attn_mask": rng.random((5, 5)) < 0.3},
              "float_attn_mask": {"attn_mask": rng.normal(size=(5, 5))},
              "padding_and_causal": {"key_padding_mask": padding, "is_causal": True,
                                     "attn_mask": gn.ops.causal_mask(5, 5)}}[masks]
    if masks == "bool_attn_mask":
        np.fill_diagonal(kwargs["attn_mask"], False)
    compare(ours, theirs, [x, x, x], same=((1, 0), (2, 0)), **kwargs)


@pytest.mark.parametrize("key_is_value", [True, False])
def test_cross_attention_matches_torch(rng, key_is_value):
    ours, theirs = make_pair(4, 2)
    query, memory = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))
    arrays = [query, memory, memory if key_is_value else rng.normal(size=(2, 5, 4))]
    padding = np.zeros((2, 5), dtype=bool)
    padding[0, 2:] = True
    compare(ours, theirs, arrays, same=((2, 1),) if key_is_value else (), key_padding_mask=padding)


def test_kdim_vdim_use_separate_projections_like_torch(rng):
    ours, theirs = make_pair(4, 2, kdim=3, vdim=5)
    assert ours.in_proj_weight is None
    assert [ours.q_proj_weight.shape, ours.k_proj_weight.shape, ours.v_proj_weight.shape] == [(4, 4), (3, 4), (5, 4)]
    arrays = [rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 5))]
    compare(ours, theirs, arrays, attn_mask=rng.normal(size=(3, 4)))


def test_per_head_masks_unaveraged_weights_no_bias_and_sequence_first(rng):
    ours, theirs = make_pair(6, 3, bias=False, batch_first=False)
    x = rng.normal(size=(4, 2, 6))  # (L, N, E)
    per_head = rng.random((2 * 3, 4, 4)) < 0.3
    per_head[:, :, 0] = False
    ours_result = compare(ours, theirs, [x, x, x], same=((1, 0), (2, 0)), attn_mask=per_head,
                          average_attn_weights=False)
    assert ours_result[1].shape == (2, 3, 4, 4)


def test_unbatched_input_matches_torch(rng):
    ours, theirs = make_pair(4, 2)
    query, memory = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    padding = np.array([False, False, True, False, True])
    ours_result = compare(ours, theirs, [query, memory, memory], same=((2, 1),), key_padding_mask=padding)
    assert ours_result[0].shape == (3, 4) and ours_result[1].shape == (3, 5)


@pytest.mark.parametrize("num_heads", [1, 2])
@pytest.mark.parametrize("masks", ["none", "padding_and_causal", "per_head_float", "sequence_first"])
def test_need_weights_false_uses_the_fused_op_and_matches_torch(rng, num_heads, masks):
    ours, theirs = make_pair(6, num_heads, batch_first=masks != "sequence_first")
    x = rng.normal(size=(3, 5, 6))
    padding = np.zeros((3, 5), dtype=bool)
    padding[1, 3:], padding[2, 1:] = True, True
    kwargs = {"none": {}, "sequence_first": {"key_padding_mask": padding.T.copy()},  # (N=5, S=3)
              "padding_and_causal": {"key_padding_mask": padding, "is_causal": True},
              "per_head_float": {"attn_mask": rng.normal(size=(3 * num_heads, 5, 5))}}[masks]
    ours_result = compare(ours, theirs, [x, x, x], same=((1, 0), (2, 0)), need_weights=False, **kwargs)
    assert len(ours_result) == 1  # the output; no attention weights


def test_fused_self_attention_op_matches_finite_differences(rng):
    bias = gn.ops.mask_bias(rng.random((2, 2, 3, 3)) < 0.3, np.dtype(np.float64), "mask")
    bias[..., 0] = rng.normal(size=(2, 2, 3))  # the first key stays visible, with a float bias
    dropout_mask = (rng.random((2, 2, 3, 3)) > 0.3) * 1.5
    check_finite_differences(lambda qkv: gn.ops.self_attention(qkv, 2, bias, 0.6, dropout_mask),
                             rng.normal(size=(2, 3, 12)))
    check_finite_differences(lambda qkv: gn.ops.self_attention(qkv, 1, None, 0.4), rng.normal(size=(1, 4, 6)))


def test_fused_and_composed_paths_agree_with_dropout_and_fully_masked_queries(rng):
    x = rng.normal(size=(3, 4, 6))
    padding = np.zeros((3, 4), dtype=bool)
    padding[0] = True  # every key of sequence 0 is padding
    results = []
    for need_weights in (False, True):
        layer = nn.MultiheadAttention(6, 3, dropout=0.4, dtype=np.float64, rng=11)
        layer.in_proj_bias.data[...] = np.linspace(-1, 1, 18)
        x_tensor = gn.Tensor(x, requires_grad=True)
        out, _ = layer(x_tensor, x_tensor, x_tensor, key_padding_mask=padding, is_causal=True,
                       need_weights=need_weights)
        (out * gn.Tensor(np.cos(np.arange(out.size)).reshape(out.shape))).sum().backward()
        results.append([out.data, x_tensor.grad] + [p.grad for p in layer.parameters()])
    for fused, composed in zip(*results):
        np.testing.assert_allclose(fused, composed, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(results[0][1][0], 0.0)  # no gradient into the all-padding sequence
    assert np.isfinite(results[0][0]).all()


def test_float32_matches_torch(rng):
    ours, theirs = make_pair(8, 2, dtype=np.float32)
    x = rng.normal(size=(2, 5, 8)).astype(np.float32)
    ours_result = compare(ours, theirs, [x, x, x], same=((1, 0), (2, 0)), is_causal=True, atol=1e-5, rtol=1e-4)
    assert ours_result[0].dtype == np.float32 and ours.in_proj_weight.grad.dtype == np.float32


def test_eval_mode_with_dropout_matches_torch_eval(rng):
    ours, theirs = make_pair(6, 2, dropout=0.5)
    ours.eval(), theirs.eval()
    x = rng.normal(size=(2, 4, 6))
    compare(ours, theirs, [x, x, x], same=((1, 0), (2, 0)))


def test_training_dropout_is_on_the_weights_and_reproducible(rng):
    x = rng.normal(size=(2, 6, 4))
    first = nn.MultiheadAttention(4, 2, dropout=0.5, rng=3)
    second = nn.MultiheadAttention(4, 2, dropout=0.5, rng=3)
    out, weights = first(x, x, x, average_attn_weights=False)
    out_again, weights_again = second(x, x, x, average_attn_weights=False)
    np.testing.assert_array_equal(out.data, out_again.data)
    zero = weights.data == 0
    assert 0.2 < zero.mean() < 0.8
    evaluated = first.eval()(x, x, x, average_attn_weights=False)[1].data
    np.testing.assert_allclose(weights.data[~zero], 2 * evaluated[~zero], rtol=1e-5)


# ---- MultiheadAttention: finite differences, fully masked queries, fused projection ---------------

def test_self_attention_matches_finite_differences(rng):
    layer, _ = make_pair(4, 2)
    x = rng.normal(size=(2, 3, 4))
    padding = np.array([[False, False, True], [False, False, False]])
    # One input used as query, key and value: its gradient sums the three paths.
    check_module_gradients(layer, x, forward=lambda m, x: m(x, x, x, key_padding_mask=padding, is_causal=True),
                           atol=1e-6, rtol=1e-4, seed=5)


def test_cross_attention_with_kdim_vdim_matches_finite_differences(rng):
    layer, _ = make_pair(4, 2, kdim=3, vdim=2)
    arrays = [rng.normal(size=(2, 2, 4)), rng.normal(size=(2, 3, 3)), rng.normal(size=(2, 3, 2))]
    attn_mask = rng.normal(size=(2, 3))
    check_module_gradients(layer, *arrays, forward=lambda m, *qkv: m(*qkv, attn_mask=attn_mask,
                                                                     average_attn_weights=False),
                           atol=1e-6, rtol=1e-4, seed=5)


def test_fully_masked_query_outputs_the_out_proj_bias_not_nan(rng):
    layer, _ = make_pair(4, 2)
    x = gn.Tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    padding = np.array([[True, True, True], [False, True, False]])  # sequence 0 is all padding
    out, weights = layer(x, x, x, key_padding_mask=padding)
    np.testing.assert_allclose(out.data[0], np.broadcast_to(layer.out_proj.bias.data, (3, 4)))
    np.testing.assert_array_equal(weights.data[0], 0.0)
    np.testing.assert_allclose(weights.data[1].sum(axis=-1), 1.0)
    (out.sum() + weights.sum()).backward()
    np.testing.assert_array_equal(x.grad[0], 0.0)
    assert all(np.isfinite(p.grad).all() for p in layer.parameters())


def test_one_product_for_the_three_projections_in_self_attention(rng, monkeypatch):
    layer = nn.MultiheadAttention(4, 2, rng=0)
    shapes = []
    real_linear = F.linear

    def counting_linear(x, weight, bias=None):
        shapes.append(weight.shape)
        return real_linear(x, weight, bias)

    monkeypatch.setattr(F, "linear", counting_linear)
    x, memory = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))
    layer(x, x, x)
    assert shapes == [(4, 12), (4, 4)]  # in_proj (q, k and v at once), out_proj
    shapes.clear()
    layer(x, memory, memory)
    assert shapes == [(4, 4), (4, 8), (4, 4)]  # q, then k and v at once, out_proj
    shapes.clear()
    layer(x, memory, memory.copy())
    assert shapes == [(4, 4)] * 4


# ---- MultiheadAttention: parameters, config, errors ---------------------------------------------

def test_parameters_state_dict_and_initialization_follow_torch():
    layer = nn.MultiheadAttention(8, 2, rng=0)
    theirs = torch.nn.MultiheadAttention(8, 2)
    assert {name: array.shape for name, array in layer.state_dict().items()} == \
        {name: tuple(reversed(tensor.shape)) for name, tensor in theirs.state_dict().items()}
    assert np.abs(layer.in_proj_weight.data).max() <= np.sqrt(6 / (8 + 24))  # Xavier uniform
    assert np.abs(layer.out_proj.weight.data).max() <= 1 / np.sqrt(8)
    assert (layer.in_proj_bias.data == 0).all() and (layer.out_proj.bias.data == 0).all()
    assert layer.head_dim == 4
    separate = nn.MultiheadAttention(8, 2, kdim=3, bias=False)
    assert list(separate.state_dict()) == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "out_proj.weight"]


def test_config_rebuilds_the_layer():
    layer = nn.MultiheadAttention(6, 3, dropout=0.25, bias=False, kdim=2, vdim=5, batch_first=False,
                                  dtype=np.float64)
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config == {
        "embed_dim": 6, "num_heads": 3, "dropout": 0.25, "bias": False, "kdim": 2, "vdim": 5,
        "batch_first": False, "dtype": "float64"}
    rebuilt = type(layer)(**config)
    assert rebuilt.get_config() == config
    assert repr(rebuilt) == repr(layer)
    assert {k: (v.shape, v.dtype) for k, v in rebuilt.state_dict().items()} == \
        {k: (v.shape, v.dtype) for k, v in layer.state_dict().items()}


@pytest.mark.parametrize("arguments, error, message", [
    ((6, 4), ValueError, r"embed_dim \(6\) must be divisible by num_heads \(4\)"),
    ((0, 1), ValueError, r"embed_dim must be a positive int, got 0"),
    ((4, 2.0), TypeError, r"num_heads must be a positive int, got float 2.0"),
    ((4, 2, 1.0), ValueError, r"dropout must be in \[0, 1\), got 1.0"),
    ((4, 2, 0.0, "yes"), TypeError, r"bias must be True or False, got str 'yes'"),
])
def test_constructor_errors(arguments, error, message):
    with pytest.raises(error, match=message):
        nn.MultiheadAttention(*arguments)


@pytest.mark.parametrize("call, error, message", [
    (lambda m, x: m(x[0, 0], x[0, 0], x[0, 0]), ValueError,
     r"expects a query of shape \(N, L, E\), or \(L, E\) unbatched \(3 or 2 dimensions\), got shape \(4,\)"),
    (lambda m, x: m(x, x[0], x[0]), ValueError,
     r"key must have 3 dimensions like the query \(shape \(2, 3, 4\)\), got shape \(3, 4\)"),
    (lambda m, x: m(x[..., :3], x, x), ValueError,
     r"MultiheadAttention\(embed_dim=4, kdim=4, vdim=4\) expects query with 4 features, got shape \(2, 3, 3\)"),
    (lambda m, x: m(x, x[:, :0], x[:, :0]), ValueError,
     r"key must hold at least one position \(S >= 1\) to attend to, got shape \(2, 0, 4\)"),
    (lambda m, x: m(x, x, x[:, :2]), ValueError,
     r"key and value must have the same batch and length, got shapes \(2, 3, 4\) and \(2, 2, 4\)"),
    (lambda m, x: m(x[:1], x, x), ValueError,
     r"query and key must have the same batch size \(axis 0\), got shapes \(1, 3, 4\) and \(2, 3, 4\)"),
    (lambda m, x: m(x, x, x, attn_mask=np.zeros((3, 4), bool)), ValueError,
     r"attn_mask must have shape \(L, S\) = \(3, 3\) or \(N \* num_heads, L, S\) = \(4, 3, 3\), got \(3, 4\)"),
    (lambda m, x: m(x, x, x, key_padding_mask=np.zeros((3, 2), bool)), ValueError,
     r"key_padding_mask must have shape \(2, 3\)"),
    (lambda m, x: m(x[0], x[0], x[0], key_padding_mask=np.zeros((2, 3), bool)), ValueError,
     r"key_padding_mask must have shape \(S,\) = \(3,\) for an unbatched input, got \(2, 3\)"),
    (lambda m, x: m(gn.Tensor(x, dtype=np.float64), x, x), TypeError,
     r"MultiheadAttention has float32 parameters but query is float64"),
])
def test_forward_errors_name_expected_and_got(call, error, message):
    layer = nn.MultiheadAttention(4, 2, rng=0)
    with pytest.raises(error, match=message):
        call(layer, np.zeros((2, 3, 4), np.float32))
