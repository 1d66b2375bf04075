"""facematch: a self-hostable face-matching service for eKYC (v2 face_matching contract)."""

__version__ = "0.1.0"
