"""The layering holds at import time: the engine imports on its own, and ``import nnlab`` loads
only the engine (everything above it is imported on first use)."""

import subprocess
import sys

import pytest

# package imported -> the nnlab packages it may pull in
_ALLOWED = {
    "nnlab": {"nnlab", "nnlab.engine"},
    "nnlab.engine": {"nnlab", "nnlab.engine"},
    "nnlab.engine.ops": {"nnlab", "nnlab.engine"},
    "nnlab.nn": {"nnlab", "nnlab.engine", "nnlab.nn"},
    "nnlab.optim": {"nnlab", "nnlab.engine", "nnlab.optim"},
}


def _loaded_packages(module: str) -> set[str]:
    code = (
        f"import sys, {module}\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m == 'nnlab' or m.startswith('nnlab.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return {".".join(m.split(".")[:2]) for m in out.stdout.split()}


@pytest.mark.parametrize("module", sorted(_ALLOWED))
def test_import_pulls_in_nothing_above_its_layer(module):
    loaded = _loaded_packages(module)
    assert loaded <= _ALLOWED[module], f"import {module} loaded {sorted(loaded - _ALLOWED[module])}"


def test_public_names_and_subpackages_resolve_lazily():
    code = (
        "import sys, nnlab\n"
        "assert 'nnlab.zoo' not in sys.modules and 'nnlab.train' not in sys.modules\n"
        "from nnlab import Tensor, tensor, no_grad, enable_grad, Function, manual_seed, gradcheck\n"
        "from nnlab import summary, memory_estimate, Trainer, save, load, tune_allocator\n"
        "assert nnlab.zoo.resnet18 and nnlab.optim.SGD and nnlab.nn.Linear and nnlab.data.DataLoader\n"
        "assert Trainer is sys.modules['nnlab.train.trainer'].Trainer\n"
        "assert all(hasattr(nnlab, n) for n in nnlab.__all__)\n"
        "assert not hasattr(nnlab, 'no_such_part')\n"
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
