"""The page's server: a thin Starlette layer over one ``Session``, served by uvicorn on loopback.

- A training thread (``Runner``) owns the session: between chunks of steps it applies nothing
  itself; commands from the page take the session's lock, so they land between two steps. Up to
  ``fps`` times a second (fewer when building a frame would take more than ``frame_share`` of the
  thread's time) it publishes the newest frame; an event stream sends each page only the
  newest one (a slow page drops frames instead of queueing them) and only the curve points that
  page has not seen yet.
- Routes: ``GET /`` (the page), ``/static/...``, ``GET /api/events`` (server-sent events),
  ``GET /api/frame``, ``GET /api/points``, ``POST /api/command``, ``GET|POST /api/session``
  (download / replay), ``GET /api/export/{csv,checkpoint,script}``, ``GET /api/meta``.
- Only loopback is ever bound; requests whose Host or Origin is not loopback are refused (a web
  page elsewhere cannot drive the session). Shutdown ends open event streams first, so ``stop()``
  returns within ``timeout_graceful_shutdown`` + 1 s even while a page is connected.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from pathlib import Path

from nnlab.playground.session import Session

STATIC = Path(__file__).parent / "static"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _json_default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def dumps(obj) -> str:
    return json.dumps(obj, default=_json_default, allow_nan=False, separators=(",", ":"))


class Runner:
    """The training thread and the latest published frame."""

    def __init__(self, session: Session, fps: float = 10.0, chunk_seconds: float = 0.01, frame_share: float = 0.2):
        self.session = session
        self.frame_share = float(frame_share)
        self.lock = threading.RLock()
        self.fps, self.chunk_seconds = float(fps), float(chunk_seconds)
        self.stopping = threading.Event()
        self.version = 0
        self.snapshot = None  # (version, generation, head json without curves, curves dict, stepped_at)
        self._dirty = True
        self.steps_done = 0
        self._thread = threading.Thread(target=self._loop, name="nnlab-playground-train", daemon=True)

    def start(self):
        self._publish()
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0):
        self.stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def touch(self):
        """Something changed (a command): publish a frame soon even when paused."""
        self._dirty = True

    def _loop(self):
        chunk, last_pub, build = 1, 0.0, 0.0
        self.last_step_time = time.time()
        while not self.stopping.is_set():
            s = self.session
            trained = False
            if s.running and not s.halted:
                t0 = time.perf_counter()
                with self.lock:
                    s = self.session
                    try:
                        n = s.step(chunk)
                    except ValueError as e:  # e.g. no training points left
                        s.running, s.error, n = False, str(e), 0
                self.steps_done += n
                trained = n > 0
                if trained:
                    self.last_step_time = time.time()
                dt = time.perf_counter() - t0
                # chunks of about chunk_seconds: commands wait at most that long for the lock
                ratio = self.chunk_seconds / dt if dt > 0 else 2.0
                chunk = max(1, min(1000, 2 * chunk, int(chunk * ratio)))
                if s.halted or not s.running:
                    self._dirty = True
            now = time.perf_counter()
            # at most fps frames a second, and frames take at most ~1/frame_share of the thread's time
            # (a loaded machine makes frames slow: then fewer of them, and training keeps its pace)
            if (trained and now - last_pub >= max(1.0 / self.fps, build / self.frame_share)) or self._dirty:
                self._publish()
                last_pub = time.perf_counter()
                build = last_pub - now
            elif not trained:
                time.sleep(0.01)

    def _publish(self):
        self._dirty = False
        with self.lock:
            s = self.session
            f = s.frame(curves_since=len(s.curves["step"]), max_age=0.5)  # curves are sliced per page
            curves = {k: list(v) for k, v in s.curves.items()}
        f.pop("curves")
        f["stepped_at"] = getattr(self, "last_step_time", time.time())
        f["published_at"] = time.time()
        head = dumps(f)
        self.version += 1
        self.snapshot = (self.version, f["generation"], head, curves)


def _clean(v):
    import math

    return None if isinstance(v, float) and not math.isfinite(v) else v


def frame_json(head: str, curves: dict, since: int) -> str:
    part = {"start": since, **{k: [_clean(x) for x in v[since:]] for k, v in curves.items()}}
    return head[:-1] + ',"curves":' + dumps(part) + "}"


def build_app(runner: Runner):
    """The Starlette application over ``runner``."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    def refuse_foreign(request: Request):
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].strip("[]")
        if host and host not in LOOPBACK:
            return JSONResponse({"ok": False, "error": f"refused: host {host!r} is not loopback"}, status_code=403)
        origin = request.headers.get("origin")
        if origin and origin != "null":
            o = origin.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
            if o not in LOOPBACK:
                return JSONResponse(
                    {"ok": False, "error": f"refused: origin {origin!r} is not loopback"}, status_code=403
                )
        return None

    class LoopbackOnly:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http":
                bad = refuse_foreign(Request(scope))
                if bad is not None:
                    await bad(scope, receive, send)
                    return
            await self.app(scope, receive, send)

    def ok(data, status=200):
        return Response(dumps(data), status_code=status, media_type="application/json")

    async def index(request):
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def events(request: Request):
        async def stream():
            seen, gen, sent, idle = 0, None, 0, 0
            yield "retry: 1000\n\n"
            while not runner.stopping.is_set():
                snap = runner.snapshot
                if snap is not None and snap[0] != seen:
                    idle = 0
                    version, generation, head, curves = snap
                    if generation != gen:
                        gen, sent = generation, 0
                    body = frame_json(head, curves, sent)
                    sent = len(curves["step"])
                    seen = version
                    yield f"id: {version}\nevent: frame\ndata: {body}\n\n"
                else:
                    await asyncio.sleep(0.01)
                    idle += 1
                    # asking whether the page left costs more than the wait: do it every 0.5 s
                    if idle % 50 == 0 and await request.is_disconnected():
                        break

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )

    async def frame(request):
        with runner.lock:
            s = runner.session
            return ok(s.frame())

    async def points(request):
        with runner.lock:
            return ok(runner.session.points())

    async def command(request: Request):
        try:
            cmd = await request.json()
        except (ValueError, UnicodeDecodeError):
            return ok({"ok": False, "error": "the command must be a JSON object"}, 400)
        with runner.lock:
            s = runner.session
            try:
                result = s.apply(cmd)
            except ValueError as e:
                s.error = str(e)
                runner.touch()
                return ok({"ok": False, "error": str(e)}, 400)
        runner.touch()
        return ok(result)

    async def session_get(request):
        with runner.lock:
            rec = runner.session.record()
        return Response(
            dumps(rec),
            media_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="playground-session.json"'},
        )

    async def session_post(request: Request):
        try:
            rec = await request.json()

            def replay():
                with runner.lock:  # the training thread waits: one user of nnlab's generator at a time
                    return Session.replay(rec)

            new = await asyncio.get_running_loop().run_in_executor(None, replay)
        except (ValueError, UnicodeDecodeError, KeyError, TypeError) as e:
            return ok({"ok": False, "error": f"could not replay the session: {e}"}, 400)
        with runner.lock:
            new.generation = runner.session.generation + 1
            runner.session = new
        runner.touch()
        return ok({"ok": True, "tick": new.tick, "weights_sha256": new.weights_digest()})

    async def export(request):
        from nnlab.playground import export as E

        what = request.path_params["what"]
        with runner.lock:
            s = runner.session
            if what == "csv":
                return Response(
                    s.csv(),
                    media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="playground-points.csv"'},
                )
            if what == "script":
                return Response(
                    E.python_script(s),
                    media_type="text/x-python",
                    headers={"Content-Disposition": 'attachment; filename="playground_model.py"'},
                )
            if what == "checkpoint":
                return Response(
                    E.checkpoint_bytes(s),
                    media_type="application/octet-stream",
                    headers={"Content-Disposition": 'attachment; filename="playground-model.npz"'},
                )
        return ok({"ok": False, "error": f"unknown export {what!r}: csv, checkpoint or script"}, 404)

    async def meta(request):
        from nnlab.playground import config as C
        from nnlab.playground.presets import describe

        return ok(
            {
                "presets": describe(),
                "activations": C.ACTIVATIONS,
                "inits": C.INITS,
                "losses": C.LOSSES,
                "optimizers": C.OPTIMIZERS,
                "schedules": C.SCHEDULES,
                "datasets": C.DATASETS,
                "regression_sets": C.REGRESSION_SETS,
                "features": C.FEATURES,
                "limits": C.LIMITS_TEXT,
                "kinds": {p: k for p, (_, k) in C.SCHEMA.items()},
            }
        )

    routes = [
        Route("/", index),
        Route("/api/events", events),
        Route("/api/frame", frame),
        Route("/api/points", points),
        Route("/api/command", command, methods=["POST"]),
        Route("/api/session", session_get, methods=["GET"]),
        Route("/api/session", session_post, methods=["POST"]),
        Route("/api/export/{what}", export),
        Route("/api/meta", meta),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(LoopbackOnly)])


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket on loopback; a clear ValueError if the port is taken or the host is not loopback."""
    if host not in LOOPBACK:
        raise ValueError(f"the playground binds loopback only (127.0.0.1, ::1, localhost), got host {host!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer in 0-65535 (0 = any free port), got {port!r}")
    family = socket.AF_INET6 if host == "::1" else socket.AF_INET
    addr = "127.0.0.1" if host == "localhost" else host
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.bind((addr, port))
    except OSError as e:
        sock.close()
        raise ValueError(
            f"port {port} on {addr} is not available ({e.strerror}); choose another with --port, "
            f"or --port 0 for any free port"
        ) from None
    sock.listen(64)
    sock.setblocking(False)
    return sock


def limit_blas(n):
    """Limit NumPy's BLAS to ``n`` threads process-wide (a playground net's matrices are tiny: on a
    2-core machine one thread made a frame 3x cheaper in CPU, 12 -> 3.7 ms). Returns the limiter
    (``restore_original_limits()`` undoes it)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=int(n), user_api="blas")


class Server:
    """A running playground: ``url``, ``runner`` (and its ``session``), ``stop()``.
    ``blas_threads``: limit NumPy's BLAS threads while it runs (None: leave them)."""

    def __init__(self, session: Session, host="127.0.0.1", port=0, fps=10.0, graceful=1.0, blas_threads=None):
        import uvicorn

        self.sock = bind(host, port)
        self.host, self.port = self.sock.getsockname()[:2]
        h = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{h}:{self.port}/"
        self.runner = Runner(session, fps=fps)
        self.app = build_app(self.runner)
        cfg = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=graceful
        )
        self.server = uvicorn.Server(cfg)
        self._thread = threading.Thread(target=self._run, name="nnlab-playground-http", daemon=True)
        self.blas_threads, self._blas = blas_threads, None

    @property
    def session(self) -> Session:
        return self.runner.session

    def _run(self):
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def start(self, timeout: float = 10.0) -> "Server":
        if self.blas_threads:
            self._blas = limit_blas(self.blas_threads)
        self.runner.start()
        self._thread.start()
        t0 = time.time()
        while not self.server.started:
            if not self._thread.is_alive() or time.time() - t0 > timeout:
                raise RuntimeError("the playground server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 3.0) -> None:
        self.runner.stop()  # event streams see this and end
        self.server.should_exit = True
        self._thread.join(timeout)
        try:
            self.sock.close()
        except OSError:
            pass
        if self._blas is not None:
            self._blas.restore_original_limits()
            self._blas = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def serve(
    session: Session | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    preset: str | None = None,
    fps: float = 10.0,
    blas_threads: int | None = None,
) -> Server:
    """Start the page for ``session`` (a new one from ``preset`` if None) and return the running
    ``Server`` (its ``url``; ``stop()`` ends it). ``blas_threads``: see ``limit_blas``."""
    if session is None:
        session = Session(preset=preset)
    return Server(session, host, port, fps, blas_threads=blas_threads).start()
