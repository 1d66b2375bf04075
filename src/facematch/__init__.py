"""facematch: a self-hostable face-matching service for eKYC (v2 face_matching contract).

Importing the package (or ``facematch.client``) changes nothing process-wide:
the allocator settings (``facematch.memory``) are applied by ``facematch
serve`` and the other commands, the runtimes' opt-outs by
``facematch.models.runtime``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
