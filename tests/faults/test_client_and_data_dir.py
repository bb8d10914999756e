"""A client killed -9 halfway through an image, and data directories the server cannot use."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from justirc_sdk import Session, events
from server.embedded import EmbeddedServer
from tests.hostile.support import is_from, wait_until

from .conftest import ROOT

_SENDER = textwrap.dedent(
    """
    import io, os, sys, anyio
    from PIL import Image
    from justirc_sdk import Session

    async def main() -> None:
        port = int(sys.argv[1])
        session = await Session.connect("127.0.0.1", port, nick="mallory", reconnect=False)
        side = 700  # ~1.4 MB of random pixels: ~45 chunks
        img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        buf = io.BytesIO()
        img.save(buf, format="PNG")

        async def progress(index: int, total: int) -> None:
            if index == total // 2:
                print("HALF", index, total, flush=True)
                await anyio.sleep_forever()

        await session.send_image("bob", buf.getvalue(), caption="never finished",
                                 progress=progress)

    anyio.run(main)
    """
)


def _spawn_sender(port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _SENDER, str(port)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )


@pytest.mark.anyio
async def test_client_killed_mid_image_leaves_nothing_behind(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path / "data") as server:

        def connections() -> int:
            return int(server.call(lambda s: len(s.connections)))

        alice = await Session.connect("127.0.0.1", server.port, nick="alice")
        bob = await Session.connect("127.0.0.1", server.port, nick="bob")
        try:
            baseline = connections()
            online = bob.wait_for(events.UserOnline, check=lambda e: e.nick == "mallory")
            offline = bob.wait_for(events.UserOffline, check=lambda e: e.nick == "mallory")
            proc = await anyio.to_thread.run_sync(_spawn_sender, server.port)
            try:
                assert proc.stdout is not None
                line = await anyio.to_thread.run_sync(proc.stdout.readline)
                assert line.startswith("HALF"), line
                await online
                assert connections() == baseline + 1
                os.kill(proc.pid, signal.SIGKILL)
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(10)
                if proc.stdout is not None:
                    proc.stdout.close()
            await offline
            wait_until(lambda: connections() == baseline, what="connection count back to normal")
            # the router keeps no per-transfer state: only the two healthy users remain
            online_now = server.call(lambda s: sorted(s.router.presence.online()))
            assert online_now == ["alice", "bob"]
            assert server.call(lambda s: s.router.presence.lookup("mallory")) is None
            assert "mallory" not in bob.users
            # the others are unaffected, and the nick is free again
            got = bob.wait_for(events.Message, check=is_from("alice", "still here"), timeout=10)
            await alice.send("bob", "still here")
            await got
            again = await Session.connect("127.0.0.1", server.port, nick="mallory")
            await again.close()
        finally:
            await alice.close()
            await bob.close()


def _start(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "--port", "0", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
        check=False,
    )


def test_uncreatable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = _start(blocker / "data")
    assert result.returncode == 2
    assert str(blocker / "data") in result.stderr
    assert "Traceback" not in result.stderr


def test_data_dir_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = _start(blocker)
    assert result.returncode == 2
    assert str(blocker) in result.stderr
    assert "not a directory" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only directory")
def test_read_only_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = _start(locked)
    finally:
        locked.chmod(0o700)
    assert result.returncode == 2
    assert str(locked) in result.stderr
    assert "not writable" in result.stderr
