"""Signed exports: whoever can write the folder no longer decides what a device believes, when it asks.

Real EC P-256 keys made here, real model-signing, real commands.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.conftest import edgeport, run_cli


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    folder = tmp_path_factory.mktemp("keys")
    for name in ("ours", "theirs"):
        key = ec.generate_private_key(ec.SECP256R1())
        (folder / f"{name}.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (folder / f"{name}.pub.pem").write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return folder


@pytest.fixture(scope="module")
def signed(exported, keys, tmp_path_factory):
    out = tmp_path_factory.mktemp("signed")
    shutil.copy(exported / "model.keras", out / "model.keras")
    result = edgeport("export", out / "model.keras", "--out", out, "--formats", "fp32,onnx-int8", "--mobile",
                      "--sign", keys / "ours.pem")
    assert f"Signed {out / 'model.sig'}" in result.stdout
    return out


def _copy(folder, to):
    shutil.copytree(folder, to)
    return to


@pytest.fixture
def boot(test_set, tmp_path):
    Image.fromarray(test_set[0][0]).save(tmp_path / "boot.png")  # an ankle boot
    return tmp_path / "boot.png"


def test_a_signed_export_runs_with_trust_and_files_added_later_do_not_break_it(signed, keys, boot, tmp_path):
    folder = _copy(signed, tmp_path / "export")
    trust = ("--trust", keys / "ours.pub.pem")
    edgeport("web", folder, "--out", folder / "web", *trust)  # adds web/ beside the export
    (folder / "notes.md").write_text("added later")
    for model in ("model_fp32.tflite", "model_int8.onnx", "model_int8.mobile.ort"):  # every kind of file it lists
        answer = edgeport("predict", folder / model, boot, *trust)
        assert ": Ankle boot (" in answer.stdout, model
    assert json.loads(edgeport("evaluate", folder / "model_int8.onnx", "--json", *trust).stdout)["accuracy"] > 0.8
    edgeport("bench", folder / "model_int8.onnx", "--runs", "5", "--warmup", "1", "--batch", "10", *trust)
    np.save(tmp_path / "one.npy", np.zeros((1, 28, 28), np.uint8))
    edgeport("score", folder / "model_int8.onnx", tmp_path / "one.npy", "--out", tmp_path / "s.parquet", *trust)


def _edit_class_names(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["files"].values():
        entry["class_names"] = list(reversed(entry["class_names"]))  # the sha256 of every file untouched
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _flip_a_byte(folder):
    data = bytearray((folder / "model_int8.onnx").read_bytes())
    data[len(data) // 2] ^= 1
    (folder / "model_int8.onnx").write_bytes(bytes(data))


@pytest.mark.parametrize("tamper, message", [
    (_edit_class_names, "does not match its signature (changed: manifest.json): refused"),
    (_flip_a_byte, "does not match its signature (changed: model_int8.onnx): refused"),
    (lambda f: (f / "reference_probs.npy").unlink(), "does not match its signature (missing: reference_probs.npy)"),
    (lambda f: (f / "manifest.json").unlink(), "has no manifest.json: a signed export cannot be verified without it"),
    (lambda f: (f / "model.sig").unlink(), "has no model.sig: the export is not signed (edgeport export --sign)"),
])
def test_a_tampered_export_is_refused_with_trust(signed, keys, boot, tmp_path, tamper, message):
    folder = _copy(signed, tmp_path / "export")
    tamper(folder)
    commands = [("predict", folder / "model_int8.onnx", boot)]
    if tamper is _edit_class_names:  # every command that runs a model verifies the same way
        commands += [("evaluate", folder / "model_int8.onnx"), ("bench", folder / "model_int8.onnx"),
                     ("web", folder, "--out", tmp_path / "page"),
                     ("score", folder / "model_int8.onnx", boot.parent, "--out", tmp_path / "s.parquet")]
    for command in commands:
        result = edgeport(*command, "--trust", keys / "ours.pub.pem", check=False)
        assert result.returncode == 1, command
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"edgeport {command[0]}: error: {folder} ") and message in line, line
    assert not (tmp_path / "page").exists() and not (tmp_path / "s.parquet").exists()


def test_without_trust_an_edited_manifest_is_believed_which_is_what_trust_is_for(signed, boot, tmp_path):
    folder = _copy(signed, tmp_path / "export")
    _edit_class_names(folder)
    answer = edgeport("predict", folder / "model_int8.onnx", boot)
    assert ": T-shirt/top (" in answer.stdout  # an ankle boot, labelled by the edited manifest


def test_an_unlisted_model_file_and_the_wrong_key_are_refused(signed, keys, boot, tmp_path):
    folder = _copy(signed, tmp_path / "export")
    shutil.copy(folder / "model_int8.onnx", folder / "extra.onnx")
    result = edgeport("predict", folder / "extra.onnx", boot, "--trust", keys / "ours.pub.pem", check=False)
    assert result.returncode == 1 and result.stderr.strip() == (
        f"edgeport predict: error: extra.onnx is not listed in the signed manifest.json of {folder}: refused")
    wrong = edgeport("predict", folder / "model_int8.onnx", boot, "--trust", keys / "theirs.pub.pem", check=False)
    assert wrong.returncode == 1 and len(wrong.stderr.strip().splitlines()) == 1
    assert f"{folder} does not match its signature" in wrong.stderr


def test_a_base_install_says_what_verifying_needs(signed, keys, boot, tmp_path):
    from tests.conftest import ENV

    blocked = tmp_path / "blocked"
    (blocked / "model_signing").mkdir(parents=True)
    (blocked / "model_signing" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'model_signing'\", name='model_signing')\n")
    result = run_cli("predict", signed / "model_int8.onnx", boot, "--trust", keys / "ours.pub.pem", check=False,
                     env=ENV | {"PYTHONPATH": str(blocked)})
    assert result.returncode == 1 and result.stderr.strip() == (
        "edgeport predict: error: signing and verifying exports needs model signing: pip install 'edgeport[sign]'")
