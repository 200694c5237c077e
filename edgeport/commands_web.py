"""web: write a self-contained page that runs an ONNX file in the browser, and serve it on loopback."""

from __future__ import annotations

from pathlib import Path

from edgeport.command import add_command, add_trust, check_trust_flags, quiet_stderr, say


def register(commands) -> None:
    """Add `edgeport web` to the parser."""
    web = add_command(
        commands, "web", run_web, "write a web page that runs an ONNX file in the browser",
        "Write a self-contained static page (index.html, its script, onnxruntime-web's WebAssembly engine and "
        "the model) that classifies pictures dropped, picked or drawn on it, with the same preprocessing and "
        "picture rules as 'edgeport predict', read from the model file's metadata. Nothing is fetched from "
        "outside the folder. Browsers do not run WebAssembly from file:// pages: serve the folder, for "
        "instance with --serve. Scripts can call window.edgeport.predict(pixels, count).",
        "edgeport web artifacts/model_int8.onnx --out artifacts/web",
        "edgeport web artifacts --out artifacts/web --serve")
    web.add_argument("model", help="an .onnx file, or an export folder (its recommended ONNX file)")
    web.add_argument("--out", default=None, help="the page's folder (default: 'web' beside the model)")
    web.add_argument("--serve", action="store_true", help="then serve the folder on 127.0.0.1 until Ctrl-C")
    web.add_argument("--port", type=port_number, default=8000, help="with --serve: the port (0: any free one)")
    web.add_argument("--no-verify", action="store_true", help="skip the sha256 check against manifest.json")
    add_trust(web)


def port_number(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535; got {text!r}")
    return value


def run_web(args) -> int:
    from edgeport.web import choose_model, serve, wire_bytes, write_page

    check_trust_flags(args)
    if args.trust is not None:  # the page gets the bytes the signature covers, chosen by the signed manifest
        from edgeport.signing import open_trusted

        trusted = open_trusted(args.model, args.trust, keep=lambda manifest: [choose_model(args.model, manifest).name])
        model = choose_model(args.model, trusted.manifest)
        with quiet_stderr():
            source = trusted.load(model.name)
    else:
        model = source = choose_model(args.model)  # an export folder's manifest is read once, here
    out = Path(args.out) if args.out else model.parent / "web"
    index = write_page(source, out, verify=not args.no_verify)
    wire, stored = wire_bytes(out)
    say(f"Wrote {out}/ for {model.name} ({stored / 1e6:.1f} MB; "
        + (f"{wire / 1e6:.2f} MB on the wire, its .br copies served with Content-Encoding: br)" if wire < stored
           else "no brotli copies: pip install 'edgeport[web]' for them)"))
    if not args.serve:
        say(f"Open it through a web server, e.g. 'edgeport web {args.model} --out {out} --serve'")
        return 0
    server = serve(index.parent, args.port)
    host, port = server.server_address[:2]
    say(f"Serving {out}/ at http://{host}:{port}/ (Ctrl-C stops)")
    try:
        server.serve_forever()  # Ctrl-C, SIGTERM and SIGHUP end it as they end any command (130, 143, 129)
    finally:
        server.server_close()
    return 0
