"""The typed errors of the crypto core.

Every error derives from :class:`CryptoError`, itself a :class:`~justirc_sdk.errors.JustIRCError`.
Decryption failures never say *why* a forged message failed beyond its class, so an attacker
learns nothing from the error text; state is never changed when one is raised.
"""

from __future__ import annotations

from ..errors import JustIRCError

__all__ = [
    "AttachmentError",
    "BadSignatureError",
    "CryptoError",
    "DecryptionError",
    "KeyChangedError",
    "KeystoreError",
    "MissingKeysError",
    "RekeyRequiredError",
    "ReplayError",
    "SafetyNumberMismatchError",
    "StaleEpochError",
    "TooManySkippedError",
    "UntrustedKeyError",
    "WrongPassphraseError",
]


class CryptoError(JustIRCError):
    """Base class of every error raised by ``justirc_sdk.crypto``."""


class DecryptionError(CryptoError):
    """A message could not be authenticated or decrypted; it was dropped, state is unchanged."""


class ReplayError(DecryptionError):
    """A message was already received (or its key expired); it was dropped."""


class TooManySkippedError(DecryptionError):
    """A message claims a counter too far ahead; it was rejected without deriving keys."""


class StaleEpochError(DecryptionError):
    """A handshake or key distribution for an epoch older than the current one was ignored."""


class MissingKeysError(DecryptionError):
    """No key is known for this sender/epoch yet.

    For a channel message, the sender's key distribution has not arrived (or was refused);
    keep the payload and retry after :meth:`CryptoEngine.handle_control` accepts one.
    For a private message, fetch the sender's bundle, call ``add_bundle`` and retry.
    """


class BadSignatureError(DecryptionError):
    """A signature (bundle, channel message) does not verify."""


class UntrustedKeyError(CryptoError):
    """The peer's keys are unknown or not trusted for this operation."""


class KeyChangedError(UntrustedKeyError):
    """The peer's identity key differs from the pinned one.

    Show the user the change; call ``accept_key_change(nick)`` (and, for a contact that was
    verified, ``verify(nick, safety_number)``) before talking to this peer again.
    """

    def __init__(
        self,
        message: str,
        *,
        nick: str = "",
        old_fingerprint: str | None = None,
        new_fingerprint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.nick = nick
        self.old_fingerprint = old_fingerprint
        self.new_fingerprint = new_fingerprint


class SafetyNumberMismatchError(UntrustedKeyError):
    """The safety number the user typed does not match the one computed locally."""


class RekeyRequiredError(CryptoError):
    """A channel send needs key distribution first: call ``channel_prepare_send``."""


class AttachmentError(CryptoError):
    """An attachment chunk or the whole file failed authentication, order, size or digest."""


class KeystoreError(CryptoError):
    """The keystore file cannot be read, parsed or written."""


class WrongPassphraseError(KeystoreError):
    """The keystore passphrase is wrong (or the file was tampered with)."""
