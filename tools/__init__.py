"""Tools beside the service: data-set builders, fitting runs, and what both
the tests and the benchmarks build inputs with.

- ``tools.synth``: synthetic ID cards, occluders and recaptures generated
  from public-domain images (what tests use instead of personal data).
- ``tools.hostile``: hostile inputs (malformed images, SSRF targets, fuzzed
  requests) and fakes of the network they need.
- ``tools.service_proc``: ``facematch serve`` as a child process.
- Runs (``python -m tools.<name>`` from the repository root): see each
  module's docstring.

Nothing under ``src/facematch`` imports this package (``tests/unit/test_layers.py``).
"""
