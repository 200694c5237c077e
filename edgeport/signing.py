"""Signed exports: OpenSSF model signing (the `model-signing` package) over an export folder, offline.

`edgeport export --sign KEY.pem` signs the manifest and every file it lists (model files, phone
copies, reference outputs) into `model.sig` in the export folder, with an elliptic-curve private key
(PEM). `--trust PUB.pem` on the commands that run a model verifies that signature before anything
runs, and refuses an export whose manifest or any listed file was changed or removed, a model file
the manifest does not list, and a model file with no manifest. Files added beside the export later
(the report, its plots, the web page) are not signed and do not break the signature.

model-signing and its dependencies are the `sign` extra, imported inside the functions here: a
device that does not verify signatures never needs them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from edgeport.runtime.errors import EdgeportError
from edgeport.runtime.manifest import MANIFEST_NAME, read_manifest

SIGNATURE_NAME = "model.sig"
_INSTALL = "pip install 'edgeport[sign]'"


class SignatureError(EdgeportError, ValueError):
    """An export that cannot be signed, or whose signature does not hold."""


def signed_files(folder: str | os.PathLike) -> list[str]:
    """The files a signature covers: manifest.json and every file it names (files, phone copies, reference).

    Raises:
        SignatureError: no manifest in folder.
    """
    manifest = read_manifest(folder)
    if manifest is None:
        raise SignatureError(f"{Path(folder) / MANIFEST_NAME}: no manifest to sign or verify against")
    names = {MANIFEST_NAME, *manifest.files, *(n for n, e in manifest.mobile.items() if e.error is None)}
    if manifest.data is not None:
        names.add(manifest.data.reference)
    return sorted(names)


def sign_export(folder: str | os.PathLike, private_key: str | os.PathLike) -> Path:
    """Sign an export folder's manifest and listed files into folder/model.sig.

    Raises:
        SignatureError: no manifest, a listed file missing, or a key that cannot sign (one line).
    """
    folder, key = Path(folder), Path(private_key)
    if not key.is_file():
        raise SignatureError(f"{key}: no such private key (an elliptic-curve key in PEM)")
    signing, _, hashing = _model_signing()
    covered = set(signed_files(folder))
    missing = sorted(name for name in covered if not (folder / name).is_file())
    if missing:
        raise SignatureError(f"{folder}: {', '.join(missing)} listed in {MANIFEST_NAME} but missing: re-export")
    others = [entry.name for entry in folder.iterdir() if entry.name not in covered]
    signature = folder / SIGNATURE_NAME
    config = signing.Config().set_hashing_config(hashing.Config().set_ignored_paths(paths=others))
    try:
        config.use_elliptic_key_signer(private_key=key).sign(folder, signature)
    except (ValueError, TypeError, OSError) as e:  # a key that is not an EC private key in PEM, and the like
        signature.unlink(missing_ok=True)
        raise SignatureError(f"cannot sign {folder} with {key}: {_one_line(e)}") from e
    return signature


def verify_export(model: str | os.PathLike, public_key: str | os.PathLike) -> None:
    """Verify the signature of the export folder that holds model, before it runs.

    Args:
        model: a model file (.tflite, .onnx, .ort) in an export folder, or the folder itself.
        public_key: the EC public key (PEM) that belongs to the key the export was signed with.

    Raises:
        SignatureError: no signature or manifest, the manifest or a listed file changed or removed,
            model not listed in the manifest, or the wrong key (one line each).
    """
    model, key = Path(model), Path(public_key)
    folder = model if model.is_dir() else model.parent
    if not key.is_file():
        raise SignatureError(f"{key}: no such public key (an elliptic-curve key in PEM)")
    if not (folder / SIGNATURE_NAME).is_file():
        raise SignatureError(f"{folder} has no {SIGNATURE_NAME}: the export is not signed (edgeport export --sign)")
    if not (folder / MANIFEST_NAME).is_file():
        raise SignatureError(f"{folder} has no {MANIFEST_NAME}: a signed export cannot be verified without it")
    _, verifying, _ = _model_signing()
    config = verifying.Config().use_elliptic_key_verifier(public_key=key).set_ignore_unsigned_files(True)
    try:
        config.verify(folder, folder / SIGNATURE_NAME)
    except Exception as e:  # model-signing raises ValueError, and its crypto layers their own kinds
        raise SignatureError(f"{folder} does not match its signature ({_mismatch(e, folder)}): refused") from e
    if not model.is_dir():
        manifest = read_manifest(folder)
        if model.name not in manifest.files and model.name not in manifest.mobile:
            raise SignatureError(f"{model.name} is not listed in the signed {MANIFEST_NAME} of {folder}: refused")


def _mismatch(error: Exception, folder: Path) -> str:
    """What model-signing found, in a few words: the changed or missing files, else its own message."""
    text = str(error)
    changed = re.findall(r"Hash mismatch for \\?'([^'\\]+)", text)  # its message quotes a list's repr
    if changed:
        return f"changed: {', '.join(changed)}"
    missing = re.findall(r"Cannot use \\?'([^'\\]+)\\?' as file", text)
    if missing:
        return f"missing: {', '.join(Path(m).name for m in missing)}"
    return _one_line(error) or type(error).__name__


def _model_signing():
    try:
        from model_signing import hashing, signing, verifying
    except ImportError:
        raise SignatureError(f"signing and verifying exports needs model signing: {_INSTALL}") from None
    return signing, verifying, hashing


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 200 else text[:197] + "..."
