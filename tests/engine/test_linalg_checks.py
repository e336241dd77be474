"""ops.linear input checks: dtypes are never silently promoted."""

import numpy as np
import pytest

import nnlab
from nnlab.engine import ops


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, bool])
def test_linear_rejects_integer_input_naming_the_op(dtype):
    w = nnlab.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    x = nnlab.tensor(np.ones((2, 4), dtype))
    with pytest.raises(TypeError, match=r"fc1: expected a floating-point input.*float32.*got dtype"):
        ops.linear(x, w, name="fc1")
    with pytest.raises(TypeError, match=r"^linear: "):
        ops.linear(x, w)


def test_linear_keeps_float32_and_rejects_mixed_floats():
    w = nnlab.tensor(np.ones((3, 4), np.float32))
    out = ops.linear(nnlab.tensor(np.ones((2, 4), np.float32)), w, nnlab.tensor(np.zeros(3, np.float32)))
    assert out.data.dtype == np.float32 and out.shape == (2, 3)
    with pytest.raises(TypeError, match="linear: input dtype float64 differs"):
        ops.linear(nnlab.tensor(np.ones((2, 4), np.float64)), w)
