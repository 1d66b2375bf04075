"""Measurements of speed and accuracy, run as modules from the repository
root (``python -m benchmarks.latency``); each writes one result file under
``benchmarks/results/`` with the commit, the machine and the command
(``benchmarks.machine.write_result``). What each measures and its last
figure: ``benchmarks/README.md``. Fitting lives in ``facematch.fit`` and
``tools/``, never here.
"""
