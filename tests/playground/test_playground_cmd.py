"""``nnlab playground``: registered through the CLI, prints the URL, clear error for a taken port."""

import json
import os
import socket
import subprocess
import sys
import urllib.request

import pytest

from nnlab.cli.main import build_parser, main

pytest.importorskip("uvicorn", reason="the playground server needs the 'playground' extra (uvicorn)")


def test_the_command_is_registered_with_its_options():
    args = build_parser().parse_args(["playground", "--port", "0", "--no-browser", "--preset", "tfp-default"])
    assert args.command == "playground" and args.port == 0 and args.no_browser and args.preset == "tfp-default"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["playground", "--preset", "no-such-preset"])


def test_a_taken_port_is_a_one_line_error(capsys):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        code = main(["playground", "--port", str(taken.getsockname()[1]), "--no-browser"])
    finally:
        taken.close()
    err = capsys.readouterr().err
    assert code == 2 and "not available" in err and "--port 0" in err


def test_port_0_prints_the_url_and_serves_the_page():
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnlab", "playground", "--port", "0", "--no-browser", "--preset", "three-classes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("nnlab playground: http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split()[2]
        with urllib.request.urlopen(url + "api/frame", timeout=20) as r:
            frame = json.loads(r.read())
        assert frame["classes"] == 3
    finally:
        proc.terminate()
        proc.wait(10)
