"""manifest.json: what export wrote about each file, read back by the runtime."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

MANIFEST_NAME = "manifest.json"


class IntegrityError(ValueError):
    """A model file's bytes do not match the sha256 that the manifest beside it records."""

    def __init__(self, path: Path, actual: str, expected: str | None):
        self.path = path
        self._what = f"{path.name} does not match {MANIFEST_NAME}: sha256 {actual} expected {expected}; re-export it"
        super().__init__(f"{self._what}, or load it with verify=False to run it anyway")

    def for_command_line(self) -> str:
        """The same message, naming the command line's flag instead of the API's argument."""
        return f"{self._what}, or pass --no-verify to run it anyway"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: str | Path) -> dict | None:
    """Return the manifest in folder, or None when there is none.

    Raises:
        ValueError: the manifest exists but is not a JSON object with a "files" table.
    """
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON ({e}); re-run 'edgeport export' to rewrite it") from e
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ValueError(f"{path} has no 'files' table; re-run 'edgeport export' to rewrite it")
    return manifest


MOBILE_TABLE = "mobile"  # the manifest's table of phone copies (.ort), beside "files"


def manifest_entry(model_path: str | Path) -> dict | None:
    """The manifest's record of model_path (in "files", or "mobile" for a phone copy), or None when
    no manifest beside it names the file."""
    model_path = Path(model_path)
    manifest = read_manifest(model_path.parent)
    if manifest is None:
        return None
    entry = manifest["files"].get(model_path.name)
    if entry is None and isinstance(manifest.get(MOBILE_TABLE), dict):
        entry = manifest[MOBILE_TABLE].get(model_path.name)
    return entry


def validation_data(manifest: dict, spec=None, data_dir=None):
    """The data set whose validation split the manifest's figures were measured on.

    Args:
        manifest: a manifest written by export.
        spec: another data source to load instead ("fashion-mnist", a folder or an .npz).
        data_dir: where the Fashion-MNIST files are (default: the usual search path).

    Returns:
        A Dataset at the exported model's input size; `.validation` gives (split name, Split).
    """
    from edgeport.runtime.datasets import FASHION_MNIST, load_dataset

    dims = list(manifest["source"]["input_shape"][1:])
    image_shape = (dims[0], dims[1], dims[2] if len(dims) == 3 else 1)
    return load_dataset(spec or manifest.get("data", {}).get("source", FASHION_MNIST), image_shape, data_dir)
