"""JupyterLab for the datamap workbench, as `make lab` starts it (it puts this folder on JUPYTER_CONFIG_PATH).

What a privacy officer would otherwise need to know as flags lives here; their own ~/.jupyter
settings still win over it.
"""
from pathlib import Path

c = get_config()  # noqa: F821 (Jupyter defines get_config when it loads this file)

# A container, a CI box or a fresh VM often runs as root, and Jupyter stops there ("Running as root
# is not recommended") unless told it may. The server still listens on this machine only and still
# asks for its token.
c.ServerApp.allow_root = True
c.ServerApp.ip = "127.0.0.1"

# Rooted at the repository and opened on the notebooks, so that the reports a notebook links to
# (reports/..., the notebooks' default DATAMAP_OUT) open in JupyterLab too.
c.ServerApp.root_dir = str(Path(__file__).resolve().parents[1])
c.LabApp.default_url = "/lab/tree/notebooks"
