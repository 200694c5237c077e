"""`score` on a Ray cluster: the same rows as runtime.score, read, decoded and predicted by Ray Data actors.

The driver opens the source (an index: file names, array headers, Parquet metadata) and cuts it
into pieces. Ray Data hands the pieces to an actor pool through `map_batches`; each actor loads
the model once, with its sha256 checked, then reads, decodes and predicts its pieces and
returns rows built by runtime.score.rows_table. The driver appends the rows to the Parquet file
in order. Ray is imported here only, inside the functions: a device install never needs it.

On a real cluster every node must see the data path (a shared file system or a mount); the
model file travels with the job, so it need not be on the nodes.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from pathlib import Path

from edgeport.runtime.errors import MissingRayError, ScaleError
from edgeport.runtime.score import (
    DEFAULT_CHUNK,
    Tally,
    check_options,
    check_out,
    default_top,
    parquet_writer,
    scoring_stream,
)

LOCAL = "local"


def score_on_ray(model, data, out, address: str = LOCAL, batch_size: int = DEFAULT_CHUNK, top: int | None = None,
                 actors: int | None = None, num_cpus: int | None = None, verify: bool = True,
                 verbose: bool = False) -> dict:
    """runtime.score's job on Ray Data, with an actor pool where each actor loads the model once.

    Args:
        model: a Predictor, or a .tflite or .onnx path (runtime.load with verify); its bytes and manifest entry
            (sha256, class names) travel to the actors.
        data, out, batch_size, top: as runtime.score.
        address: "local" starts a cluster on this machine (num_cpus, default all cores); else the
            address of a running cluster ("ray://host:10001", "host:6379" or "auto").
        actors: the pool size (default: the cluster's CPUs).
        verbose: let Ray's start-up and progress lines through.

    Returns:
        runtime.score's summary, plus "ray": address, nodes, cpus, actors and the session folder.

    Raises:
        ScaleError: Ray is not installed or the cluster cannot be reached. DataError, ValueError
        and FileNotFoundError as runtime.score.
    """
    from edgeport.runtime.predictor import Predictor, load

    # A bad file is refused here, before any cluster starts; the actors run the very bytes checked here.
    predictor = model if isinstance(model, Predictor) else load(model, verify=verify)
    top = default_top(top, predictor.num_classes)
    check_options(batch_size, top, predictor.num_classes)
    out = check_out(out, (data, predictor.path))
    if actors is not None and (not isinstance(actors, int) or actors < 1):
        raise ValueError(f"actors must be a positive whole number; got {actors!r}")
    kind, stream, has_labels = scoring_stream(data, predictor)
    file = predictor.file
    ray = _start(address, num_cpus, verbose)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        pool = actors or max(1, cpus)
        pieces = list(stream.pieces(batch_size))
        # Pieces travel pickled: small descriptions (paths, row ranges, row groups), never pixels.
        dataset = ray.data.from_items([{"piece": pickle.dumps(piece)} for piece in pieces],
                                      override_num_blocks=len(pieces))
        scored = dataset.map_batches(
            _Scorer, batch_size=1, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=pool),
            fn_constructor_kwargs={
                "name": file.path.name, "content": ray.put(file.content), "entry": file.entry, "verified": file.verified,
                "batch_size": batch_size, "top": top, "has_paths": stream.has_paths, "has_labels": has_labels,
            },
        )
        tally = Tally()
        with parquet_writer(out, stream.has_paths, has_labels) as write:
            for table in scored.iter_batches(batch_format="pyarrow", batch_size=None):
                if table.num_rows:
                    write(table)
                    tally.add(table)
        facts = {"address": address, "gcs_address": ray.get_runtime_context().gcs_address, "cpus": cpus,
                 "authentication": "token" if os.environ.get(AUTH_MODE_VARIABLE, "").lower() == "token" else "none",
                 "nodes": len([n for n in ray.nodes() if n.get("Alive")]), "actors": pool, "pieces": len(pieces)}
    finally:
        ray.shutdown()
    return tally.summary(out=str(out), model=str(predictor.path), chunks=tally.chunks, batch_size=batch_size,
                         source=kind, split=stream.split, ray=facts)


def _start(address: str, num_cpus: int | None, verbose: bool):
    try:
        import ray
        import ray.data
    except ImportError:
        raise MissingRayError("--ray needs Ray Data", "scale") from None
    level = logging.INFO if verbose else logging.ERROR
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(level)
    os.environ.setdefault("RAY_DEDUP_LOGS", "0" if verbose else "1")
    options = {"logging_level": level, "log_to_driver": verbose, "include_dashboard": False,
               "configure_logging": True}
    token = None if address == LOCAL else _use_cluster_token()
    try:
        # Ray puts the driver's working folder first on every worker's import path, unless the job has a
        # working_dir: an empty one keeps a json.py or a package beside the user's data out of the actors.
        with tempfile.TemporaryDirectory(prefix="edgeport-ray-") as empty:
            options["runtime_env"] = {"working_dir": empty}
            if address == LOCAL:
                ray.init(num_cpus=num_cpus or os.cpu_count(), **options)
            else:
                ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as e:
        if _refused_for_authentication(e):
            raise ScaleError(_authentication_failed(address, token)) from e
        raise ScaleError(f"cannot reach the Ray cluster at {address}: {' '.join(str(e).split())}") from e
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = verbose
    context.execution_options.preserve_order = True  # rows come back in the source's order
    return ray


# Where Ray looks for a cluster's token, in its own order (docs.ray.io, "Ray token authentication").
TOKEN_VARIABLE, TOKEN_PATH_VARIABLE, AUTH_MODE_VARIABLE = "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_AUTH_MODE"
DEFAULT_TOKEN_FILE = Path("~/.ray/auth_token")


def token_source() -> str | None:
    """Where Ray would read this user's token from: $RAY_AUTH_TOKEN, the file $RAY_AUTH_TOKEN_PATH names, or
    ~/.ray/auth_token (written by `ray start` and `ray get-auth-token --generate`); None when there is none."""
    if os.environ.get(TOKEN_VARIABLE):
        return f"${TOKEN_VARIABLE}"
    if os.environ.get(TOKEN_PATH_VARIABLE):
        return os.environ[TOKEN_PATH_VARIABLE]
    if DEFAULT_TOKEN_FILE.expanduser().is_file():
        return str(DEFAULT_TOKEN_FILE)
    return None


def _use_cluster_token() -> str | None:
    """Join a cluster with the token Ray already keeps, as `ray start` does.

    `ray start --head` turns token authentication on when a token exists (Ray 2.59 and later) and
    leaves it off otherwise, but a driver joining with ray.init(address=...) does so only when
    RAY_AUTH_MODE=token is set. With RAY_AUTH_MODE unset and a token at hand, this process turns it
    on the way `ray start` does. An explicit RAY_AUTH_MODE is left as it is.

    Returns:
        Where the token comes from, when authentication is on; else None.
    """
    source = token_source()
    if os.environ.get(AUTH_MODE_VARIABLE) is None and source is not None:
        from edgeport.ray_adapter import enable_token_auth

        enable_token_auth(AUTH_MODE_VARIABLE)
    return source if os.environ.get(AUTH_MODE_VARIABLE, "").lower() == "token" else None


def _refused_for_authentication(error: BaseException) -> bool:
    """Whether ray.init failed because the cluster refused this process's token (or its lack of one).

    Ray raises its AuthenticationError for some refusals; a refused connection to a token-authenticated cluster
    (Ray 2.x, as pinned) reaches the caller only as a connection failure whose cause quotes gRPC's status, so its
    words are the one signal there (measured: no typed error or status code along the chain).
    """
    from ray.exceptions import AuthenticationError

    while error is not None:
        if isinstance(error, AuthenticationError) or any(
                word in str(error) for word in ("InvalidAuthToken", "Unauthenticated")):
            return True
        error = error.__cause__ or error.__context__
    return False


def _authentication_failed(address: str, token: str | None) -> str:
    where = f"set {TOKEN_VARIABLE} or {TOKEN_PATH_VARIABLE}, or copy the cluster's token to {DEFAULT_TOKEN_FILE}"
    if token is None:
        return (f"the Ray cluster at {address} requires token authentication and no token was found: "
                f"run `ray get-auth-token` on its head node, then {where}")
    return f"the Ray cluster at {address} refused the authentication token from {token}: {where}"


class _Scorer:
    """A Ray Data actor: loads the model once (sha256 checked), then reads, decodes and predicts pieces."""

    def __init__(self, name, content, entry, verified, batch_size, top, has_paths, has_labels):
        import ray

        from edgeport.runtime.errors import IntegrityError
        from edgeport.runtime.manifest import sha256_bytes
        from edgeport.runtime.predictor import ModelFile, from_file

        # The driver's bytes, checked again here against the manifest entry that travels with them, so that
        # the actor runs exactly what the driver checked, with the class names of the machine that exported it.
        content = ray.get(content) if isinstance(content, ray.ObjectRef) else content
        if verified and entry is not None and sha256_bytes(content) != entry.sha256:
            raise IntegrityError(Path(name), sha256_bytes(content), entry.sha256)
        self._predictor = from_file(ModelFile(Path(name), content, entry, None, verified))
        from edgeport.runtime.score import Job

        self._job = Job(batch_size, top, has_paths, has_labels)

    def __call__(self, batch):
        import pyarrow as pa

        from edgeport.runtime.score import output_schema, rows_table, score_piece

        job = self._job
        predictor = self._predictor
        tables = []
        for piece in map(pickle.loads, batch.column("piece").to_pylist()):
            for chunk, probabilities in score_piece(predictor, piece, job):
                tables.append(rows_table(chunk, probabilities, predictor.class_names, job.top, job.has_paths,
                                         job.has_labels))
        return pa.concat_tables(tables) if tables else output_schema(job.has_paths, job.has_labels).empty_table()
