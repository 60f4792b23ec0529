"""ops._views.strided: the window and column views of conv, as numpy's as_strided makes them."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

from glassnet.ops._views import strided
from glassnet.ops.conv import buffer


@pytest.mark.parametrize("contiguous", [True, False])
def test_strided_is_as_strided(contiguous):
    base = np.arange(2 * 3 * 8 * 8, dtype=np.float32).reshape(2, 3, 8, 8)
    if not contiguous:
        base = base.transpose(0, 1, 3, 2)
    item = base.itemsize
    shape, strides = (2, 3, 6, 6, 3, 3), base.strides + base.strides[2:]
    np.testing.assert_array_equal(strided(base, shape, strides), as_strided(base, shape, strides))
    assert not strided(base, shape, strides).flags.writeable
    view = strided(base, (2, 3), (base.strides[0], item * 5), writeable=True)
    view[...] = -1  # a writeable view writes into base
    assert (base == -1).sum() == 6


def test_strided_refuses_a_view_past_the_end_and_keeps_read_only_bases_read_only():
    base = np.zeros((4, 5))
    with pytest.raises(ValueError):
        strided(base, (4, 6), base.strides)
    base.flags.writeable = False
    assert not strided(base, (4, 5), base.strides, writeable=True).flags.writeable
    assert strided(np.zeros((0, 5)), (0, 2), (40, 8)).shape == (0, 2)


def test_a_strided_view_of_a_work_area_keeps_it_from_reuse():
    area = buffer(("views test",), (6, 6), np.float64)
    view = strided(area, (3, 3), (96, 16))
    del area
    again = buffer(("views test",), (6, 6), np.float64)
    assert not np.shares_memory(again, view)
