"""datamap: a GDPR audit and data-mapping workbench.

The public API is re-exported here; everything else is an implementation detail. The names load
on first use (PEP 562), so ``datamap --help`` does not pay for pydantic and YAML.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datamap.errors import BadInput
    from datamap.workspace import Workspace, load_workspace

__all__ = ["BadInput", "Workspace", "load_workspace"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "BadInput":
        from datamap.errors import BadInput

        return BadInput
    if name in ("Workspace", "load_workspace"):
        from datamap import workspace

        return getattr(workspace, name)
    raise AttributeError(f"module 'datamap' has no attribute {name!r}")
