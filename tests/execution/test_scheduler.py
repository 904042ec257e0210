"""``--scheduler`` at something that is not a Dask scheduler (issue 17.5): exit 2 within ten
seconds naming the address, the same for every command; never Dask reading an HTTP or SSH
server's bytes as a frame length (``MemoryError: Unable to allocate 3.07 EiB``) or hanging."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path

import pytest
import yaml
from conftest import SMALL

from sim.cli.main import main
from sim.execution.executors import DaskExecutor, probe_scheduler


class _Banner(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n")
        time.sleep(0.5)


class _Silent(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        time.sleep(8)


def _serve(server: socketserver.BaseServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_server() -> Iterator[str]:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    yield from _serve(HTTPServer(("127.0.0.1", 0), Quiet))


@pytest.fixture
def ssh_like() -> Iterator[str]:
    yield from _serve(socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Banner))


@pytest.fixture
def silent() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Silent)
    server.daemon_threads = True
    yield from _serve(server)


def _dead() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize("kind", ["http_server", "ssh_like", "silent", "dead"])
def test_scheduler_not_dask_is_refused_quickly(kind: str, request: pytest.FixtureRequest) -> None:
    address = _dead() if kind == "dead" else request.getfixturevalue(kind)
    started = time.monotonic()
    with pytest.raises(OSError, match=f"--scheduler {address}: "):
        DaskExecutor(address, timeout=4).connect()
    assert time.monotonic() - started < 5
    with pytest.raises(OSError):
        probe_scheduler("tcp://no-such-host.invalid:8786", 2)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    tiny = SMALL | {"name": "tiny", "end": "2015-01-30", "scale": 1000, "warmup_days": 5}
    path.write_text(yaml.safe_dump(tiny), encoding="utf-8")
    return path


def test_scheduler_not_dask_exits_2_in_every_command(
    tiny: Path, tmp_path: Path, http_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    params = tmp_path / "params.yaml"
    params.write_text(
        "levers:\n  - {name: i, key: moderation.twitter.intensity, bounds: [0.0001, 0.003]}\n"
        "outcomes:\n  - {metric: pro_posts_observed, stat: mean}\n"
    )
    commands = {
        "sweep": ["sweep", str(tiny), "--vary", "moderation.twitter.intensity=0.1,0.2"],
        "sensitivity": ["sensitivity", str(tiny), "--params", str(params), "--n", "2"],
        "calibrate": ["calibrate", "--scenario", "baseline", "--scale", "1000", "--no-report"],
    }
    for name, argv in commands.items():
        started = time.monotonic()
        code = main([*argv, "--out", str(out), "--scheduler", http_server])
        err = capsys.readouterr().err
        assert (code, name) == (2, name), err
        assert time.monotonic() - started < 10, name
        assert "Traceback" not in err
        assert f"--scheduler {http_server}" in err, err
    assert not out.exists()
