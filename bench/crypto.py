"""Crypto throughput: engine operations beside the raw primitives they rest on.

Run ``python -m bench.crypto`` (``--quick`` for a smoke run with tiny iteration counts).
Each figure is messages (or MB) per second on one core, measured in the same run as the raw
ChaCha20-Poly1305 and Ed25519 figures so the ratio is meaningful on any machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from justirc_sdk.crypto import CryptoEngine, EngineConfig, decrypt_attachment

MSG = b"x" * 120
SIZES = (2, 10, 100, 1000)


def _rate(n: int, fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def _primitives(n: int) -> dict[str, float]:
    key = os.urandom(32)
    nonce = bytes(12)
    sk = Ed25519PrivateKey.generate()
    pk = sk.public_key()
    sig = sk.sign(MSG)
    return {
        "chacha20poly1305 seal (new key each)": _rate(
            n, lambda: ChaCha20Poly1305(key).encrypt(nonce, MSG, b"a" * 40)
        ),
        "ed25519 sign": _rate(n, lambda: sk.sign(MSG)),
        "ed25519 verify": _rate(n, lambda: pk.verify(sig, MSG)),
    }


def _engines(count: int, cfg: EngineConfig) -> list[CryptoEngine]:
    """Alice and Bob are real engines; the other members only need bundles (cost is flat)."""
    names = [f"user{i:04d}" for i in range(count)]
    engines = [CryptoEngine.create(n, config=cfg) for n in names[:2]]
    for e in engines:
        for other in engines:
            if other is not e:
                e.add_bundle(other.nick, other.bundle())
    extra = [CryptoEngine.create(n, config=cfg).bundle() for n in names[2:]] if count > 2 else []
    for nick, bundle in zip(names[2:], extra, strict=True):
        engines[0].add_bundle(nick, bundle)
    return engines


def _channel(count: int, n: int) -> tuple[float, float, float]:
    cfg = EngineConfig(channel_rotate_messages=10**9)
    engines = _engines(count, cfg)
    alice, bob = engines[0], engines[1]
    members = [f"user{i:04d}" for i in range(1, count)]
    start = time.perf_counter()
    dist = alice.channel_prepare_send("#bench", members)
    dist_time = time.perf_counter() - start
    for peer, payload in dist.payloads:
        if peer == bob.nick:
            bob.handle_control(alice.nick, payload)
    payloads: list[str] = []
    send = _rate(n, lambda: payloads.append(alice.encrypt_channel("#bench", MSG)))
    it = iter(payloads)
    recv = _rate(n, lambda: bob.decrypt_channel("#bench", alice.nick, next(it)))
    return send, recv, dist_time


def _private(n: int) -> tuple[float, float]:
    alice, bob = _engines(2, EngineConfig(private_rotate_messages=10**9))
    bob.decrypt_private(alice.nick, alice.encrypt_private(bob.nick, MSG))
    alice.decrypt_private(bob.nick, bob.encrypt_private(alice.nick, MSG))
    payloads: list[str] = []
    send = _rate(n, lambda: payloads.append(alice.encrypt_private(bob.nick, MSG)))
    it = iter(payloads)
    recv = _rate(n, lambda: bob.decrypt_private(alice.nick, next(it)))
    return send, recv


def _attachment(size: int, rounds: int) -> tuple[float, float]:
    data = os.urandom(size)
    start = time.perf_counter()
    for _ in range(rounds):
        desc, chunks = CryptoEngine.encrypt_attachment(data)
    enc = size * rounds / (time.perf_counter() - start) / 1e6
    start = time.perf_counter()
    for _ in range(rounds):
        assert decrypt_attachment(desc, chunks) == data
    dec = size * rounds / (time.perf_counter() - start) / 1e6
    return enc, dec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny iteration counts (smoke test)")
    args = ap.parse_args(argv)
    n = 50 if args.quick else 5000
    att_size, att_rounds = (100_000, 1) if args.quick else (8_000_000, 3)

    print("raw primitives (ops/s)")
    prim = _primitives(n)
    for name, v in prim.items():
        print(f"  {name:42s} {v:10.0f}")

    ps, pr = _private(n)
    print("private messages (msgs/s)")
    print(f"  {'send (ratchet step + AEAD)':42s} {ps:10.0f}")
    print(f"  {'receive':42s} {pr:10.0f}")

    print("channel messages (msgs/s)      send   receive   send/sign  recv/verify  keys-out(s)")
    sizes = (2, 10) if args.quick else SIZES
    for size in sizes:
        s, r, d = _channel(size, n)
        print(
            f"  {size:5d} members {s:16.0f} {r:9.0f} {s / prim['ed25519 sign']:10.2f}"
            f" {r / prim['ed25519 verify']:12.2f} {d:11.3f}"
        )
    enc, dec = _attachment(att_size, att_rounds)
    raw = _rate(
        max(1, n // 10),
        lambda: ChaCha20Poly1305(os.urandom(32)).encrypt(bytes(12), b"\0" * 32768, b""),
    )
    print("attachments (MB/s)")
    print(f"  {'encrypt (32 KiB chunks)':42s} {enc:10.1f}")
    print(f"  {'decrypt + digest':42s} {dec:10.1f}")
    print(f"  {'raw chacha20poly1305, 32 KiB':42s} {raw * 32768 / 1e6:10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
