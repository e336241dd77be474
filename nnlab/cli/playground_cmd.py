"""``nnlab playground``: the 2-D demos in the browser, trained by nnlab (a thin layer over
``nnlab.playground``)."""

from __future__ import annotations

import sys
import time
import webbrowser

from nnlab.cli.main import UsageError, register


def _configure(p):
    from nnlab.playground.presets import PRESETS

    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free port; default 8765)")
    p.add_argument("--no-browser", action="store_true", help="print the URL without opening a browser")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="NumPy BLAS threads (default 1: the playground's matrices are small, and more threads "
        "cost more than they give)",
    )
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        metavar="NAME",
        help="start from a preset: " + ", ".join(sorted(PRESETS)),
    )


def playground(args) -> int:
    try:
        from nnlab.playground.server import serve
    except ModuleNotFoundError as e:
        raise UsageError(
            f"nnlab playground needs the 'playground' extra ({e.name} is missing): pip install 'nnlab[playground]'"
        ) from None
    try:
        import starlette, uvicorn  # noqa: F401,E401
    except ModuleNotFoundError as e:
        raise UsageError(
            f"nnlab playground needs the 'playground' extra ({e.name} is missing): pip install 'nnlab[playground]'"
        ) from None
    if args.threads < 1:
        raise UsageError(f"--threads must be >= 1, got {args.threads}")
    server = serve(port=args.port, preset=args.preset, blas_threads=args.threads)
    print(f"nnlab playground: {server.url}  (Ctrl-C to stop)", flush=True)
    if not args.no_browser:
        try:
            webbrowser.open(server.url)
        except webbrowser.Error as e:
            print(f"nnlab playground: could not open a browser ({e}); open the URL above", file=sys.stderr)
    try:
        while server._thread.is_alive():
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


register(
    "playground",
    playground,
    _configure,
    help="the 2-D playground in the browser (TF Playground / ConvNetJS style), trained by nnlab",
    description="Serve the nnlab playground on 127.0.0.1 and open it in the browser. Training runs in "
    "Python with nnlab; the page shows it live and sends every action as a command.",
)
