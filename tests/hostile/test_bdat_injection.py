"""Issue 18, finding 1: no byte inside a BDAT chunk is ever read as an SMTP command, on any endpoint.

Each test puts a forged second transaction (RSET, MAIL FROM the CEO, RCPT TO the help desk, DATA or BDAT) in
message data and proves it is delivered as data, inside the one message the client sent, and never as a
message to the help desk: with chunk sizes that over-announce the data, without LAST, with BDAT and DATA
mixed, with the connection dropped or half-closed mid-chunk, and with the client's own commands pipelined
right after a chunk (which are commands, and must be read exactly where the chunk ends).
"""

from __future__ import annotations

import random
import socket

import pytest
from hostile_kit import MX, SCANNER, SUBMISSION, Wire, signed_in, stored_messages

from mailflow_lab import Lab

FORGED = (
    b"\r\n.\r\nRSET\r\nMAIL FROM:<ceo@contoso.com>\r\nRCPT TO:<helpdesk@contoso.com>\r\n"
    b"BDAT 40 LAST\r\nSubject: forged\r\n\r\nforged mail body\r\nDATA\r\nSubject: forged\r\n\r\nx\r\n.\r\n"
)


def head(subject: str, sender: str = "printer@contoso.com") -> bytes:
    return (
        f"From: {sender}\r\nTo: alex@contoso.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject}@inject.test>\r\n\r\n"
    ).encode()


def nothing_forged(lab: Lab) -> None:
    messages = stored_messages(lab)
    assert not [m for m in messages if m.mailbox == "helpdesk@contoso.com"], messages
    assert not [m for m in messages if m.subject == "forged"], messages
    assert not lab.message_trace(recipient="helpdesk@contoso.com")


def signs_in(host: str) -> bool:
    return host.startswith("smtp")  # smtp.office365.com (587 and 25) and smtp-legacy: STARTTLS, then AUTH


def transaction(lab: Lab, endpoint: tuple[str, int]) -> Wire:
    signing_in = signs_in(endpoint[0])
    wire = signed_in(lab, "printer.contoso.local", *endpoint) if signing_in else Wire(lab.endpoint(*endpoint))
    sender = SCANNER[0] if signing_in else "printer@contoso.com"
    try:
        if not signing_in:
            assert wire.ehlo("printer.contoso.local")[-1].startswith("250 ")
        assert wire.cmd(f"MAIL FROM:<{sender}>").startswith("250 ")
        assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("250 ")
    except BaseException:
        wire.close()
        raise
    return wire


def chunking_endpoints(lab: Lab) -> list[tuple[str, int]]:
    """Every endpoint of the lab whose EHLO (before or after STARTTLS) offers CHUNKING."""
    found = []
    for host, port in lab.endpoints():
        with Wire(lab.endpoint(host, port)) as wire:
            if any("CHUNKING" in line for line in wire.ehlo("printer.contoso.local")):
                found.append((host, port))
    return found


def test_every_endpoint_that_offers_chunking_reads_a_chunk_as_data(lab: Lab) -> None:
    endpoints = chunking_endpoints(lab)
    assert (MX, 25) in endpoints and (SUBMISSION, 587) in endpoints
    for index, endpoint in enumerate(endpoints):
        subject = f"framed-{index}"
        sender = SCANNER[0] if signs_in(endpoint[0]) else "printer@contoso.com"
        content = head(subject, sender) + b"line one" + FORGED
        with transaction(lab, endpoint) as wire:
            wire.send(f"BDAT {len(content)} LAST\r\n".encode() + content)
            assert wire.last().startswith("250 "), endpoint
            assert wire.cmd("QUIT").startswith("221 ")
        [stored] = [m for m in stored_messages(lab) if m.subject == subject and m.folder != "Sent Items"]
        assert FORGED in stored.raw, endpoint
    nothing_forged(lab)


def test_a_size_that_over_announces_swallows_what_follows_as_data(lab: Lab) -> None:
    content = head("over-announced") + b"short body"
    with transaction(lab, (MX, 25)) as wire:
        # 200 more bytes announced than the message has: the forged commands make up the rest of the chunk.
        size = len(content) + len(FORGED)
        wire.send(f"BDAT {size} LAST\r\n".encode() + content + FORGED)
        assert wire.last().startswith("250 2.6.0 ")
        assert wire.cmd("NOOP").startswith("250 ")  # the next bytes after the chunk are a command again
    [stored] = [m for m in stored_messages(lab) if m.subject == "over-announced"]
    assert stored.raw.endswith(b"short body" + FORGED)
    nothing_forged(lab)


def test_chunks_without_last_deliver_nothing(lab: Lab) -> None:
    with transaction(lab, (MX, 25)) as wire:
        for part in (head("no-last"), b"body" + FORGED, FORGED):
            wire.send(f"BDAT {len(part)}\r\n".encode() + part)
            assert wire.last().startswith("250 2.0.0 ")
        assert wire.cmd("QUIT").startswith("221 ")
    assert not [m for m in stored_messages(lab) if m.subject == "no-last"]
    nothing_forged(lab)


def test_rset_between_chunks_forgets_them(lab: Lab) -> None:
    with transaction(lab, (MX, 25)) as wire:
        first = head("forgotten") + b"first" + FORGED
        wire.send(f"BDAT {len(first)}\r\n".encode() + first)
        assert wire.last().startswith("250 2.0.0 ")
        assert wire.cmd("RSET").startswith("250 ")
        wire.send(b"BDAT 4 LAST\r\nlost")
        assert wire.last().startswith("503 5.5.2 Need mail command")
        assert wire.cmd("MAIL FROM:<printer@contoso.com>").startswith("250 ")
        assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("250 ")
        second = head("remembered") + b"second\r\n"
        wire.send(f"BDAT {len(second)} LAST\r\n".encode() + second)
        assert wire.last().startswith("250 2.6.0 ")
    [stored] = [m for m in stored_messages(lab) if m.mailbox == "alex@contoso.com"]
    assert stored.subject == "remembered" and b"first" not in stored.raw
    nothing_forged(lab)


def test_data_refused_after_bdat_leaves_the_chunks_and_the_framing_intact(lab: Lab) -> None:
    first = head("mixed") + b"chunk one\r\n"
    last = b"chunk two" + FORGED
    with transaction(lab, (MX, 25)) as wire:
        wire.send(f"BDAT {len(first)}\r\n".encode() + first)
        assert wire.last().startswith("250 2.0.0 ")
        assert wire.cmd("DATA").startswith("503 5.5.1 ")
        wire.send(f"BDAT {len(last)} LAST\r\n".encode() + last)
        assert wire.last().startswith("250 2.6.0 ")
    [stored] = [m for m in stored_messages(lab) if m.subject == "mixed"]
    assert stored.raw.endswith(first[first.index(b"\r\n\r\n") + 4 :] + last)
    nothing_forged(lab)


def test_bdat_inside_data_is_a_line_of_the_message(lab: Lab) -> None:
    with transaction(lab, (MX, 25)) as wire:
        content = (
            head("bdat-in-data") + b"BDAT 12 LAST\r\nBDAT 40\r\n" + FORGED[5:].replace(b"\r\n.\r\n", b"\r\n")
        )
        assert wire.data(content + b"\r\n.\r\n").startswith("250 2.6.0 ")
    [stored] = [m for m in stored_messages(lab) if m.subject == "bdat-in-data"]
    assert b"BDAT 12 LAST\r\nBDAT 40\r\nRSET\r\nMAIL FROM:<ceo@contoso.com>" in stored.raw
    nothing_forged(lab)


@pytest.mark.parametrize("how", ["dropped", "half-closed"])
def test_a_connection_lost_mid_chunk_delivers_nothing(lab: Lab, how: str) -> None:
    with transaction(lab, (MX, 25)) as wire:
        first = head("half") + b"first chunk\r\n"
        wire.send(f"BDAT {len(first)}\r\n".encode() + first)
        assert wire.last().startswith("250 2.0.0 ")
        partial = b"the last chunk, cut short" + FORGED
        wire.send(f"BDAT {len(partial) + 500} LAST\r\n".encode() + partial)
        if how == "half-closed":
            wire.sock.shutdown(socket.SHUT_WR)
            assert wire.closed()  # the lab sees the end of the input, answers nothing more, and closes
    assert not [m for m in stored_messages(lab) if m.subject == "half"]
    assert not lab.message_trace(recipient="alex@contoso.com")
    nothing_forged(lab)
    assert lab.runtime.errors == []


def test_commands_pipelined_after_a_chunk_are_read_exactly_where_it_ends(lab: Lab) -> None:
    chunk = head("discarded") + b"ends right here" + FORGED
    final = head("pipelined-after") + b"the real one\r\n"
    batch = (
        f"BDAT {len(chunk)}\r\n".encode() + chunk
        + b"RSET\r\nMAIL FROM:<printer@contoso.com>\r\nRCPT TO:<alex@contoso.com>\r\n"
        + f"BDAT {len(final)} LAST\r\n".encode() + final + b"QUIT\r\n"
    )  # fmt: skip
    with transaction(lab, (MX, 25)) as wire:
        wire.send(batch)
        replies = [wire.last() for _ in range(6)]
    assert [r[:9] for r in replies] == [
        "250 2.0.0",
        "250 2.0.0",
        "250 2.1.0",
        "250 2.1.5",
        "250 2.6.0",
        "221 2.0.0",
    ]
    [stored] = [m for m in stored_messages(lab) if m.mailbox == "alex@contoso.com"]
    assert stored.subject == "pipelined-after"
    nothing_forged(lab)


@pytest.mark.fuzz
def test_random_chunkings_of_a_message_full_of_commands_deliver_it_whole_and_only_it(lab: Lab) -> None:
    rng = random.Random(18)
    for round_ in range(200):
        subject = f"fuzz-{round_}"
        content = head(subject) + b"".join(
            rng.choice([FORGED, b"QUIT\r\n", b".\r\n", b"x" * 50]) for _ in range(20)
        )
        cuts = sorted(rng.sample(range(1, len(content)), rng.randrange(0, 6)))
        pieces = [content[a:b] for a, b in zip([0, *cuts], [*cuts, len(content)], strict=True)]
        with transaction(lab, (MX, 25)) as wire:
            batch = b"".join(
                f"BDAT {len(p)}{' LAST' if i == len(pieces) - 1 else ''}\r\n".encode() + p
                for i, p in enumerate(pieces)
            )
            wire.send(batch + b"QUIT\r\n")
            replies = [wire.last() for _ in range(len(pieces) + 1)]
        assert replies[-2].startswith("250 2.6.0") and replies[-1].startswith("221 "), replies
        [stored] = [m for m in stored_messages(lab) if m.subject == subject]
        assert stored.raw.endswith(content[content.index(b"\r\n\r\n") + 4 :])
    nothing_forged(lab)
