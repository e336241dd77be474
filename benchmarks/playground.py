"""The playground's speed: training steps per second of a 2-[8,8]-3 network on 500 points with the
page open and streaming, against the same session stepping with no page, and the median delay from a
step to its frame drawn on the page (100x100 decision maps).

    python -m benchmarks.playground [--quick] [--repeats N]    (also row 7 of python -m benchmarks.run)

Method: one session, one server, one headless Chromium page (Debian's /usr/bin/chromium through
Playwright; without them a Python client reads the event stream instead, and the rows say so).
Blocks alternate: "no page" steps the session in this thread while the server's loop is paused (the
page is connected but idle: no frames are made); "streaming" lets the server's loop train and publish
frames about 10 times a second while the page draws them. Throughput is steps per wall second, and
the process CPU time per step is reported too (Chromium's own CPU is not in it, but it shares the 2
cores). Medians over the blocks; the delay is the median over every frame drawn while streaming of
(time the page finished drawing - time of the last step in the frame).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time

CONFIG = {
    "data.dataset": "blobs",
    "data.classes": 3,
    "data.n": 500,
    "data.noise": 0.5,
    "model.layers": [{"units": 8, "activation": "tanh"}, {"units": 8, "activation": "tanh"}],
    "model.loss": "cross_entropy",
    "optim.optimizer": "sgd",
    "optim.lr": 0.03,
    "optim.batch_size": 10,
    "view.grid": 100,
}
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class _StreamReader:
    """Fallback page: reads the event stream in a thread and records step-to-receipt delays."""

    def __init__(self, port):
        self.delays, self.stop = [], False
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.request("GET", "/api/events")
        self.resp = self.conn.getresponse()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b""
        while not self.stop:
            try:
                chunk = self.resp.read1(1 << 16)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\n\n" in buf:
                raw, buf = buf.split(b"\n\n", 1)
                for line in raw.split(b"\n"):
                    if line.startswith(b"data: "):
                        f = json.loads(line[6:])
                        if f.get("running"):
                            self.delays.append(time.time() - f["stepped_at"])

    def close(self):
        self.stop = True
        self.conn.close()


def measure(repeats: int = 5, block_s: float = 3.0) -> dict:
    from nnlab.playground import Session
    from nnlab.playground.server import serve

    srv = serve(Session(CONFIG), port=0, fps=10, blas_threads=1)  # as `nnlab playground` runs it
    session = srv.session
    browser = page = pw = reader = None
    client = "Chromium page"
    try:
        try:
            from playwright.sync_api import sync_playwright

            exe = "/usr/bin/chromium"
            if not os.path.exists(exe):
                raise FileNotFoundError(exe)
            pw = sync_playwright().start()
            browser = pw.chromium.launch(executable_path=exe, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(srv.url)
            page.wait_for_function("window.pg && window.pg.frames > 0", timeout=20000)
        except Exception as e:  # no browser here: a Python client reads the stream instead
            client = f"Python SSE client ({type(e).__name__}: no Chromium page)"
            reader = _StreamReader(srv.port)

        def no_page_block():
            srv.runner.touch()
            with srv.runner.lock:
                session.running = False
            time.sleep(0.3)
            s0, c0, t0 = session.tick, time.process_time(), time.perf_counter()
            while time.perf_counter() - t0 < block_s:
                with srv.runner.lock:
                    session.step(20)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            n = session.tick - s0
            return n / dt, dc / n

        def streaming_block():
            if page is not None:
                page.evaluate("pg.delays = []")
            elif reader is not None:
                reader.delays.clear()
            s0, c0, t0 = session.tick, time.process_time(), time.perf_counter()
            with srv.runner.lock:
                session.running = True
            time.sleep(block_s)
            with srv.runner.lock:
                session.running = False
                n = session.tick - s0
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            time.sleep(0.3)  # let the last frames arrive
            d = page.evaluate("pg.delays.slice()") if page is not None else list(reader.delays)
            return n / dt, dc / n, d

        no_page, streaming, cpu_np, cpu_st, delays = [], [], [], [], []
        for r in range(repeats):
            for which in ("np", "st") if r % 2 == 0 else ("st", "np"):
                if which == "np":
                    sps, cps = no_page_block()
                    no_page.append(sps), cpu_np.append(cps)
                else:
                    sps, cps, d = streaming_block()
                    streaming.append(sps), cpu_st.append(cps), delays.extend(d)
    finally:
        if page is not None:
            page.close()
        if browser is not None:
            browser.close()
        if pw is not None:
            pw.stop()
        if reader is not None:
            reader.close()
        srv.stop()
    med = statistics.median
    return {
        "client": client,
        "no_page_steps_s": med(no_page),
        "streaming_steps_s": med(streaming),
        "kept": med(streaming) / med(no_page),
        "no_page_runs": no_page,
        "streaming_runs": streaming,
        "cpu_ms_per_step_no_page": 1e3 * med(cpu_np),
        "cpu_ms_per_step_streaming": 1e3 * med(cpu_st),
        "delay_ms_median": 1e3 * med(delays) if delays else None,
        "frames": len(delays),
        "delay_ms_p90": 1e3 * sorted(delays)[int(0.9 * (len(delays) - 1))] if delays else None,
    }


def bench_entries(entry, quick: bool = False, repeats: int | None = None) -> list[dict]:
    """Rows for benchmarks.run (``entry`` is its row constructor)."""
    name = "playground 2-[8,8]-3 on 500 points: steps/s with the page streaming (torch column: no page)"
    try:
        r = measure(repeats or (3 if quick else 5), 1.5 if quick else 3.0)
    except Exception as e:  # the playground extra may be missing
        return [entry("8s", name, "steps/s", f"error: {type(e).__name__}: {e}"[:160], "n/a")]
    note = (
        f"{r['client']}; CPU of this process per step {r['cpu_ms_per_step_streaming']:.2f} ms streaming vs "
        f"{r['cpu_ms_per_step_no_page']:.2f} ms without; goal: keep >= 70%"
    )
    rows = [
        entry("8s", name, "steps/s", round(r["streaming_steps_s"], 1), round(r["no_page_steps_s"], 1), 0.7, note=note)
    ]
    rows.append(
        entry(
            "8d",
            f"playground: step-to-frame delay on the page, 100x100 maps ({r['frames']} frames)",
            "ms (median)",
            None if r["delay_ms_median"] is None else round(r["delay_ms_median"], 1),
            "no equivalent",
            note=f"p90 {r['delay_ms_p90']:.0f} ms; goal: median < 200 ms" if r["delay_ms_p90"] is not None else None,
        )
    )
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.playground", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args(argv)
    r = measure(args.repeats or (3 if args.quick else 5), 1.5 if args.quick else 3.0)
    print(
        json.dumps(
            {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items() if not k.endswith("_runs")}, indent=1
        )
    )
    print(
        "runs (steps/s): no page",
        [round(v) for v in r["no_page_runs"]],
        "streaming",
        [round(v) for v in r["streaming_runs"]],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
