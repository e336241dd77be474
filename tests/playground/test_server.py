"""HTTP tests against a real server on port 0: routes, event-stream framing, errors, loopback only,
shutdown within 3 s while a stream is open."""

import http.client
import json
import socket
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("starlette", reason="the playground server needs the 'playground' extra (starlette)")
pytest.importorskip("uvicorn", reason="the playground server needs the 'playground' extra (uvicorn)")

from nnlab.playground import Session  # noqa: E402
from nnlab.playground.server import bind, serve  # noqa: E402


@pytest.fixture
def server():
    srv = serve(Session({"data.n": 200}), port=0, fps=20)
    yield srv
    srv.stop()


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers, r.read()


def post(url, obj, headers=None):
    req = urllib.request.Request(
        url,
        data=json.dumps(obj).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def read_events(port, n, timeout=10.0):
    """The first n 'frame' events of the stream, parsed by the SSE rules (blank line ends an event)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", "/api/events")
    r = conn.getresponse()
    assert r.status == 200 and r.headers["content-type"].startswith("text/event-stream")
    events, buf = [], b""
    t0 = time.time()
    while len(events) < n and time.time() - t0 < timeout:
        buf += r.read1(65536)
        while b"\n\n" in buf:
            raw, buf = buf.split(b"\n\n", 1)
            fields = {}
            for line in raw.decode().split("\n"):
                k, _, v = line.partition(": ")
                fields[k] = fields.get(k, "") + v
            if fields.get("event") == "frame":
                events.append((int(fields["id"]), json.loads(fields["data"])))
    conn.close()
    return events


def test_routes_page_meta_points_frame(server):
    assert server.url.startswith("http://127.0.0.1:") and server.port > 0
    status, headers, body = get(server.url)
    assert status == 200 and b'<canvas id="map"' in body
    for path in ("static/app.js", "static/style.css", "static/vendor/uPlot.iife.min.js"):
        assert get(server.url + path)[0] == 200
    meta = json.loads(get(server.url + "api/meta")[2])
    assert "tfp-default" in meta["presets"] and meta["kinds"]["optim.lr"] == "live"
    pts = json.loads(get(server.url + "api/points")[2])
    assert len(pts["x"]) == 200
    frame = json.loads(get(server.url + "api/frame")[2])
    assert frame["map"]["grid"] == 100 and frame["step"] == 0


def test_event_stream_framing_and_commands(server):
    events = read_events(server.port, 1)
    assert events and events[0][1]["step"] == 0 and events[0][1]["curves"]["start"] == 0
    status, res = post(server.url + "api/command", {"cmd": "play"})
    assert status == 200 and res["ok"]
    events = read_events(server.port, 4)
    ids = [i for i, _ in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    steps = [f["step"] for _, f in events]
    assert steps[-1] > steps[0] >= 0
    # each stream gets the curve points it has not seen: consecutive slices join up
    for (_, a), (_, b) in zip(events, events[1:]):
        if a["generation"] == b["generation"]:
            assert b["curves"]["start"] == a["curves"]["start"] + len(a["curves"]["step"])
    status, res = post(server.url + "api/command", {"cmd": "set", "settings": {"optim.lr": 0.5}})
    assert status == 200 and res["changed"] == {"optim.lr": "live"}
    assert server.session.config["optim"]["lr"] == 0.5


def test_bad_commands_are_400_with_the_message_and_change_nothing(server):
    before = server.session.config
    for cmd, msg in [
        ({"cmd": "set", "settings": {"optim.lr": "fast"}}, "optim.lr"),
        ({"cmd": "add_point", "x": 0, "y": 0, "label": 1, "colour": 2}, "unknown field"),
        ({"cmd": "set", "settings": {"data.classes": 99}}, "data.classes"),
    ]:
        status, res = post(server.url + "api/command", cmd)
        assert status == 400 and not res["ok"] and msg in res["error"]
    assert server.session.config == before
    req = urllib.request.Request(server.url + "api/command", data=b"{not json", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 400


def test_foreign_host_or_origin_is_refused(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/api/frame", headers={"Host": "evil.example:80"})
    assert conn.getresponse().status == 403
    status, _ = post(server.url + "api/command", {"cmd": "play"}, headers={"Origin": "http://evil.example"})
    assert status == 403 and not server.session.running


def test_session_download_replay_and_exports(server):
    s = server.session
    post(server.url + "api/command", {"cmd": "step", "n": 25})
    post(server.url + "api/command", {"cmd": "add_point", "x": 1.0, "y": 1.0, "label": 0})
    post(server.url + "api/command", {"cmd": "step", "n": 5})
    rec = json.loads(get(server.url + "api/session")[2])
    assert rec["tick"] == 30 and rec["weights_sha256"] == s.weights_digest()
    status, res = post(server.url + "api/session", rec)
    assert status == 200 and res["weights_sha256"] == rec["weights_sha256"] and server.session is not s
    status, res = post(server.url + "api/session", {"format": "something else"})
    assert status == 400 and "replay" in res["error"]
    assert get(server.url + "api/export/csv")[2].startswith(b"x1,x2,label,split")
    assert get(server.url + "api/export/script")[2].startswith(b'"""Rebuild')
    assert get(server.url + "api/export/checkpoint")[2][:2] == b"PK"


def test_port_in_use_and_non_loopback_hosts_are_clear_errors():
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        with pytest.raises(ValueError, match="not available.*--port 0"):
            bind("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()
    with pytest.raises(ValueError, match="loopback only"):
        bind("0.0.0.0", 0)
    with pytest.raises(ValueError, match="port must be"):
        bind("127.0.0.1", 70000)


def test_shutdown_within_3_seconds_with_an_open_stream():
    srv = serve(Session({"data.n": 100}), port=0)
    post(srv.url + "api/command", {"cmd": "play"})
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("GET", "/api/events")
    r = conn.getresponse()
    assert r.read1(100)  # the stream is open and sending
    t0 = time.perf_counter()
    srv.stop()
    took = time.perf_counter() - t0
    conn.close()
    assert took < 3.0 and not srv._thread.is_alive()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
