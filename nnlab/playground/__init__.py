"""The nnlab playground: TF Playground / ConvNetJS style 2-D demos, trained by nnlab.

``Session`` is the whole run as a Python object (``step(n)``, ``apply(command)``, ``frame()``);
``serve`` puts a page in front of it (needs the ``playground`` extra: starlette, uvicorn).
"""

from nnlab.playground.config import DEFAULTS, SCHEMA, make_config
from nnlab.playground.presets import PRESETS
from nnlab.playground.session import COMMANDS, Session

__all__ = ["Session", "COMMANDS", "PRESETS", "DEFAULTS", "SCHEMA", "make_config", "serve"]


def serve(*args, **kwargs):
    """Start the page's server (see ``nnlab.playground.server.serve``)."""
    from nnlab.playground.server import serve as _serve

    return _serve(*args, **kwargs)
