"""`edgeport web`: a self-contained page that runs an exported ONNX file in the browser.

The page folder holds everything it loads: index.html, its script and style, onnxruntime-web's
WebAssembly engine (copied from the npm package at set-up time, never from a CDN) and the model
file. The script (webpage/edgeport.js) reads class names, preprocessing, output kind and
background from the model file's own metadata and applies runtime/images.py's picture rules,
so a picture gets the answer `edgeport predict` gives. numpy-free: this module only copies
files and serves them.
"""

from __future__ import annotations

import functools
import html
import json
import os
import shutil
import socket
import sys
import tempfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from edgeport import __version__
from edgeport.runtime.errors import WebError
from edgeport.runtime.manifest import WEB_MARKER as MARKER  # marks a folder this command wrote

ORT_WEB_VERSION = "1.30.0"
ORT_WEB_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
ORT_WEB_ENV = "EDGEPORT_ORT_WEB"  # a folder holding ORT_WEB_FILES, instead of the one set-up fills
ASSETS = Path(__file__).with_name("webpage")
PAGE_FILES = ("edgeport.js", "page.js", "edgeport.css")
# Each page file over a kilobyte gets a brotli copy (NAME.br) that a server sends to browsers that accept it
# (every current one, over HTTPS and on localhost): onnxruntime-web's 14.2 MB engine is 2.69 MB at quality 9
# (1.3 s; gzip -9 gives 3.65 MB, quality 11 2.36 MB in 26 s).
BROTLI_QUALITY, PRECOMPRESS_MIN_BYTES = 9, 1024
PRECOMPRESSED = (".html", ".js", ".mjs", ".css", ".wasm", ".onnx")
LOOPBACK = "127.0.0.1"


def ort_web_dir() -> Path:
    """The folder with onnxruntime-web's engine files: $EDGEPORT_ORT_WEB, else the one `make setup` fills.

    Raises:
        WebError: the files are missing, or they are another version than the one tested.
    """
    folder = Path(os.environ.get(ORT_WEB_ENV) or ASSETS / "ort")
    missing = [name for name in ORT_WEB_FILES if not (folder / name).is_file()]
    if missing:
        raise WebError(f"onnxruntime-web {ORT_WEB_VERSION} is not in {folder} (missing {', '.join(missing)}): run "
                       f"'make setup', which fetches it with npm, or set {ORT_WEB_ENV} to the 'dist' folder of the npm "
                       f"package onnxruntime-web@{ORT_WEB_VERSION}")
    for package in (folder / "package.json", folder.parent / "package.json"):
        if package.is_file():
            version = json.loads(package.read_text(encoding="utf-8")).get("version")
            if version != ORT_WEB_VERSION:
                raise WebError(f"{folder} holds onnxruntime-web {version}; edgeport's page is tested with "
                               f"{ORT_WEB_VERSION}: point {ORT_WEB_ENV} at that version")
            break
    return folder


def choose_model(path: str | os.PathLike, manifest=None) -> Path:
    """An .onnx file as given, or for an export folder the ONNX file its manifest recommends.

    Args:
        path: an .onnx file or an export folder.
        manifest: the folder's manifest when the caller has read it already (a signed one); else it is read here.

    Raises:
        FileNotFoundError: no such file or folder. WebError: not an ONNX file, or a folder with
            no recommended ONNX file.
    """
    from edgeport import runtime

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file or export folder")
    if path.is_dir():
        manifest = manifest or runtime.read_manifest(path)
        chosen = manifest.recommended.onnx if manifest and manifest.recommended else None
        if not chosen:
            raise WebError(f"{path} has no recommended ONNX file in manifest.json: pass an .onnx file, or run "
                           f"'edgeport export' into it first")
        return path / chosen
    if path.suffix.lower() != ".onnx":
        raise WebError(f"the web page runs ONNX files; got {path.name}: pass an .onnx file that "
                       f"'edgeport export' wrote (model.onnx, model_int8.onnx, ...)")
    return path


def write_page(model: str | os.PathLike, out: str | os.PathLike, verify: bool = True) -> Path:
    """Write a self-contained page for model into out.

    Args:
        model: an .onnx file, an export folder (its recommended ONNX file), or a loaded ONNX Predictor (the page
            gets the very bytes it runs).
        out: the page's folder. It is written whole or not at all; an existing folder is replaced
            only when it is empty or was written by this function.
        verify: check the model's sha256 against manifest.json beside it (runtime.load's check).

    Returns:
        The path of index.html.

    Raises:
        FileNotFoundError / ValueError (WebError, IntegrityError): see choose_model, ort_web_dir
            and runtime.load; an out folder holding other things.
    """
    from edgeport import runtime
    from edgeport.runtime.manifest import sha256_bytes

    if isinstance(model, runtime.Predictor):
        predictor = model
        choose_model(predictor.path)  # an ONNX file, as for a path
    else:  # refuses a corrupt or tampered file before anything is written
        predictor = runtime.load(choose_model(model), verify=verify)
    path, content = predictor.path, predictor.file.content
    engine = ort_web_dir()
    out = Path(out)
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        digest = sha256_bytes(content)
        names = predictor.class_names
        title = f"{path.name}: {len(names)} classes ({', '.join(names[:3])}{', …' if len(names) > 3 else ''})"
        values = {"model": path.name, "sha256": digest, "short_sha256": digest[:12], "title": title,
                  "version": __version__, "ort_version": ORT_WEB_VERSION}
        page = (ASSETS / "index.html").read_text(encoding="utf-8")
        for key, value in values.items():
            page = page.replace("{" + key + "}", html.escape(str(value)))
        (staging / "index.html").write_text(page, encoding="utf-8")
        for name in PAGE_FILES:
            shutil.copyfile(ASSETS / name, staging / name)
        (staging / "ort").mkdir()
        for name in ORT_WEB_FILES:
            shutil.copyfile(engine / name, staging / "ort" / name)
        (staging / path.name).write_bytes(content)
        precompress(staging)
        written = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
        (staging / MARKER).write_text(json.dumps({"model": path.name, "sha256": digest, "files": written}) + "\n",
                                      encoding="utf-8")
        os.chmod(staging, 0o755)
        _replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / "index.html"


def precompress(folder: Path) -> bool:
    """Write NAME.br beside each page file over PRECOMPRESS_MIN_BYTES; False (nothing written) without the brotli
    package (pip install 'edgeport[web]'): the page works as well, only heavier on the wire. The engine's files
    (ort/) are the same on every page: their copies come from the user's cache after the first page."""
    try:
        import brotli
    except ImportError:
        return False
    for path in sorted(folder.rglob("*")):
        if path.suffix in PRECOMPRESSED and path.is_file() and path.stat().st_size > PRECOMPRESS_MIN_BYTES:
            data = path.read_bytes()
            packed = (_engine_brotli(data, brotli) if path.parent.name == "ort"
                      else brotli.compress(data, quality=BROTLI_QUALITY))
            path.with_name(path.name + ".br").write_bytes(packed)
    return True


def _engine_brotli(data: bytes, brotli) -> bytes:
    """data compressed at BROTLI_QUALITY, kept in the user's cache under its sha256 (1.3 s for the 14 MB wasm, each
    page, otherwise). A kept copy is used only when it decompresses to data exactly; an unwritable cache costs
    only the time."""
    from edgeport.runtime.files import user_cache, write_bytes_atomic
    from edgeport.runtime.manifest import sha256_bytes

    kept = user_cache("ort-web") / f"{sha256_bytes(data)}.q{BROTLI_QUALITY}.br"
    try:
        packed = kept.read_bytes()
        if brotli.decompress(packed) == data:
            return packed
    except (OSError, brotli.error):
        pass
    packed = brotli.compress(data, quality=BROTLI_QUALITY)
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(kept, packed)
    except OSError:
        pass
    return packed


def wire_bytes(folder: Path) -> tuple[int, int]:
    """(bytes a browser that accepts brotli downloads, bytes as stored) for the page's files."""
    files = [p for p in Path(folder).rglob("*") if p.is_file() and p.suffix != ".br" and p.name != MARKER]
    compressed = [p.with_name(p.name + ".br") for p in files]
    return (sum(c.stat().st_size if c.is_file() else p.stat().st_size for p, c in zip(files, compressed)),
            sum(p.stat().st_size for p in files))


def _check_replaceable(out: Path) -> None:
    """Refuse to replace a folder unless it is empty or holds nothing but a page this command wrote.

    Raises:
        WebError: out is a file, or holds an entry the page's marker does not list (named).
    """
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise WebError(f"{out} is not a folder: --out names the page's folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    written = _written_by_page(out) | {MARKER}
    for entry in sorted(out.rglob("*")):
        if entry.is_dir() and not entry.is_symlink():
            continue
        if entry.relative_to(out).as_posix() not in written:
            raise WebError(f"{entry} was not written by 'edgeport web', and {out} is replaced whole: move it out, "
                           f"or choose another --out")


def _written_by_page(out: Path) -> set[str]:
    """The files the page in out was written with, from its marker (none when there is no readable marker).

    Pages written before the marker listed its files hold the page's fixed files and the model it names.
    """
    try:
        marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(marker, dict):
        return set()
    if isinstance(marker.get("files"), list):
        return {name for name in marker["files"] if isinstance(name, str)}
    model = marker.get("model")
    return {"index.html", *PAGE_FILES, *(f"ort/{name}" for name in ORT_WEB_FILES),
            *([model] if isinstance(model, str) else [])}


def _replace(staging: Path, out: Path) -> None:
    """Put staging where out is, by renames: out is the old page or the new one, never half of each."""
    if not out.exists():
        os.replace(staging, out)
        return
    old = staging.with_name(staging.name + ".old")
    os.replace(out, old)
    try:
        os.replace(staging, out)
    except OSError:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


class PageHandler(SimpleHTTPRequestHandler):
    """Static files with the types a browser insists on for modules and WebAssembly; no request log."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript",
                      ".mjs": "text/javascript", ".wasm": "application/wasm", ".onnx": "application/octet-stream",
                      ".ort": "application/octet-stream"}

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass

    def send_head(self):
        """Only regular files whose real path stays inside the folder (a symlink planted in it to /etc/passwd is
        a 404), and no folder listings; a file's brotli copy (NAME.br) to a browser that accepts br."""
        path = self.translate_path(self.path)
        if os.path.isdir(path) and not os.path.islink(path.rstrip("/")):
            path = os.path.join(path, "index.html")
        root, real = os.path.realpath(self.directory), os.path.realpath(path)
        if os.path.commonpath([root, real]) != root or not os.path.isfile(real):
            self.send_error(404, "File not found")
            return None
        compressed = os.path.realpath(real + ".br")
        accepted = [part.split(";")[0].strip() for part in self.headers.get("Accept-Encoding", "").split(",")]
        if "br" in accepted and os.path.commonpath([root, compressed]) == root and os.path.isfile(compressed):
            stream = open(compressed, "rb")
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(real))
            self.send_header("Content-Encoding", "br")
            self.send_header("Content-Length", str(os.fstat(stream.fileno()).st_size))
            self.send_header("Vary", "Accept-Encoding")
            self.end_headers()
            return stream
        return super().send_head()


class PageServer(ThreadingHTTPServer):
    """A threading server that lets a browser cancel a download (a reset connection) without a traceback."""

    daemon_threads = True
    request_queue_size = socket.SOMAXCONN  # socketserver's default backlog of 5 drops connections under load

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):  # the browser closed the connection: nothing went wrong here
            return
        print(f"edgeport web: error serving {client_address[0]}: {error!r}", file=sys.stderr)


def serve(folder: str | os.PathLike, port: int = 8000, host: str = LOOPBACK) -> PageServer:
    """An HTTP server for folder on host:port (port 0: any free port); call serve_forever() on it.

    Raises:
        WebError: folder has no index.html. OSError: the port is taken (the message names it).
    """
    folder = Path(folder)
    if not (folder / "index.html").is_file():
        raise WebError(f"{folder} has no index.html: write the page first (edgeport web MODEL --out {folder})")
    handler = functools.partial(PageHandler, directory=str(folder))
    try:
        return PageServer((host, port), handler)
    except OSError as e:
        raise OSError(e.errno, f"cannot serve on {host}:{port}: {e.strerror} (pass another --port)") from e
