"""examples/autoencoder_digits.py and examples/conv_autoencoder_mnist1d.py at their fast settings
(seed 0) show what they claim: a linear autoencoder reaches PCA's test reconstruction error (within
2%), a nonlinear one beats it, a denoising one cleans noisy digits better than PCA and a plain
autoencoder, and the convolutional autoencoder on MNIST-1D beats PCA with the same code size.
The full settings' numbers over seeds 0, 1, 2 are in the scripts' docstrings."""

import numpy as np
import pytest

from test_examples_course import assert_figures, load_example, run_example


def test_linear_autoencoder_finds_pca_and_nonlinear_ones_beat_it(tmp_path, capsys):
    result, printed = run_example("autoencoder_digits", tmp_path, capsys)
    assert (result["n_train"], result["n_test"]) == (1347, 450)
    assert sorted(result["results"]) == [2, 8]
    for k, r in result["results"].items():
        assert abs(r["linear_ae"] / r["pca"] - 1) <= 0.02, k  # (a) the optimal linear AE is PCA
        assert r["linear_ratio"] == pytest.approx(r["linear_ae"] / r["pca"])
        assert len(r["subspace_cosines"]) == k
        assert r["nonlinear_ae"] < 0.97 * r["pca"], k  # (b) a nonlinear code does better
        assert f"k = {k:<7d} {r['pca']:.5f}   {r['linear_ae']:.5f} ({r['linear_ratio']:.4f})" in printed
    # In 2-D the principal subspace is well separated from the rest: the decoder spans it
    assert min(result["results"][2]["subspace_cosines"]) > 0.99
    # PCA's errors do not depend on training: the variance left outside 2 and 8 components
    assert result["results"][2]["pca"] == pytest.approx(0.05302, abs=1e-5)
    assert result["results"][8]["pca"] == pytest.approx(0.02461, abs=1e-5)
    noisy = result["denoising"]  # (c) on noisy test inputs, against the clean images
    assert noisy["denoising_ae"] < 0.9 * noisy["pca"]
    assert noisy["denoising_ae"] < 0.9 * noisy["plain_ae"]
    assert noisy["pca"] < noisy["noisy_input"] / 2
    assert f"denoising AE {noisy['denoising_ae']:.5f}" in printed
    assert_figures(result, tmp_path, ["autoencoder_codes.png", "autoencoder_reconstructions.png",
                                      "autoencoder_denoising.png"])


def test_conv_autoencoder_beats_pca_at_the_same_code_size(tmp_path, capsys):
    result, printed = run_example("conv_autoencoder_mnist1d", tmp_path, capsys)
    assert (result["n_train"], result["n_test"]) == (4000, 1000)
    assert sorted(result["results"]) == [4, 8]
    for k, r in result["results"].items():
        assert r["conv_ae"] < 0.97 * r["pca"], k
        assert r["conv_ae"] < r["dense_ae"], k
        assert f"k = {k:<7d} {r['pca']:.4f}    {r['conv_ae']:.4f} ({r['conv_ae'] / r['pca']:.3f})" in printed
    # PCA's errors do not depend on training: the variance outside 4 and 8 components
    assert result["results"][4]["pca"] == pytest.approx(0.4637, abs=1e-4)
    assert result["results"][8]["pca"] == pytest.approx(0.2556, abs=1e-4)
    assert_figures(result, tmp_path, ["conv_autoencoder_mnist1d.png"])


def test_conv_autoencoder_shapes_and_both_decoders():
    module = load_example("conv_autoencoder_mnist1d")
    X = np.random.default_rng(0).normal(size=(3, 40)).astype(np.float32)
    for decoder in ("transpose", "upsample"):
        model = module.conv_autoencoder(5, np.random.default_rng(0), channels=4, decoder=decoder)
        assert model.encoder(X).shape == (3, 5)
        assert model(X).shape == (3, 40)
    with pytest.raises(ValueError, match="decoder must be 'transpose' or 'upsample', got 'nearest'"):
        module.conv_autoencoder(5, 0, decoder="nearest")


@pytest.mark.parametrize("name", ["autoencoder_digits", "conv_autoencoder_mnist1d"])
def test_command_line_options(name):
    module = load_example(name)
    args = module._parse_args(["--fast", "--out", "figures", "--seed", "3"])
    assert (args.fast, args.out, args.seed) == (True, "figures", 3)
    defaults = module._parse_args([])
    assert (defaults.fast, defaults.out, defaults.seed) == (False, "examples-output", 0)


def test_pca_baseline_is_the_projection_onto_the_top_components():
    module = load_example("autoencoder_digits")
    X = np.random.default_rng(0).normal(size=(50, 6)) @ np.diag([5, 4, 3, 0.1, 0.1, 0.1])
    pca = module.PCA(X, 3)
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(3), atol=1e-12)
    reconstructed = pca.decode(pca.encode(X))
    # the residual is orthogonal to the subspace, and projecting again changes nothing
    np.testing.assert_allclose((X - reconstructed) @ pca.components.T, 0, atol=1e-10)
    np.testing.assert_allclose(pca.decode(pca.encode(reconstructed)), reconstructed, atol=1e-10)
    np.testing.assert_allclose(module.subspace_cosines(pca.components, np.array([[1.0, 2, 0], [0, 1, 1], [3, 0, 1]])
                                                       @ pca.components), 1, atol=1e-12)
