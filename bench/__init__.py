"""Benchmarks: the lab next to its own building blocks (aiosmtpd, smtp-sink), run with `make bench`."""
