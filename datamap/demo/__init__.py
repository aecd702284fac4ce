"""The demo estate of Apora B.V.: a complete, deterministic workspace with planted violations.

    from datamap.demo import generate
    generate(Path("workspace/demo"), subjects=2000, seed=42)
"""
from datamap.demo.generator import generate, kept_files, planted_counts

__all__ = ["generate", "kept_files", "planted_counts"]
