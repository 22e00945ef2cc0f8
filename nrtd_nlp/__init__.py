"""nrtd-nlp: the language engine behind a National Recommendations Tracking Database.

Importing this package is cheap: torch, spaCy, FAISS and sentence-transformers are imported
only inside the factories that need them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
