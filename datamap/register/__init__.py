"""The register of processing activities (Art. 30 GDPR) and its translation catalogue.

``build_register(map_input, policy, run, lang)`` gives rows of cells with provenance;
``datamap.register.ropa.write_register(workspace, out_dir, fmt, lang, audit_dir, for_ap=False)`` writes
the XLSX, HTML or Markdown file (what ``datamap ropa`` runs); ``for_ap=True`` (``--for ap``) the copy for
the Autoriteit Persoonsgegevens: the answers only, without marks, provenance or the audit's own columns.
"""
from datamap.register.build import build_register
from datamap.register.model import Register
from datamap.register.terms import t

__all__ = ["Register", "build_register", "t"]
