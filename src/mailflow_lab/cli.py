"""The `mailflow-lab` command: serve a lab, read its trace and device readiness, check a world file."""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

from .labdns.worlddns import load_world_dns
from .store.trace import format_table
from .world.datafile import LabDataError
from .world.hosts import SUBMISSION_HOSTS, SUBMISSION_SERVER, tenant_mx_host
from .world.loader import DEFAULT_WORLD, load_world

TRACE_FILE = "trace.jsonl"
# What a terminal would act on (C0 but the newline between lines, DEL, C1: ESC starts colour, cursor and title
# sequences): text read from a state folder can hold anything a client sent or a file was edited to hold.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with every control character but the newline shown as a visible escape (ESC as `\\x1b`)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (LabDataError, OSError, KeyError) as exc:  # OSError: a port in use, no such folder
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(printable(f"mailflow-lab: {message}"), file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailflow-lab", description="A local lab that behaves like Microsoft 365's mail endpoints."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run a lab until Ctrl-C or SIGTERM")
    serve.add_argument(
        "--world", default=DEFAULT_WORLD, help="world name or path to a .toml (default: contoso)"
    )
    serve.add_argument(
        "--state", type=Path, help="folder for mailboxes and trace (default: a new temp folder)"
    )
    serve.add_argument(
        "--listen",
        metavar="ADDR",
        type=_listen,
        help="listen on this address (or the one this host name resolves to), not loopback, so real devices "
        "on your network can send to the lab (prints a warning; tries ports 587, 25 and 53 first)",
    )
    default_ports = " (default: any free port; with --listen the standard port when it can be had)"
    serve.add_argument(
        "--submission-port", type=_port, help="port for smtp.office365.com:587" + default_ports
    )
    serve.add_argument("--mx-port", type=_port, help="port for the tenant MX (port 25)" + default_ports)
    serve.add_argument("--dns-port", type=_port, help="port for the lab DNS (UDP and TCP)" + default_ports)
    serve.add_argument(
        "--advertise-xclient",
        action="store_true",
        help="list XCLIENT in EHLO for loopback clients (swaks needs it); off, EHLO stays Microsoft's",
    )
    serve.set_defaults(run=_serve)

    trace = commands.add_parser("trace", help="print a lab's message trace (Get-MessageTrace)")
    trace.add_argument("--state", type=Path, required=True, help="the lab's state folder")
    trace.add_argument("--json", action="store_true", help="print JSON instead of a table")
    trace.set_defaults(run=_trace)

    report = commands.add_parser(
        "report", help="device readiness: which of the three options each device seen can use, and fixes"
    )
    report.add_argument("--state", type=Path, required=True, help="the lab's state folder")
    report.add_argument("--json", action="store_true", help="print JSON instead of text")
    report.set_defaults(run=_report)

    ps = commands.add_parser("ps", help="run Exchange Online PowerShell lines against a lab's tenant")
    ps.add_argument("--state", type=Path, required=True, help="the lab's state folder")
    ps.add_argument(
        "lines", nargs="+", help="PowerShell line(s), e.g. 'Get-CASMailbox'; '-' reads standard input"
    )
    ps.set_defaults(run=_ps)

    scenarios = commands.add_parser("scenarios", help="list or run the lab scenarios (data/scenarios)")
    scenario_commands = scenarios.add_subparsers(dest="scenario_command", required=True)
    listing = scenario_commands.add_parser("list", help="the scenarios, one a line")
    listing.set_defaults(run=_scenarios_list)
    running = scenario_commands.add_parser(
        "run", help="run scenarios, each in a fresh lab; exit 1 on a mismatch"
    )
    running.add_argument("names", nargs="*", help="scenario names or .toml paths (default: all)")
    running.add_argument("--fix", action="store_true", help="then apply each fix and expect it to work")
    running.add_argument("--json", action="store_true", help="print the results as JSON")
    running.set_defaults(run=_scenarios_run)

    check = commands.add_parser("check-world", help="load a world file and its zones, report any mistake")
    check.add_argument("world", help="world name or path to a .toml")
    check.set_defaults(run=_check_world)
    _add_check_device(commands)
    _add_import(commands)
    return parser


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value < 65536:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535 (0 = any free port), got {value}")
    return value


def _listen(text: str) -> str:
    """--listen, checked before anything is bound: an address of this machine (a host name resolved once)."""
    from .lab.listening import listen_address

    try:
        return listen_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected an IP address or host name of this machine: {exc}"
        ) from None


def _serve(args: argparse.Namespace) -> int:
    from .lab.lab import Lab  # the servers load only for this command
    from .lab.listening import choose_port, is_unspecified, point_names_at
    from .smtp.servers import exposure_warning

    state = args.state or Path(tempfile.mkdtemp(prefix="mailflow-lab-"))
    world = load_world(args.world)
    mx_host = tenant_mx_host(world)  # the default accepted domain's, as the lab serves it
    host = args.listen or "127.0.0.1"  # --listen is an address already, checked by _listen
    notes: list[str] = []

    def port_for(given: int | None, standard: int, what: str, udp_too: bool = False) -> int:
        if given is not None or args.listen is None:
            return given or 0
        choice = choose_port(host, standard, udp_too=udp_too)
        if choice.problem:
            notes.append(f"{what}: {choice.problem}; a free port is used instead (below)")
        return choice.port

    ports = {
        (SUBMISSION_SERVER, 587): port_for(args.submission_port, 587, f"{SUBMISSION_SERVER}:587"),
        (mx_host, 25): port_for(args.mx_port, 25, f"{mx_host}:25"),
    }
    dns_port = port_for(args.dns_port, 53, "lab DNS", udp_too=True)
    warning = exposure_warning(host)
    if warning:
        print(f"WARNING: {warning}", file=sys.stderr, flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exposure warning is printed above, once
        lab = Lab.start(
            args.world, state_dir=state, ports=ports, dns_port=dns_port, host=host,
            advertise_xclient=args.advertise_xclient,
        )  # fmt: skip
    with lab:
        ca_path = lab.ca.write_ca(state / "lab-ca.pem")
        print(f"mailflow-lab: world {lab.world.name!r}, state in {state}", flush=True)
        for (name, port), (address, bound) in sorted(lab.endpoints().items()):
            print(f"{name}:{port} -> {address}:{bound}", flush=True)
        print(f"lab DNS -> {lab.dns_server[0]}:{lab.dns_server[1]}", flush=True)
        print(f"lab CA certificate: {ca_path}", flush=True)
        if args.listen is not None:
            for note in notes:
                print(f"note: {note}", flush=True)
            if is_unspecified(host):
                every = "note: listening on every interface: the lab DNS keeps Microsoft's addresses "
                print(
                    every + "(give --listen one address of this machine to point names at the lab)",
                    flush=True,
                )
            else:
                names = point_names_at(lab.runtime.dns, [*SUBMISSION_HOSTS, lab.mx_host], host)
                print(f"lab DNS answers {', '.join(names)} with {host}", flush=True)
            print(f"devices: point them here, then: mailflow-lab report --state {state}", flush=True)
        print("ready; Ctrl-C to stop", flush=True)
        stop.wait()
        for error in lab.runtime.errors:  # what a handler answered 451 4.7.0 for: the lab's own faults
            print(f"internal error: {error}", file=sys.stderr, flush=True)
    print("mailflow-lab: stopped", flush=True)
    return 0


def _report(args: argparse.Namespace) -> int:
    from .lab.readiness import readiness_report

    report = readiness_report(Path(args.state))
    print(report.to_json() if args.json else printable(report.text()))
    return 0


def _trace(args: argparse.Namespace) -> int:
    from .store.statedir import saved_trace

    path = Path(args.state) / TRACE_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"no message trace in {args.state} (was a lab run with --state {args.state}?)"
        )
    records = saved_trace(path).records()  # a damaged trace: a LabDataError naming the file
    if args.json:
        print(json.dumps([r.to_dict() for r in records], indent=2))
    else:
        print(printable(format_table(records)) if records else "(no messages traced)")
    return 0


def _ps(args: argparse.Namespace) -> int:
    from .admin.shell import run
    from .store.statedir import open_state

    text = sys.stdin.read() if args.lines == ["-"] else "\n".join(args.lines)
    # A running `serve` on the same state folder takes the change at its next SMTP session.
    result = run(open_state(Path(args.state)), text)
    output = result.text()
    if output:
        print(printable(output), file=sys.stderr if result.error and not result.objects else sys.stdout)
    return 1 if result.error else 0


def _scenarios_list(args: argparse.Namespace) -> int:
    from .scenarios import load_scenario_file, scenario_paths

    for path in scenario_paths():
        scenario = load_scenario_file(path)
        print(f"{scenario.name:40} {','.join(scenario.tags):28} {scenario.title}")
    return 0


def _scenarios_run(args: argparse.Namespace) -> int:
    from .scenarios import ScenarioError, load_scenario_file, run_scenario, scenario_paths

    paths = args.names or scenario_paths()
    scenarios = [load_scenario_file(p) for p in paths]  # every file is checked before anything runs
    results = []
    tty = sys.stderr.isatty() and not args.json
    for index, scenario in enumerate(scenarios, start=1):
        if tty:
            done = int(30 * (index - 1) / len(scenarios))
            print(f"\r[{'#' * done}{' ' * (30 - done)}] {index}/{len(scenarios)} {scenario.name:40}", end="",
                  file=sys.stderr, flush=True)  # fmt: skip
        try:
            results.append(run_scenario(scenario, fix=args.fix))
        except ScenarioError as exc:
            print(f"\nmailflow-lab: {exc}", file=sys.stderr)
            return 2
    if tty:
        print("\r" + " " * 80 + "\r", end="", file=sys.stderr)
    failed = [r for r in results if not r.ok]
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2, default=str))
    else:
        print(_scenario_table(results, args.fix))
        print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _scenario_table(results: list, fixed: bool) -> str:
    """Expected versus observed, one scenario a row, mismatches spelt out under it."""
    lines = [
        f"{'scenario':40} {'expected (broken)':24} {'observed (broken)':28}" + ("  fixed" if fixed else "")
    ]
    for result in results:
        expect = result.scenario.expect
        wanted = expect.reply or ", ".join(f"{a}={w}" for a, w in expect.outcome.items()) or expect.step or ""
        seen = result.broken.reply or result.broken.error or ", ".join(result.broken.outcome.values())
        mark = "ok" if result.ok else "MISMATCH"
        fixed_note = ("  " + ("ok" if not result.fixed_mismatches else "MISMATCH")) if fixed else ""
        lines.append(f"{result.scenario.name:40} {wanted[:24]:24} {(seen or '')[:28]:28}{fixed_note}  {mark}")
        lines += [f"    {m}" for m in result.mismatches]
    return "\n".join(lines)


def _check_world(args: argparse.Namespace) -> int:
    world = load_world(args.world)
    dns = load_world_dns(world)
    print(
        f"{world.source}: world {world.name!r} is fine: {len(world.tenant.mailboxes)} mailboxes, "
        f"{len(world.tenant.inbound_connectors)} connectors, zones {', '.join(dns.origins)}"
    )
    return 0


def _add_check_device(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(
        "check-device", help="send one test message with a device's settings in a lab of a world; exit 1 "
        "unless it reaches the Inbox"
    )  # fmt: skip
    check.add_argument("--world", required=True, help="world name or path to a .toml")
    check.add_argument("--server", default=SUBMISSION_SERVER, help=f"default: {SUBMISSION_SERVER}")
    check.add_argument("--port", type=_port, default=587, help="SMTP port (default: 587)")
    check.add_argument("--tls", choices=["starttls", "none"], default="starttls", help="default: starttls")
    check.add_argument("--tls-version", help="the one TLS version the device speaks: 1.0, 1.1, 1.2 or 1.3")
    check.add_argument("--username", help="SMTP AUTH user name (none: no AUTH)")
    check.add_argument("--password", help="SMTP AUTH password")
    check.add_argument("--sender", required=True, help="the MAIL FROM and From: address")
    check.add_argument("--to", help="recipient (default: a mailbox of the tenant); may be outside")
    check.add_argument("--source-ip", help="the device's public address as Microsoft 365 sees it")
    check.add_argument("--client-cert", metavar="DOMAIN", help="present a lab certificate for this domain")
    check.add_argument("--helo", help="the EHLO name (default: device-under-test.local)")
    check.add_argument("--json", action="store_true", help="print JSON instead of text")
    check.set_defaults(run=_check_device)


def _check_device(args: argparse.Namespace) -> int:
    from .lab.check_device import check_device, device_from_options

    options = ("server", "port", "tls", "tls_version", "username", "password", "sender", "source_ip")
    try:
        load_world(args.world)  # a bad world file: a LabDataError naming it, before any lab starts
        device = device_from_options(
            **{k: getattr(args, k) for k in options}, client_cert=args.client_cert, helo=args.helo
        )
        check = check_device(args.world, device, args.to)
    except ValueError as exc:
        print(printable(f"mailflow-lab: {exc}"), file=sys.stderr)
        return 2
    print(check.to_json() if args.json else printable(check.text()))
    return 0 if check.delivered else 1


def _add_import(commands: argparse._SubParsersAction) -> None:
    imp = commands.add_parser("import", help="build a world from an Export-MailflowLabTenant.ps1 folder")
    imp.add_argument("export_dir", type=Path, help="the folder the export script wrote")
    imp.add_argument(
        "--out", type=Path, required=True, help="the world file to write (zones, keys beside it)"
    )
    imp.add_argument("--anonymise", action="store_true", help="replace domains, addresses, names and IPs")
    imp.set_defaults(run=_import)


def _import(args: argparse.Namespace) -> int:
    from .world.tenant_world import import_tenant

    written, warnings = import_tenant(args.export_dir, args.out, anonymised=args.anonymise)
    for warning in warnings:
        print(printable(f"warning: {warning}"), file=sys.stderr)
    print(f"mailflow-lab: wrote {written.path} ({len(written.files)} files); lab passwords (shown once):")
    for address, password in written.passwords.items():
        print(printable(f"  {address}  {password}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
