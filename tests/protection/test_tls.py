from __future__ import annotations

import ssl
import stat
import subprocess
from pathlib import Path

import anyio
import pytest
from anyio.abc import SocketAttribute
from anyio.streams.tls import TLSAttribute, TLSListener, TLSStream

from server.protection_errors import PinMismatch
from server.tls import (
    client_context_pinned,
    ensure_self_signed,
    fingerprint_of_pem,
    format_fingerprint,
    load_server_context,
    normalize_fingerprint,
    verify_pinned,
)


def test_self_signed_generated_once_and_reused(tmp_path: Path) -> None:
    cert, key, fp = ensure_self_signed(tmp_path)
    assert cert.exists()
    assert key.exists()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(fp) == 64
    assert fingerprint_of_pem(cert) == fp
    again = ensure_self_signed(tmp_path)
    assert again == (cert, key, fp)  # same files, same fingerprint on a later start
    ctx = load_server_context(cert, key)
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_fingerprint_matches_openssl(tmp_path: Path) -> None:
    cert, _, fp = ensure_self_signed(tmp_path)
    try:
        out = subprocess.run(
            ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(cert)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (FileNotFoundError, subprocess.CalledProcessError):
        pytest.skip("openssl command not available")
    assert out.strip().split("=", 1)[1] == format_fingerprint(fp)


def test_fingerprint_normalisation() -> None:
    fp = "ab" * 32
    assert normalize_fingerprint(format_fingerprint(fp)) == fp
    assert normalize_fingerprint(" " + fp.upper() + "\n") == fp
    for bad in ("ab" * 31, "zz" * 32, ""):
        with pytest.raises(ValueError, match="64 hex digits"):
            normalize_fingerprint(bad)
    with pytest.raises(ValueError, match="64 hex digits"):
        client_context_pinned("not a fingerprint")


async def _echo_once(stream: TLSStream) -> None:
    async with stream:
        try:
            data = await stream.receive()
            await stream.send(data.upper())
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass  # the wrong-pin client hangs up without sending


async def _connect_pinned(port: int, pin: str) -> bytes:
    stream = await anyio.connect_tcp(
        "127.0.0.1",
        port,
        ssl_context=client_context_pinned(pin),
        tls=True,
        tls_standard_compatible=False,
    )
    async with stream:
        verify_pinned(stream.extra(TLSAttribute.ssl_object), pin)
        await stream.send(b"hello")
        return await stream.receive()


@pytest.mark.anyio
async def test_pinned_handshake_over_real_socket(tmp_path: Path) -> None:
    cert, key, fp = ensure_self_signed(tmp_path)
    _, _, other_fp = ensure_self_signed(tmp_path / "other")
    assert other_fp != fp
    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = tcp.listeners[0].extra(SocketAttribute.local_port)
    listener = TLSListener(tcp, load_server_context(cert, key), standard_compatible=False)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, _echo_once)
        # the right pin, in the colon form an operator would paste
        assert await _connect_pinned(port, format_fingerprint(fp)) == b"HELLO"
        # a wrong pin is refused before anything is sent
        with pytest.raises(PinMismatch, match="not the pinned one"):
            await _connect_pinned(port, other_fp)
        tg.cancel_scope.cancel()


def test_pinned_handshake_with_plain_ssl_socket(tmp_path: Path) -> None:
    """The same check through the stdlib ``ssl`` socket API (blocking client)."""
    import socket
    import threading

    cert, key, fp = ensure_self_signed(tmp_path)
    server_ctx = load_server_context(cert, key)
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    def serve() -> None:
        for _ in range(2):
            conn, _ = sock.accept()
            try:
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(16)
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        for pin, ok in ((fp.upper(), True), ("00" * 32, False)):
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            with client_context_pinned(pin).wrap_socket(raw) as tls:
                if ok:
                    verify_pinned(tls, pin)
                else:
                    with pytest.raises(PinMismatch):
                        verify_pinned(tls, pin)
                tls.sendall(b"bye")
    finally:
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive()
