"""Deterministic, seeded benchmark and test datasets (employees-like, guide-shaped Q&A embeddings).

Importing the package puts the repo's `.collections` on sys.path so generators can use the engine
(`ansible_collections.pgshift.mysql.plugins.module_utils`) from the bench, the tests and the demo.
"""
import os
import sys

_COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                            ".collections")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
