"""export's errors: a plan that cannot be carried out, a converter that failed, files that missed their bars.

They belong to edgeport's one family (runtime.EdgeportError), which the command line catches by type.
"""

from __future__ import annotations

from edgeport.runtime.errors import EdgeportError


class PlanError(EdgeportError, ValueError):
    """An export plan that cannot be carried out: unknown rung, bad budget, opset or sample count."""


class ExportError(EdgeportError, RuntimeError):
    """A converter failed on a model it was given; the converter's own error is the cause."""


class ValidationError(EdgeportError):
    """One or more exported files missed their bars; failures lists each file and figure."""

    def __init__(self, failures: list[str], summary: str | None = None):
        self.failures = failures
        self.summary = summary or f"{len(failures)} validation failure(s)"
        super().__init__(f"{self.summary}: " + "; ".join(failures) if failures else self.summary)
