"""Deep forest: a cascade of scikit-learn forests whose depth adapts to the data, with optional
multi-grained scanning for images. Needs the ``forest`` extra (scikit-learn)."""

from ._common import require_sklearn as _require_sklearn

_require_sklearn()  # a clear ImportError naming the extra, before anything else imports sklearn

from .cascade import CascadeForest  # noqa: E402
from .scanning import MultiGrainedScanner, extract_windows  # noqa: E402

__all__ = ["CascadeForest", "MultiGrainedScanner", "extract_windows"]
