"""Fitting what serving loads (``facematch.artifacts``): calibrations, adaptations, the presentation-attack model.

Used by ``facematch eval`` / ``facematch adapt`` and by ``tools/``; never imported by serving code
(``api/``, ``matcher.py``, ``checks/``, ``models/``, ``imaging/``: ``tests/unit/test_layers.py``).
"""
