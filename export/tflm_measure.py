"""TFLM's arena for a .tflite file, measured in a child process: `python -I tflm_measure.py FILE STEP LARGE`.

export/micro.py runs this script in isolated mode (nothing from the working folder is imported). It
imports numpy and TFLM only. Each arena is tried in a forked child, so an arena that crashes TFLM
ends that child alone. It prints one JSON object: whether the file runs, the smallest arena found by
bisection to STEP bytes, and TFLM's allocation record at LARGE bytes.
"""

import json, os, re, sys, tempfile
import numpy as np
from tflite_micro.python.tflite_micro import runtime as tflm

path, step, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, "rb").read()

def attempt(size, report=False):
    log = tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        code = 1
        try:
            engine = tflm.Interpreter.from_bytes(data, arena_size=size)
            details = engine.get_input_details(0)
            engine.set_input(np.zeros(details["shape"], details["dtype"]), 0)
            engine.invoke()
            if report:
                engine.print_allocations()
            code = 0
        except BaseException as e:
            print(f"{type(e).__name__}: {e}")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    log.seek(0)
    return os.waitstatus_to_exitcode(status), log.read().decode("utf-8", "replace")

code, text = attempt(large, report=True)
if code != 0:
    print(json.dumps({"runs": False, "code": code, "text": text[-2000:]}))
    sys.exit(0)
total = int(re.search(r"Arena allocation total (\d+) bytes", text).group(1))
arena = {"total": total}
for key in ("head", "tail"):
    arena[key] = int(re.search(r"Arena allocation %s (\d+) bytes" % key, text).group(1))
for kind, used in re.findall(r"'([^']+)' used (\d+) bytes", text):
    arena[kind] = int(used)
low, high = 0, -(-total // step) * step
while attempt(high)[0] != 0:
    low, high = high, 2 * high
while high - low > step:
    middle = (low + high) // 2 // step * step
    if attempt(middle)[0] == 0:
        high = middle
    else:
        low = middle
print(json.dumps({"runs": True, "arena_bytes": high, "arena": arena}))
