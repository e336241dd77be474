"""`nnlab export RUN --onnx model.onnx`: a trained run's network as an ONNX graph."""

from __future__ import annotations

import numpy as np

from nnlab.cli.main import UsageError, register

HELP = "write a run's network as an ONNX file"
DESCRIPTION = (
    "Export the network of a run (its folder or checkpoint file) to ONNX with nnlab.onnx.export.\n"
    "The graph takes the network's input (after the run's preprocessing, which it does not\n"
    "include) with a symbolic batch axis. Needs the onnx extra: pip install 'nnlab[onnx]'."
)


def configure(p) -> None:
    p.add_argument("run", metavar="RUN", help="run folder or checkpoint file")
    p.add_argument("--onnx", required=True, metavar="PATH", help="the .onnx file to write")


def run(args) -> int:
    from nnlab.cli.train_cmd import _load_run

    try:
        from nnlab.onnx import export
    except ImportError as e:  # pragma: no cover - the extra is part of the test install
        raise UsageError(str(e)) from None
    ck = _load_run(args.run)
    shape = ck.config.get("input_shape")
    if not shape:
        raise UsageError(f"{ck.path}: the checkpoint does not record its input shape")
    model = ck.model.eval()
    export(model, np.zeros((1, *shape), np.float32), args.onnx)
    print(f"wrote {args.onnx} ({type(model).__name__}, input (N, {', '.join(map(str, shape))}))")
    return 0


register("export", run, configure, help=HELP, description=DESCRIPTION)
