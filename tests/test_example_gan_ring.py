"""examples/gan_ring.py: PacGAN's metric is computed as the paper defines it, and at the shortened
setting the plain GAN collapses while the packed one (PacGAN2) covers all 8 modes sharply."""

import importlib.util
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "gan_ring.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_example():
    spec = importlib.util.spec_from_file_location("example_gan_ring", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gan_ring = load_example()


def test_the_ring_has_eight_modes_of_radius_one_and_std_001():
    np.testing.assert_allclose(np.linalg.norm(gan_ring.MODES, axis=1), 1.0, rtol=1e-6)
    samples = gan_ring.ring_samples(80_000, np.random.default_rng(0))
    nearest = np.linalg.norm(samples[:, None] - gan_ring.MODES[None], axis=2).argmin(axis=1)
    np.testing.assert_allclose(np.bincount(nearest, minlength=8) / len(samples), 1 / 8, atol=0.005)
    np.testing.assert_allclose((samples - gan_ring.MODES[nearest]).std(axis=0), 0.01, rtol=0.02)
    # Real data scores as the paper's real data does: all modes, about 98.9% within 3 std in 2-D.
    score = gan_ring.quality(samples[:2500])
    assert score["modes"] == 8
    assert abs(score["high_quality"] - (1 - np.exp(-4.5))) < 0.01


def test_quality_counts_modes_and_high_quality_samples_as_pacgan_defines_them():
    modes = gan_ring.MODES
    assert gan_ring.quality(modes) == {"modes": 8, "high_quality": 1.0}
    # A sample 0.029 from mode 3 is high quality; one 0.031 away is not and covers nothing.
    direction = np.array([[0.6, 0.8]], np.float32)
    near, far = modes[3] + 0.029 * direction, modes[5] + 0.031 * direction
    assert gan_ring.quality(np.concatenate([near, far])) == {"modes": 1, "high_quality": 0.5}
    # Collapse onto two modes: two modes however many samples; the origin is no mode's.
    collapsed = np.concatenate([np.repeat(modes[[0]], 50, axis=0), np.repeat(modes[[4]], 30, axis=0),
                                np.zeros((20, 2), np.float32)])
    assert gan_ring.quality(collapsed) == {"modes": 2, "high_quality": 0.8}


def test_plain_gan_collapses_and_packing_covers_every_mode(tmp_path, capsys):
    with threadpool_limits(limits=1, user_api="blas"):
        result = gan_ring.main(fast=True, out=tmp_path)
    printed = capsys.readouterr().out
    plain, packed = result["GAN"], result["PacGAN2"]
    assert result["steps"] == gan_ring.FAST_STEPS
    # The fix: every mode covered, and most samples within 3 std of a mode.
    assert packed["modes"] == 8
    assert packed["high_quality"] >= 0.90
    # The warning: during training the plain GAN's samples sit on fewer modes than the packed
    # GAN's at every snapshot, and at the end far fewer of them are high quality.
    for plain_snapshot, packed_snapshot in zip(plain["snapshots"], packed["snapshots"]):
        assert plain_snapshot["step"] == packed_snapshot["step"]
    earlier = zip(plain["snapshots"][:-1], packed["snapshots"][:-1])
    assert all(p["modes"] < q["modes"] for p, q in earlier)
    assert plain["high_quality"] < packed["high_quality"] - 0.3
    assert plain["snapshots"][-1] == {"step": gan_ring.FAST_STEPS, "modes": plain["modes"],
                                      "high_quality": plain["high_quality"]}
    assert f"PacGAN2  8 of 8 modes, {packed['high_quality']:.1%} high quality" in printed
    assert "GAN      6.3 +- 0.5 modes, 98.2% high quality" in printed
    assert sorted(path.name for path in tmp_path.glob("*.png")) == ["gan_ring_final.png", "gan_ring_steps.png"]
    assert sorted(Path(path).name for path in result["figures"]) == ["gan_ring_final.png", "gan_ring_steps.png"]
    for path in result["figures"]:
        data = Path(path).read_bytes()
        assert data[:8] == PNG_SIGNATURE
        assert len(data) > 10_000  # a drawn figure, not an empty canvas
