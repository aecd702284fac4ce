"""The one exception type for bad input, and the exit codes the CLI promises."""
from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_CANNOT_RUN = 2


class BadInput(Exception):
    """Input the workbench cannot use: names the file, the key (or line) and a hint.

    ``str()`` is the one line the CLI prints before exiting with code 2, e.g.
    ``manifests/zoho_crm.yml: system zoho_crm: unknown data category 'user.contact.emial'
    (did you mean 'user.contact.email'?)``.
    """

    def __init__(self, file: str | None, key: str | None, message: str, hint: str | None = None):
        self.file = file
        self.key = key
        self.message = message
        self.hint = hint
        super().__init__(self.line())

    def line(self) -> str:
        parts = [p for p in (self.file, self.key) if p]
        text = ": ".join(parts + [self.message])
        return f"{text} ({self.hint})" if self.hint else text


class SourceUnavailable(BadInput):
    """A source that cannot be read now (missing file, unreachable database): its checks do not run."""


class SourceAbsent(BadInput):
    """A source the company declared it does not keep (sources.yml ``absent:``): its checks are not applicable."""
