"""Landlock: deny a process every file-system write outside one folder (Linux 5.13 and later).

The model probe (export/modelprobe.py) calls restrict_writes on itself before TensorFlow loads a
user's SavedModel, so whatever the model's operations try, they can create, write, truncate,
rename or remove nothing but files in the probe's scratch folder (and write /dev/null). Reading
stays allowed. The rule binds the process and every child it starts, and cannot be lifted.

Written against the kernel's own interface (linux/landlock.h, ABI versions 1 to 6) with ctypes:
three system calls and two structures, no package.
"""

from __future__ import annotations

import ctypes
import os
import platform
from pathlib import Path

# System call numbers: the generic table's (x86-64 and arm64 share them).
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# LANDLOCK_ACCESS_FS_* bits (linux/landlock.h).
WRITE_FILE, REMOVE_DIR, REMOVE_FILE = 1 << 1, 1 << 4, 1 << 5
MAKE_CHAR, MAKE_DIR, MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = (1 << n for n in range(6, 13))
REFER, TRUNCATE = 1 << 13, 1 << 14  # ABI 2 and ABI 3
_WRITES_V1 = (WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG | MAKE_SOCK | MAKE_FIFO
              | MAKE_BLOCK | MAKE_SYM)
_FILE_RIGHTS = WRITE_FILE | TRUNCATE  # the write rights a rule on a file (not a folder) may grant


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 where there is none (another system, an older kernel, or
    Landlock left out of the kernel's boot options)."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "aarch64"):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(0, version)


def restrict_writes(folder: str | os.PathLike) -> int:
    """Deny this process, and every process it starts, any file-system write outside folder.

    Args:
        folder: the one folder (with everything beneath it) that may still be written; /dev/null may too.

    Returns:
        The Landlock ABI version enforcing it; 0 when the kernel has no Landlock (nothing is restricted:
        the caller says so).

    Raises:
        OSError: Landlock is there but refused the rules.
    """
    version = abi_version()
    if version == 0:
        return 0
    writes = _WRITES_V1 | (REFER if version >= 2 else 0) | (TRUNCATE if version >= 3 else 0)
    libc = ctypes.CDLL(None, use_errno=True)
    attr = _RulesetAttr(writes)
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                           ctypes.c_uint32(0))
    if ruleset < 0:
        _fail("landlock_create_ruleset")
    try:
        _allow(libc, ruleset, Path(folder), writes)
        _allow(libc, ruleset, Path(os.devnull), writes & _FILE_RIGHTS)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            _fail("prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            _fail("landlock_restrict_self")
    finally:
        os.close(ruleset)
    return version


def _allow(libc, ruleset: int, path: Path, access: int) -> None:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        rule = _PathBeneathAttr(access, fd)
        if libc.syscall(_ADD_RULE, ruleset, ctypes.c_uint32(_RULE_PATH_BENEATH), ctypes.byref(rule),
                        ctypes.c_uint32(0)) != 0:
            _fail(f"landlock_add_rule({path})")
    finally:
        os.close(fd)


def _fail(call: str) -> None:
    number = ctypes.get_errno()
    raise OSError(number, f"{call}: {os.strerror(number)}")
