"""Lab start next to a bare aiosmtpd Controller start, in a fresh process; prints one JSON object.

    python -m bench.startup [--rounds N]

Both are timed in the same process after a first start of each (imports done, the lab CA and its
server certificates cached on disk), alternating lab and Controller so drift in a noisy machine hits
both alike. Also timed: the import, the first lab start in the process, and "the lab's own building
blocks": as many Controllers as the lab has SMTP endpoints, with its two TLS contexts made from the
cached lab CA.
"""

from __future__ import annotations

import argparse
import json
import logging
import ssl
import statistics
import time
from typing import Any


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    began = time.perf_counter()
    from aiosmtpd.controller import Controller

    import mailflow_lab
    from mailflow_lab.lab.tlsmaterial import LabCA
    from mailflow_lab.world.hosts import SUBMISSION_HOSTS

    from .servers import NullHandler, free_port

    import_s = time.perf_counter() - began

    began = time.perf_counter()
    lab = mailflow_lab.Lab.start()
    first_start = time.perf_counter() - began
    endpoints = len(lab.endpoints())
    mx_names = [lab.mx_host, "*.mail.protection.outlook.com"]
    lab.stop()

    def controller() -> Any:
        return Controller(
            NullHandler(), hostname="127.0.0.1", port=free_port(), server_hostname="bench.invalid"
        )

    def blocks() -> list[Any]:
        """What a lab made of bare Controllers would start: one per endpoint, two TLS contexts."""
        ca = LabCA.load_or_create()
        submission = ca.server_context(list(SUBMISSION_HOSTS), min_version=ssl.TLSVersion.TLSv1)
        mx = ca.server_context(mx_names, request_client_cert=True)
        started = []
        for n in range(endpoints):
            context = submission if n < 3 else mx if n == 3 else None
            c = Controller(
                NullHandler(),
                hostname="127.0.0.1",
                port=free_port(),
                server_hostname="bench.invalid",
                tls_context=context,
            )
            c.start()
            started.append(c)
        return started

    first = controller()
    first.start()
    first.stop()
    samples: dict[str, list[float]] = {k: [] for k in ("lab", "lab_stop", "controller", "controller_stop")}
    samples["blocks"] = []
    for _ in range(args.rounds):
        began = time.perf_counter()
        lab = mailflow_lab.Lab.start()
        started = time.perf_counter()
        lab.stop()
        samples["lab"].append(started - began)
        samples["lab_stop"].append(time.perf_counter() - started)

        c = controller()
        began = time.perf_counter()
        c.start()
        started = time.perf_counter()
        c.stop()
        samples["controller"].append(started - began)
        samples["controller_stop"].append(time.perf_counter() - started)

        began = time.perf_counter()
        running = blocks()
        samples["blocks"].append(time.perf_counter() - began)
        for c in running:
            c.stop()

    median = {k: statistics.median(v) for k, v in samples.items()}
    result = {
        "rounds": args.rounds,
        "import_ms": _ms(import_s),
        "first_lab_start_ms": _ms(first_start),
        "lab_endpoints": endpoints,
        "lab_start_ms": _ms(median["lab"]),
        "lab_stop_ms": _ms(median["lab_stop"]),
        "controller_start_ms": _ms(median["controller"]),
        "controller_stop_ms": _ms(median["controller_stop"]),
        "blocks_start_ms": _ms(median["blocks"]),
        "ratio_lab_to_controller": round(median["lab"] / median["controller"], 2),
        "ratio_lab_to_blocks": round(median["lab"] / median["blocks"], 2),
        "samples_ms": {k: [_ms(s) for s in v] for k, v in samples.items()},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
