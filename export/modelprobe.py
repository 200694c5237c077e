"""A user's SavedModel loaded and called once in a child process that cannot write outside its scratch folder.

`python -I modelprobe.py MODEL SCRATCH [--trust-model-code]`: export/loading.py runs this script in
isolated mode before it loads a SavedModel itself. The child first denies itself every file-system
write outside SCRATCH (Landlock, export/sandbox.py), then lets TensorFlow load the model and calls
its serving signature once on a zero picture. The parent bounds its time and memory and kills it on
a stop signal. A model that writes, deletes, loops forever or allocates without end thus fails
here, in one line, before any of it runs in the exporting process.

It prints one JSON object on its last line: {"ok": true, "landlock": ABI} or {"ok": false,
"landlock": ABI, "error": "..."}.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    path, scratch = argv[0], argv[1]
    trust_code = "--trust-model-code" in argv[2:]
    from edgeport.export.sandbox import restrict_writes

    landlock = restrict_writes(scratch)
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    try:
        _load_and_call(path, trust_code)
    except Exception as e:  # whatever TensorFlow raised: the parent says it in one line
        cause = e.__cause__ or e
        print(json.dumps({"ok": False, "landlock": landlock, "error": f"{type(cause).__name__}: {_gist(cause)}"}))
        return 0
    print(json.dumps({"ok": True, "landlock": landlock}))
    return 0


def _load_and_call(path: str, trust_code: bool) -> None:
    from pathlib import Path

    import numpy as np

    from edgeport.export.loading import open_savedmodel

    layer, spec = open_savedmodel(Path(path), trust_code)
    shape = [32 if size is None else size for size in spec.shape]  # an open size: any picture it takes
    shape[0] = 1
    layer(np.zeros(shape, np.float32))


def _gist(error: BaseException) -> str:
    """An error's own words in one line, without the Python frames TensorFlow quotes in a graph error."""
    lines = [line.strip() for line in str(error).splitlines()]
    lines = [line for line in lines if line and not line.startswith(("File ", "Detected at", "Graph execution"))]
    return " ".join(" ".join(lines[-2:]).split())[:300]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
