"""Ray's private part that joining a token-authenticated cluster relies on, in this one module.

A driver joining with ray.init(address=...) turns token authentication on only when RAY_AUTH_MODE=token
is set; `ray start` turns it on itself when a token is at hand, through a function of ray._private. Checked
against Ray CHECKED_VERSION; tests/test_micro.py's adapter test fails when another version is installed.
"""

from __future__ import annotations

import os

CHECKED_VERSION = "2.60.0"


def enable_token_auth(mode_variable: str) -> None:
    """Turn token authentication on as `ray start` does; on another Ray layout, by the variable alone, which Ray
    reads when it configures itself."""
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:
        os.environ[mode_variable] = "token"
    else:
        maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
