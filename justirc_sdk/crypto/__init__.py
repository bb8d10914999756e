"""End-to-end encryption for JustIRC, as pure objects with no network I/O.

The session layer uses :class:`CryptoEngine` only; the other names are exported for type
hints, error handling and tests. See ``docs/SECURITY.md`` for the protocol and threat model.
"""

from __future__ import annotations

from .attachments import (
    DEFAULT_CHUNK_SIZE,
    AttachmentDecryptor,
    AttachmentDescriptor,
    decrypt_attachment,
    encrypt_attachment,
)
from .engine import ControlResult, CryptoEngine, EngineConfig, Received
from .errors import (
    AttachmentError,
    BadSignatureError,
    CryptoError,
    DecryptionError,
    KeyChangedError,
    KeystoreError,
    MissingKeysError,
    RekeyRequiredError,
    ReplayError,
    SafetyNumberMismatchError,
    StaleEpochError,
    TooManySkippedError,
    UntrustedKeyError,
    WrongPassphraseError,
)
from .keystore import Argon2Params, Keystore
from .sender_keys import Distribution
from .trust import BundleResult, TrustState

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Argon2Params",
    "AttachmentDecryptor",
    "AttachmentDescriptor",
    "AttachmentError",
    "BadSignatureError",
    "BundleResult",
    "ControlResult",
    "CryptoEngine",
    "CryptoError",
    "DecryptionError",
    "Distribution",
    "EngineConfig",
    "KeyChangedError",
    "Keystore",
    "KeystoreError",
    "MissingKeysError",
    "Received",
    "RekeyRequiredError",
    "ReplayError",
    "SafetyNumberMismatchError",
    "StaleEpochError",
    "TooManySkippedError",
    "TrustState",
    "UntrustedKeyError",
    "WrongPassphraseError",
    "decrypt_attachment",
    "encrypt_attachment",
]
