import torch.nn.functional as TF

from glassnet import functional as F
from oracle import check_against_torch, check_finite_differences


def test_oracles_agree_on_gelu(rng):
    x = rng.normal(size=(4, 5))
    check_finite_differences(F.gelu, x)
    check_against_torch(F.gelu, TF.gelu, x)


def test_library_does_not_import_torch():
    import subprocess
    import sys
    code = "import glassnet, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
