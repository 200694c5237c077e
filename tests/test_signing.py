"""Signed exports: whoever can write the folder no longer decides what a device believes, when it asks.

Real EC P-256 keys made here, real model-signing, real commands.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from tests.conftest import dress_model, edgeport, run_cli


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
    assert wrong.returncode == 1 and wrong.stderr.strip() == (
        f"edgeport predict: error: {folder} does not match its signature (signed with another key): refused")
    # The bundle names its key by a digest: made to name theirs, the signature itself must still verify with it.
    from cryptography.hazmat.primitives import serialization

    from edgeport.signing import key_digest

    theirs = serialization.load_pem_public_key((keys / "theirs.pub.pem").read_bytes())
    bundle = json.loads((folder / "model.sig").read_text())
    bundle["verificationMaterial"]["publicKey"]["hint"] = key_digest(theirs)
    (folder / "model.sig").write_text(json.dumps(bundle))
    forged = edgeport("predict", folder / "model_int8.onnx", boot, "--trust", keys / "theirs.pub.pem", check=False)
    assert forged.returncode == 1 and forged.stderr.strip() == (
        f"edgeport predict: error: {folder} does not match its signature (the signature does not verify with this "
        f"key): refused")


def test_a_base_install_says_what_verifying_needs(signed, keys, boot, tmp_path):
    from tests.conftest import ENV

    blocked = tmp_path / "blocked"
    (blocked / "model_signing").mkdir(parents=True)
    (blocked / "model_signing" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'model_signing'\", name='model_signing')\n")
    result = run_cli("predict", signed / "model_int8.onnx", boot, "--trust", keys / "ours.pub.pem", check=False,
                     env=ENV | {"PYTHONPATH": str(blocked)})
    # A missing extra is a usage error (exit 2), as for every other extra.
    assert result.returncode == 2 and result.stderr.strip() == (
        "edgeport predict: error: signing and verifying exports needs model signing: pip install 'edgeport[sign]'")


# --- the bytes that ran: no journal, no staging folder, no second read ---------------------------


def _plant_publish(folder, model_name="model_int8.onnx"):
    """What an attacker with write access plants: a publish journal naming a staging folder that holds a
    manifest and a model of their own, consistent with each other (sha256 and all)."""
    from edgeport.runtime.manifest import sha256_file

    staging = folder / ".export-evil"
    staging.mkdir()
    dress_model(staging / model_name)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][model_name]["sha256"] = sha256_file(staging / model_name)
    manifest["files"][model_name]["bytes"] = (staging / model_name).stat().st_size
    (staging / "manifest.json").write_text(json.dumps(manifest))
    (folder / ".edgeport-publish.json").write_text(json.dumps({"staging": staging.name,
                                                               "files": [model_name, "manifest.json"]}))


def test_a_planted_publish_journal_is_never_followed_with_trust(signed, keys, boot, tmp_path):
    folder = _copy(signed, tmp_path / "export")
    _plant_publish(folder)
    # Without --trust the journal is followed, as after a killed export: the plant is live.
    assert ": Dress (100.0 %)" in edgeport("predict", folder / "model_int8.onnx", boot).stdout
    trust = ("--trust", keys / "ours.pub.pem")
    interrupted = f"{folder}: an export was interrupted here (its files are half moved in); run export again"
    commands = [("predict", folder / "model_int8.onnx", boot), ("evaluate", folder / "model_int8.onnx"),
                ("bench", folder / "model_int8.onnx"), ("web", folder, "--out", tmp_path / "page"),
                ("score", folder / "model_int8.onnx", boot.parent, "--out", tmp_path / "s.parquet"),
                ("verify", folder)]
    for command in commands:
        result = edgeport(*command, *trust, check=False)
        assert result.returncode == 1 and result.stderr.strip() == f"edgeport {command[0]}: error: {interrupted}", \
            (command, result.stderr)
    assert not (tmp_path / "page").exists() and not (tmp_path / "s.parquet").exists()


def test_with_trust_only_files_the_signed_manifest_lists_run(signed, keys, boot, tmp_path):
    folder = _copy(signed, tmp_path / "export")
    dress_model(folder / "model_evil.onnx")  # beside the signed files, unlisted
    result = edgeport("predict", folder / "model_evil.onnx", boot, "--trust", keys / "ours.pub.pem", check=False)
    assert result.returncode == 1 and result.stderr.strip() == (
        f"edgeport predict: error: model_evil.onnx is not listed in the signed manifest.json of {folder}: refused")


def test_trusted_bytes_are_the_bytes_that_run_even_if_the_file_is_swapped_after_the_check(signed, keys, boot,
                                                                                          tmp_path):
    from edgeport.signing import open_trusted
    from edgeport.web import write_page

    folder = _copy(signed, tmp_path / "export")
    trusted = open_trusted(folder / "model_int8.onnx", keys / "ours.pub.pem")
    original = (folder / "model_int8.onnx").read_bytes()
    os_replace_with_dress(folder / "model_int8.onnx", tmp_path)  # after the check, before the engine starts
    predictor = trusted.load("model_int8.onnx")
    ankle_boot = np.asarray(Image.open(boot))
    assert predictor.predict_one(ankle_boot).class_name == "Ankle boot"
    page = write_page(predictor, tmp_path / "page").parent
    assert (page / "model_int8.onnx").read_bytes() == original  # the page ships the verified bytes too


def os_replace_with_dress(path, scratch):
    import os

    os.replace(dress_model(scratch / "swap.onnx"), path)


# --- keys, flags and the signature file ------------------------------------------------------


@pytest.fixture(scope="module")
def other_keys(keys):
    """Keys model signing does not take: RSA, Ed25519, EC on secp256k1; and a password-protected EC key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    made = {"rsa": rsa.generate_private_key(65537, 2048), "ed25519": ed25519.Ed25519PrivateKey.generate(),
            "k1": ec.generate_private_key(ec.SECP256K1())}
    for name, key in made.items():
        (keys / f"{name}.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (keys / f"{name}.pub.pem").write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    (keys / "locked.pem").write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")))
    return keys


SUPPORTED = "model signing takes an elliptic-curve key on P-256, P-384 or P-521 in PEM"


@pytest.mark.parametrize("key, message", [
    ("rsa.pem", "rsa.pem is an RSA key: " + SUPPORTED),
    ("ed25519.pem", "ed25519.pem is an Ed25519 key: " + SUPPORTED),
    ("k1.pem", "k1.pem is an elliptic-curve key on secp256k1: " + SUPPORTED),
    ("locked.pem", "locked.pem is an encrypted private key: --sign takes an unencrypted one"),
    ("ours.pub.pem", "ours.pub.pem is a public key, and --sign takes the private key"),
])
def test_export_refuses_a_key_that_cannot_sign_before_any_work(signed, other_keys, key, message, tmp_path):
    folder = _copy(signed, tmp_path / "export")
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    result = edgeport("export", folder / "model.keras", "--out", folder, "--formats", "fp32", "--sign",
                      other_keys / key, check=False)
    (line,) = result.stderr.strip().splitlines()
    assert result.returncode == 1 and line.startswith(f"edgeport export: error: {other_keys / key}") \
        and message in line, line
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before  # model.sig kept, nothing new


@pytest.mark.parametrize("key, message", [
    ("rsa.pub.pem", "rsa.pub.pem is an RSA key: " + SUPPORTED),
    ("ed25519.pub.pem", "ed25519.pub.pem is an Ed25519 key: " + SUPPORTED),
    ("ours.pem", "ours.pem is a private key, and --trust takes the public key"),
])
def test_trust_refuses_a_key_it_cannot_verify_with_in_one_line(signed, other_keys, boot, key, message):
    for command in (("predict", signed / "model_int8.onnx", boot), ("verify", signed)):
        result = edgeport(*command, "--trust", other_keys / key, check=False)
        (line,) = result.stderr.strip().splitlines()
        assert result.returncode == 1 and message in line, line


def test_no_verify_never_widens_what_trust_runs(signed, keys, boot, tmp_path):
    from edgeport.signing import sign_export

    result = edgeport("predict", signed / "model_int8.onnx", boot, "--trust", keys / "ours.pub.pem", "--no-verify",
                      check=False)
    assert result.returncode == 2 and result.stderr.strip() == ("edgeport predict: error: --no-verify cannot be "
                                                                "combined with --trust: a trusted export is always verified")
    # A phone copy that failed is in the manifest with its error, and is not signed: it never runs with --trust.
    folder = _copy(signed, tmp_path / "export")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["mobile"]["model_fp32.mobile.ort"] = {"source": "model_fp32.tflite", "source_sha256": "0" * 64,
                                                  "error": "could not convert"}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    shutil.copy(folder / "model_int8.mobile.ort", folder / "model_fp32.mobile.ort")
    sign_export(folder, keys / "ours.pem")
    failed = edgeport("predict", folder / "model_fp32.mobile.ort", boot, "--trust", keys / "ours.pub.pem", check=False)
    assert failed.returncode == 1 and "model_fp32.mobile.ort is not listed in the signed manifest.json" in failed.stderr
    assert "--no-verify" not in failed.stderr


def test_an_oversized_signature_is_refused_unread(signed, keys, boot, tmp_path):
    folder = _copy(signed, tmp_path / "export")
    real = json.loads((folder / "model.sig").read_text())
    real["padding"] = "x" * (2 << 20)  # valid JSON, 2 MiB: a real signature is a few KB
    (folder / "model.sig").write_text(json.dumps(real))
    result = edgeport("predict", folder / "model_int8.onnx", boot, "--trust", keys / "ours.pub.pem", check=False)
    assert result.returncode == 1 and result.stderr.strip() == (
        f"edgeport predict: error: {folder / 'model.sig'} is over 1 MiB, and a real signature is a few KB: refused")


def test_verify_says_what_is_signed_by_which_key_and_what_is_not_covered(signed, keys, tmp_path):
    import hashlib

    from cryptography.hazmat.primitives import serialization

    folder = _copy(signed, tmp_path / "export")
    (folder / "notes.md").write_text("added later")
    (folder / "web").mkdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {"manifest.json", *manifest["files"], *manifest["mobile"], "reference_probs.npy"}
    public = serialization.load_pem_public_key((keys / "ours.pub.pem").read_bytes())
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    fingerprint = hashlib.sha256(pem).hexdigest()

    report = json.loads(edgeport("verify", folder, "--trust", keys / "ours.pub.pem", "--json").stdout)
    assert set(report["signed"]) == listed
    assert all(report["signed"][n] == hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in listed)
    assert report["signer"] == f"EC P-256 key, sha256:{fingerprint}"
    assert set(report["not_covered"]) >= {"notes.md", "web/", "model.keras"} and not set(report["not_covered"]) & listed
    text = edgeport("verify", folder, "--trust", keys / "ours.pub.pem").stdout
    assert f"signed by the EC P-256 key, sha256:{fingerprint}" in text and "rollback" in text

    _flip_a_byte(folder)
    broken = edgeport("verify", folder, "--trust", keys / "ours.pub.pem", check=False)
    assert broken.returncode == 1 and broken.stderr.strip() == (
        f"edgeport verify: error: {folder} does not match its signature (changed: model_int8.onnx): refused")


def test_a_swapped_in_sparse_giant_and_a_fifo_are_refused_unread(signed, keys, boot, tmp_path):
    """A 10 GB sparse file in place of a signed model was read whole (MemoryError at 5.6 GB); a FIFO in place of
    a signed file, or given as the key, hung verify and predict forever."""
    import threading

    from tests.conftest import EDGEPORT, with_peak

    folder = _copy(signed, tmp_path / "export")
    with open(folder / "model_int8.onnx", "r+b") as f:
        f.truncate(10 * 2**30)
    peak, result = with_peak(EDGEPORT, "predict", folder / "model_int8.onnx", boot, "--trust", keys / "ours.pub.pem")
    assert result.returncode == 1 and result.stderr.strip() == (
        f"edgeport predict: error: {folder} does not match its signature (changed: model_int8.onnx): refused")
    assert peak < 500, f"peak {peak:.0f} MiB"
    fifo_folder = _copy(signed, tmp_path / "fifo")
    (fifo_folder / "model_fp32.tflite").unlink()
    os.mkfifo(fifo_folder / "model_fp32.tflite")
    os.mkfifo(tmp_path / "key.pem")
    results = {}

    def run(name, *args):
        results[name] = subprocess.run([EDGEPORT, *map(str, args)], capture_output=True, text=True, timeout=60,
                                       stdin=subprocess.DEVNULL)

    threads = [threading.Thread(target=run, args=("verify", "verify", fifo_folder, "--trust", keys / "ours.pub.pem")),
               threading.Thread(target=run, args=("key", "predict", folder / "model_int8.onnx", boot, "--trust",
                                                  tmp_path / "key.pem"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results["verify"].returncode == 1 and results["verify"].stderr.strip() == (
        f"edgeport verify: error: {fifo_folder} does not match its signature (changed: model_fp32.tflite (not a "
        f"regular file)): refused")
    assert results["key"].returncode == 1 and "not a regular file" in results["key"].stderr
