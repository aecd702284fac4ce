"""The register of processing activities (Art. 30 GDPR) and its translation catalogue.

``build_register(map_input, policy, run, lang)`` gives rows of cells with provenance;
``datamap.register.ropa.write_register(workspace, out_dir, fmt, lang, audit_dir)`` writes the XLSX,
HTML or Markdown file (what ``datamap ropa`` runs).
"""
from datamap.register.model import Register, build_register
from datamap.register.terms import t

__all__ = ["Register", "build_register", "t"]
