"""Evaluation: pair lists -> embeddings -> scores -> ROC, EER, TAR@FAR, calibration."""
