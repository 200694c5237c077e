"""Signed exports: OpenSSF model signing (the `model-signing` package) over an export folder, offline.

`edgeport export --sign KEY.pem` signs the manifest and every file it lists (model files, phone
copies, reference outputs) into `model.sig` in the export folder, with an elliptic-curve private key
(PEM). `--trust PUB.pem` on the commands that run a model opens the folder through open_trusted:
the signature is checked, every signed file is read once and hashed, and what runs afterwards is
those very bytes (the manifest parsed from them, the model engine started on them), never the path
read again. A publish journal or staging folder is never followed, and only a file the signed
manifest lists can run. Files added beside the export later (the report, its plots, the web page)
are not signed and do not break the signature.

model-signing and its dependencies are the `sign` extra, imported inside the functions here: a
device that does not verify signatures never needs them.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from edgeport.runtime.errors import EdgeportError, MissingExtraError
from edgeport.runtime.manifest import (
    MANIFEST_NAME,
    PUBLISH_JOURNAL,
    Manifest,
    PhoneEntry,
    is_plain_name,
    read_manifest,
    sha256_bytes,
)

SIGNATURE_NAME = "model.sig"
MAX_MANIFEST_BYTES = 64 << 20  # a manifest is a few hundred KB at most; a larger one is not read
MAX_SIGNATURE_BYTES = 1 << 20  # a real model.sig is a few KB; a huge one is refused before it is parsed
MAX_KEY_BYTES = 64 << 10  # a PEM key is under 4 KB
CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}  # model-signing's key signer's
_KINDS = "an elliptic-curve key on P-256, P-384 or P-521 in PEM"
_BLOCK = 1 << 20


class SignatureError(EdgeportError, ValueError):
    """An export that cannot be signed, or whose signature does not hold."""


def check_key(path: str | os.PathLike, private: bool):
    """Load a key file and check it is one model signing takes, before any other work.

    Args:
        path: a PEM file.
        private: True for --sign (an unencrypted private key), False for --trust (a public key).

    Returns:
        The key (a cryptography elliptic-curve key object).

    Raises:
        SignatureError: no such file, not a PEM key, the other half of the pair, an encrypted key, or a
            kind or curve model signing does not take (one line naming the file and the supported kinds).
    """
    path = Path(path)
    flag, half = ("--sign", "private") if private else ("--trust", "public")
    try:
        with open_regular(path) as f:
            data = f.read(MAX_KEY_BYTES + 1)
    except FileNotFoundError:
        raise SignatureError(f"{path}: no such {half} key for {flag} ({_KINDS})") from None
    except OSError as e:
        raise SignatureError(f"{path}: cannot read the {half} key for {flag}: {e.strerror}") from None
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
    except ImportError:
        raise MissingExtraError("signing and verifying exports needs model signing", "sign") from None
    loaders = {"private": lambda: serialization.load_pem_private_key(data, password=None),
               "public": lambda: serialization.load_pem_public_key(data)}
    other = "public" if private else "private"
    key = _try(loaders[half]) if len(data) <= MAX_KEY_BYTES else None
    if isinstance(key, TypeError):  # a password-protected private key
        raise SignatureError(f"{path} is an encrypted private key: {flag} takes an unencrypted one ({_KINDS})")
    if key is None or isinstance(key, Exception):
        found = _try(loaders[other])
        if isinstance(found, TypeError) or not isinstance(found, Exception):  # TypeError: an encrypted private key
            fix = "give the private key to --sign" if private else "give --trust the public half " \
                                                                    "(openssl ec -in KEY.pem -pubout -out PUB.pem)"
            raise SignatureError(f"{path} is a {other} key, and {flag} takes the {half} key: {fix}")
        raise SignatureError(f"{path} is not a PEM key: {flag} takes {_KINDS}")
    public = key.public_key() if private else key
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise SignatureError(f"{path} is {_kind(public)} key: model signing takes {_KINDS}")
    if public.curve.name not in CURVES:
        raise SignatureError(f"{path} is an elliptic-curve key on {public.curve.name}: model signing takes "
                             f"{_KINDS}")
    return key


def _try(load):
    """load()'s key, or the exception it raised (cryptography raises ValueError for a wrong kind of PEM,
    TypeError for a missing password, and its own UnsupportedAlgorithm)."""
    try:
        return load()
    except Exception as e:
        return e


def _kind(key) -> str:
    name = type(key).__name__.replace("PublicKey", "").replace("_", "")
    return {"RSA": "an RSA", "Ed25519": "an Ed25519", "Ed448": "an Ed448", "DSA": "a DSA"}.get(name, f"a {name}")


def key_description(key) -> str:
    """'EC P-256 key, sha256:…' of a public or private key: what `edgeport verify` names the signer by."""
    public = key.public_key() if hasattr(key, "public_key") else key
    return f"EC {CURVES[public.curve.name]} key, sha256:{key_digest(key)}"


def key_digest(key) -> str:
    """The sha256 of a key's public half as PEM (SubjectPublicKeyInfo): the digest a signature bundle names its
    key by, and `edgeport verify` shows."""
    from cryptography.hazmat.primitives import serialization

    public = key.public_key() if hasattr(key, "public_key") else key
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(pem).hexdigest()


def signed_files(folder: str | os.PathLike) -> list[str]:
    """The files a signature covers: manifest.json and every file it names (files, phone copies, reference).

    Raises:
        SignatureError: no manifest in folder.
    """
    manifest = read_manifest(folder)
    if manifest is None:
        raise SignatureError(f"{Path(folder) / MANIFEST_NAME}: no manifest to sign or verify against")
    names = {MANIFEST_NAME, *manifest.files, *(n for n, e in manifest.mobile.items() if e.error is None),
             *(npu.file for npu in _npu_records(manifest))}
    if manifest.data is not None:
        names.add(manifest.data.reference)
    return sorted(names)


def sign_export(folder: str | os.PathLike, private_key: str | os.PathLike) -> Path:
    """Sign an export folder's manifest and listed files into folder/model.sig.

    Raises:
        SignatureError: no manifest, a listed file missing, or a key that cannot sign (one line).
    """
    folder, key = Path(folder), Path(private_key)
    check_key(key, private=True)
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
    except (ValueError, TypeError, OSError) as e:  # what check_key cannot see, and the like
        signature.unlink(missing_ok=True)
        raise SignatureError(f"cannot sign {folder} with {key}: {_one_line(e)}") from e
    return signature


@dataclass(frozen=True)
class TrustedExport:
    """A signed export folder after its signature held: the signed manifest and the bytes of the files kept.

    Attributes:
        folder: the export folder.
        manifest: parsed from the very bytes whose sha256 the signature holds.
        digests: every signed file's sha256, by name.
        sizes: every signed file's bytes as read when its digest was checked, by name.
        signer: the key that signed it ('EC P-256 key, sha256:…').
    """

    folder: Path
    manifest: Manifest
    digests: dict[str, str]
    sizes: dict[str, int]
    signer: str
    _kept: dict[str, bytes] = field(repr=False)

    def content(self, name: str) -> bytes | None:
        """A signed file's bytes as verified (None when it was not kept or is not signed)."""
        return self._kept.get(name)

    def load(self, name: str, threads: int | None = None):
        """A Predictor on the verified bytes of a model file the signed manifest lists.

        Raises:
            SignatureError: the file is not listed (or is a phone copy that failed), or was not kept.
        """
        from edgeport.runtime.predictor import ModelFile, check_suffix, from_file

        path = self.folder / name
        check_suffix(path)
        entry = self.manifest.entry(name)
        content = self._kept.get(name)
        if entry is None or (isinstance(entry, PhoneEntry) and entry.error is not None) or name not in self.digests:
            raise SignatureError(f"{name} is not listed in the signed {MANIFEST_NAME} of {self.folder}: refused")
        if content is None or sha256_bytes(content) != entry.sha256:
            raise SignatureError(f"{name}: the signed {MANIFEST_NAME} of {self.folder} records another sha256 for "
                                 f"it than the signature: refused")
        # No external data: only the signed bytes run.
        return from_file(ModelFile(path, content, entry, None, True), threads)


def open_trusted(model: str | os.PathLike, public_key: str | os.PathLike,
                 keep: Callable[[Manifest], Iterable[str]] = lambda manifest: ()) -> TrustedExport:
    """Verify the signature of the export folder that holds model, reading each signed file once.

    Args:
        model: a model file (.tflite, .onnx, .ort) in an export folder, or the folder itself. A model
            file's bytes are kept for TrustedExport.load.
        public_key: the EC public key (PEM) that belongs to the key the export was signed with.
        keep: given the signed manifest, the names of the other signed files whose bytes to keep.

    Returns:
        The TrustedExport: its manifest and kept bytes are exactly what the signature covers.

    Raises:
        SignatureError: a bad key, an unfinished publish, no signature or manifest, a signature that does
            not verify, a signed file changed or removed (one line each).
    """
    model = Path(model)
    key = check_key(public_key, private=False)
    folder = model if model.is_dir() else model.parent
    if os.path.lexists(folder / PUBLISH_JOURNAL):  # never followed: neither it nor its staging folder is signed
        raise SignatureError(f"{folder}: an export was interrupted here (its files are half moved in); "
                             f"run export again")
    if not (folder / SIGNATURE_NAME).is_file():
        raise SignatureError(f"{folder} has no {SIGNATURE_NAME}: the export is not signed (edgeport export --sign)")
    if not (folder / MANIFEST_NAME).is_file():
        raise SignatureError(f"{folder} has no {MANIFEST_NAME}: a signed export cannot be verified without it")
    digests = _signed_digests(folder, public_key, key)
    if MANIFEST_NAME not in digests:
        raise SignatureError(f"{folder / SIGNATURE_NAME} does not cover {MANIFEST_NAME}: not an edgeport export's "
                             f"signature")
    kept, sizes, changed, missing = {}, {}, [], []
    _check_file(folder, MANIFEST_NAME, digests[MANIFEST_NAME], kept, sizes, changed, missing, MAX_MANIFEST_BYTES)
    if changed:
        raise SignatureError(f"{folder} does not match its signature (changed: {MANIFEST_NAME}): refused")
    manifest = _manifest_from(kept[MANIFEST_NAME], folder / MANIFEST_NAME)
    wanted = {*keep(manifest), *([] if model.is_dir() else [model.name])}
    expected = recorded_sizes(manifest)
    for name in sorted(digests.keys() - {MANIFEST_NAME}):
        _check_file(folder, name, digests[name], kept if name in wanted else None, sizes, changed, missing,
                    expected.get(name))
    if changed or missing:
        found = "; ".join(f"{what}: {', '.join(names)}" for what, names in (("changed", changed), ("missing", missing))
                          if names)
        raise SignatureError(f"{folder} does not match its signature ({found}): refused")
    return TrustedExport(folder, manifest, digests, sizes, key_description(key), kept)  # load() checks the listing


def _signed_digests(folder: Path, public_key, key) -> dict[str, str]:
    """The sha256 of every file the signature in folder covers, by name, once the signature holds for the key
    (public_key: its PEM file; key: the key loaded from it)."""
    _model_signing()  # says which extra to install when model-signing is missing
    from edgeport.signing_adapter import verify

    path = folder / SIGNATURE_NAME
    try:
        with open_regular(path) as f:
            data = f.read(MAX_SIGNATURE_BYTES + 1)
    except OSError as e:
        raise SignatureError(f"{path}: {e.strerror}: refused") from None
    if len(data) > MAX_SIGNATURE_BYTES:
        raise SignatureError(f"{path} is over {MAX_SIGNATURE_BYTES >> 20} MiB, and a real signature is a few KB: "
                             f"refused")
    try:
        text = data.decode("utf-8")
        if _key_hint(text) not in (None, key_digest(key)):  # the bundle names its key by the same digest
            raise SignatureError(f"{folder} does not match its signature (signed with another key): refused")
        signed = verify(text, public_key)
    except SignatureError:
        raise
    except Exception as e:  # model-signing raises ValueError, KeyError, its crypto layer InvalidSignature
        raise SignatureError(f"{folder} does not match its signature ({_why(e)}): refused") from e
    method = signed.serialization_type
    if method.get("method") != "files" or method.get("hash_type") != "sha256":
        raise SignatureError(f"{path} hashes {method.get('method')} with {method.get('hash_type')}; edgeport "
                             f"verifies the per-file sha256 signatures that export --sign writes: refused")
    digests = {rd.identifier: rd.digest.digest_hex for rd in signed.resource_descriptors()}
    strange = sorted(name for name in digests if not is_plain_name(name))
    if strange:
        raise SignatureError(f"{path} covers {strange[0]}, which is not a file of the export folder: refused")
    return digests


def open_regular(path: str | os.PathLike, follow: bool = True):
    """A regular file opened for reading, never blocking: a FIFO, a device or a folder in its place is an OSError
    (EINVAL, "not a regular file") before anything is read; with follow=False a symlink is one too (ELOOP)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def recorded_sizes(manifest: Manifest) -> dict[str, int]:
    """The size the signed manifest records for each file it lists (model files and phone copies)."""
    sizes = {name: entry.bytes for name, entry in manifest.files.items()}
    sizes.update((name, entry.bytes) for name, entry in manifest.mobile.items() if entry.error is None)
    sizes.update((npu.file, npu.bytes) for npu in _npu_records(manifest))
    return sizes


def _npu_records(manifest: Manifest) -> list:
    """The Vela-compiled files the manifest lists (a micro file's npu record)."""
    return [entry.micro.npu for entry in manifest.files.values()
            if entry.micro is not None and entry.micro.npu is not None and is_plain_name(entry.micro.npu.file)]


def _check_file(folder: Path, name: str, digest: str, kept: dict | None, sizes: dict, changed: list,
                missing: list, limit: int | None = None) -> None:
    """Hash one signed file (read once, through no symlink, a regular file only), record its size; keep its bytes
    in kept when given one. A file whose size is not limit (the manifest's record; for the manifest itself, an
    upper bound) is changed, found from its size before any byte is read."""
    hasher, blocks, size = hashlib.sha256(), [], 0
    try:
        f = open_regular(folder / name, follow=False)
    except FileNotFoundError:
        missing.append(name)
        return
    except OSError as e:  # a symlink (ELOOP), a FIFO or folder (EINVAL), or no permission: not the signed file
        changed.append(name if e.errno in (errno.ELOOP, errno.EISDIR) else f"{name} ({e.strerror})")
        return
    length = os.fstat(f.fileno()).st_size
    if limit is not None and (length > limit if name == MANIFEST_NAME else length != limit):
        f.close()
        changed.append(name)
        return
    try:
        with f:
            while block := f.read(_BLOCK):
                hasher.update(block)
                size += len(block)
                if kept is not None:
                    blocks.append(block)
    except IsADirectoryError:
        changed.append(name)
        return
    sizes[name] = size
    if hasher.hexdigest() != digest:
        changed.append(name)
    elif kept is not None:
        kept[name] = b"".join(blocks)


def _manifest_from(data: bytes, path: Path) -> Manifest:
    try:
        return Manifest.from_json(json.loads(data.decode("utf-8")), str(path))
    except ValueError as e:  # signed, yet unreadable: a broken export, said as the manifest's reader says it
        raise SignatureError(f"{path} is signed but not a readable manifest ({_one_line(e)}): re-export") from e


def _key_hint(text: str) -> str | None:
    """The digest of the public key a signature bundle says it was made with (verificationMaterial.publicKey.hint;
    None when it names none, or is not a bundle: model-signing's reader then says what is wrong)."""
    try:
        hint = json.loads(text)["verificationMaterial"]["publicKey"]["hint"]
    except (ValueError, KeyError, TypeError):
        return None
    return hint if isinstance(hint, str) and hint else None


def _why(error: Exception) -> str:
    """What model-signing found, in a few words."""
    from cryptography.exceptions import InvalidSignature

    if isinstance(error, InvalidSignature):
        return "the signature does not verify with this key"
    if isinstance(error, (KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError)):
        return "model.sig is not a model signature"
    return _one_line(error) or type(error).__name__


def covered(trusted: TrustedExport) -> tuple[list[str], list[str]]:
    """(the signed files, the entries of the folder the signature does not cover, model.sig aside)."""
    others = sorted(entry.name + ("/" if entry.is_dir() else "") for entry in trusted.folder.iterdir()
                    if entry.name not in trusted.digests and entry.name != SIGNATURE_NAME)
    return sorted(trusted.digests), others


def _model_signing():
    try:
        from model_signing import hashing, signing, verifying
    except ImportError:
        raise MissingExtraError("signing and verifying exports needs model signing", "sign") from None
    return signing, verifying, hashing


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 200 else text[:197] + "..."
