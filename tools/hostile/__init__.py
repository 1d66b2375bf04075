"""Hostile inputs for the security tests and the fuzz benchmark: malformed images (``samples``), URLs the
fetcher must refuse (``ssrf_cases``), fuzzed requests (``fuzz_requests``) and fakes of DNS and the internet
(``fakes``)."""
