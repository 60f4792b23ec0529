"""glassnet._malloc: importing glassnet sets glibc's mmap and trim thresholds, so the arrays a
training step frees are reused by the next step instead of being faulted in again page by page;
the user's own settings (environment) win, and GLASSNET_TUNE_MALLOC=0 turns it off."""

import json
import os
import subprocess
import sys

import glassnet  # noqa: F401  (the import is what sets the thresholds)
from glassnet import _malloc

GLIBC = sys.platform.startswith("linux") and _malloc.platform.libc_ver()[0] == "glibc"

# A fresh process frees and reallocates 40 MiB of 64 KiB arrays (a step's gate caches are of this
# kind), five times, and reports the page faults of the last four rounds per 4 KiB page allocated.
PROBE = """
import json, resource
import numpy as np
import glassnet
from glassnet import _malloc
PAGES = 640 * 16
def round_():
    arrays = [np.ones(16384, np.float32) for _ in range(640)]   # 640 x 64 KiB
    del arrays
round_()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    round_()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"faults_per_page": faults / (4 * PAGES)}))
"""


class FakeLibc:
    """A C library whose mallopt records its calls and returns ``result`` (1: done, 0: refused)."""

    def __init__(self, calls: list, result: int) -> None:
        self.calls, self.result = calls, result
        self.mallopt = self  # ctypes functions take argtypes/restype attributes

    def __call__(self, parameter, value):
        self.calls.append((parameter, value))
        return self.result


def probe(**env) -> float:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    environ.pop("GLASSNET_TUNE_MALLOC", None)
    environ.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=environ, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["faults_per_page"]


def test_freed_step_arrays_are_reused_not_faulted_again():
    if not GLIBC:  # the thresholds are glibc's: elsewhere nothing is set
        assert _malloc.tune_malloc() is False
        return
    assert probe() < 0.05  # tuned: the freed 40 MiB stays in the heap; measured 0.00
    # The same process with glibc's own settings pays about one fault per page each round, which
    # is what the setting removes (this also checks that the probe can see the difference).
    assert probe(GLASSNET_TUNE_MALLOC="0") > 0.5
    assert probe(MALLOC_TRIM_THRESHOLD_="131072") > 0.5  # the user's own setting wins


def test_environment_and_platform_decide(monkeypatch):
    calls = []
    monkeypatch.setattr(_malloc.ctypes, "CDLL", lambda name: FakeLibc(calls, 1))
    monkeypatch.setattr(_malloc.platform, "system", lambda: "Linux")
    monkeypatch.setattr(_malloc.platform, "libc_ver", lambda: ("glibc", "2.36"))
    assert _malloc.tune_malloc({}) is True
    assert calls == [(-3, 32 * 2**20), (-1, 64 * 2**20)]  # M_MMAP_THRESHOLD first, then M_TRIM_THRESHOLD
    calls.clear()
    for environ in ({"GLASSNET_TUNE_MALLOC": "0"}, {"MALLOC_MMAP_THRESHOLD_": "65536"},
                    {"MALLOC_TRIM_THRESHOLD_": "0"}, {"MALLOC_TOP_PAD_": "0"},
                    {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"}):
        assert _malloc.tune_malloc(environ) is False
    assert calls == []  # nothing was set in any of them
    assert _malloc.tune_malloc({"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F"}) is True  # not malloc's
    monkeypatch.setattr(_malloc.platform, "libc_ver", lambda: ("", ""))  # musl, or unknown
    assert _malloc.tune_malloc({}) is False
    monkeypatch.setattr(_malloc.platform, "system", lambda: "Darwin")
    assert _malloc.tune_malloc({}) is False


def test_a_refused_setting_is_reported(monkeypatch):
    monkeypatch.setattr(_malloc.ctypes, "CDLL", lambda name: FakeLibc([], 0))
    monkeypatch.setattr(_malloc.platform, "system", lambda: "Linux")
    monkeypatch.setattr(_malloc.platform, "libc_ver", lambda: ("glibc", "2.36"))
    assert _malloc.tune_malloc({}) is False
