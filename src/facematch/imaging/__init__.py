"""Bytes in, RGB arrays out: decoding with limits, and the three image sources."""
