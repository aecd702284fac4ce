"""datamap: a GDPR audit and data-mapping workbench.

The public API is re-exported here; everything else is an implementation detail.
"""
from datamap.errors import BadInput
from datamap.workspace import Workspace, load_workspace

__all__ = ["BadInput", "Workspace", "load_workspace"]
__version__ = "0.1.0"
