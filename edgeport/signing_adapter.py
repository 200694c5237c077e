"""model-signing's private parts that verification relies on, in this one module.

edgeport verifies a signature whose text it has already read (within a size cap, once), with the verifier
of an elliptic-curve key: model-signing's public API reads the signature from a path itself, so this reads
the bundle with its Signature reader and calls the key verifier under Config. Checked against
model-signing CHECKED_VERSION; tests/test_micro.py's adapter test fails when another version is installed.
"""

from __future__ import annotations

CHECKED_VERSION = "1.1.1"


class _Text:
    """The signature's text as model-signing's reader takes it (it calls read_text on a path)."""

    def __init__(self, text: str):
        self._text = text

    def read_text(self, encoding: str = "utf-8") -> str:
        return self._text


def verify(text: str, public_key):
    """The signed manifest of model-signing (its resource descriptors) for a signature bundle's text, verified
    with the elliptic-curve public key at public_key.

    Raises:
        Whatever model-signing raises: ValueError, KeyError, cryptography's InvalidSignature.
    """
    from model_signing import verifying
    from model_signing._signing import sign_sigstore_pb

    verifier = verifying.Config().use_elliptic_key_verifier(public_key=public_key)._verifier
    return verifier.verify(sign_sigstore_pb.Signature.read(_Text(text)))
