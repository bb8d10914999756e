"""The keystore: one file holding the engine's whole state, written atomically, mode 0600.

Layout: ``MAGIC 8 | mode u8 | ...``.

* mode 0 (no passphrase): ``sha256 32 | json`` (the digest only detects corruption).
* mode 1 (passphrase): ``salt 16 | t u32 | m u32 | p u32 | file_salt 32 | ciphertext``.
  The master key is Argon2id(passphrase, salt, t, m KiB, p lanes), derived once per open;
  every save draws a fresh 32-byte ``file_salt`` and encrypts with
  ``HKDF(master, file_salt, "JustIRC/v1/keystore")`` and a zero nonce, so no key ever
  encrypts twice. The header is the associated data.

Writes go to a temporary file in the same directory (created 0600), are fsynced, then
``os.replace``-d over the old file and the directory is fsynced: a crash at any point leaves
either the old or the new file, never a torn one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from ._primitives import LABEL_KEYSTORE, ct_equal, hkdf, open_, seal, sha256
from .errors import DecryptionError, KeystoreError, WrongPassphraseError

__all__ = ["Argon2Params", "Keystore"]

log = logging.getLogger(__name__)
_MAGIC = b"JIRCKS1\n"
_ENC = struct.Struct(">16sIII32s")


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """Argon2id cost; the defaults follow RFC 9106's second recommendation (64 MiB)."""

    iterations: int = 3
    memory_kib: int = 64 * 1024
    lanes: int = 4


class Keystore:
    """A keystore file; ``passphrase=None`` stores the state unencrypted (still mode 0600)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        passphrase: str | None = None,
        *,
        kdf: Argon2Params | None = None,
    ) -> None:
        self.path = Path(path)
        self._passphrase = None if passphrase is None else passphrase.encode()
        self._kdf = kdf or Argon2Params()
        self._salt: bytes | None = None
        self._master: bytes | None = None

    def exists(self) -> bool:
        return self.path.exists()

    def _derive(self, salt: bytes, p: Argon2Params) -> bytes:
        assert self._passphrase is not None
        return Argon2id(
            salt=salt, length=32, iterations=p.iterations, lanes=p.lanes, memory_cost=p.memory_kib
        ).derive(self._passphrase)

    def load(self) -> dict[str, Any]:
        """Read and decrypt the state (``KeystoreError``, ``WrongPassphraseError``)."""
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise KeystoreError(f"cannot read keystore {self.path}: {exc.strerror}") from None
        if not raw.startswith(_MAGIC) or len(raw) < len(_MAGIC) + 1:
            raise KeystoreError(f"{self.path} is not a JustIRC keystore")
        mode, body = raw[len(_MAGIC)], raw[len(_MAGIC) + 1 :]
        if mode == 0:
            if self._passphrase is not None:
                raise WrongPassphraseError(f"{self.path} is not passphrase-protected")
            digest, blob = body[:32], body[32:]
            if not ct_equal(digest, sha256(blob)):
                raise KeystoreError(f"keystore {self.path} is corrupted")
        elif mode == 1:
            if self._passphrase is None:
                raise WrongPassphraseError(f"{self.path} needs a passphrase")
            if len(body) < _ENC.size + 16:
                raise KeystoreError(f"keystore {self.path} is corrupted")
            salt, t, m, p, fsalt = _ENC.unpack_from(body)
            params = Argon2Params(t, m, p)
            if self._master is None or self._salt != salt:
                self._master, self._salt, self._kdf = self._derive(salt, params), salt, params
            key = hkdf(self._master, salt=fsalt, info=LABEL_KEYSTORE)
            header = raw[: len(_MAGIC) + 1 + _ENC.size]
            try:
                blob = open_(key, bytes(12), body[_ENC.size :], header)
            except DecryptionError:
                raise WrongPassphraseError(
                    f"wrong passphrase for {self.path} (or the file was tampered with)"
                ) from None
        else:
            raise KeystoreError(f"{self.path} uses an unknown keystore format {mode}")
        try:
            state = json.loads(blob)
        except ValueError:
            raise KeystoreError(f"keystore {self.path} is corrupted") from None
        if not isinstance(state, dict):
            raise KeystoreError(f"keystore {self.path} is corrupted")
        return state

    def _encode(self, state: dict[str, Any]) -> bytes:
        blob = json.dumps(state, separators=(",", ":")).encode()
        if self._passphrase is None:
            return _MAGIC + b"\x00" + sha256(blob) + blob
        if self._master is None or self._salt is None:
            self._salt = os.urandom(16)
            self._master = self._derive(self._salt, self._kdf)
        k = self._kdf
        fsalt = os.urandom(32)
        header = (
            _MAGIC + b"\x01" + _ENC.pack(self._salt, k.iterations, k.memory_kib, k.lanes, fsalt)
        )
        key = hkdf(self._master, salt=fsalt, info=LABEL_KEYSTORE)
        return header + seal(key, bytes(12), blob, header)

    def save(self, state: dict[str, Any]) -> None:
        """Atomically replace the file with *state*."""
        data = self._encode(state)
        directory = self.path.parent
        tmp = directory / f".{self.path.name}.{os.getpid()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fchmod(fd, 0o600)
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            _fsync_dir(directory)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise KeystoreError(f"cannot write keystore {self.path}: {exc}") from None
        log.debug("keystore saved (%d bytes)", len(data))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
