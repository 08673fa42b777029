"""The quick path parser (smtp/compat.getaddr) answers exactly as aiosmtpd's own `_getaddr` does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import given
from hypothesis import strategies as st

from mailflow_lab.smtp import compat


class _Handler:
    pass


@pytest.fixture(scope="module")
def smtp() -> Iterator[SMTP]:
    # aiosmtpd makes an event loop of its own when given none; this one is closed after the module (a loop
    # left for the garbage collector warns at some later test, wherever collection happens to run).
    loop = asyncio.new_event_loop()
    try:
        yield SMTP(_Handler(), loop=loop)
    finally:
        loop.close()


ATOM = st.text("abcXYZ019!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=8)
PIECES = st.sampled_from(
    ["<", ">", "@", ".", " ", "\t", "(", ")", '"', "\\", "[", "]", ",", ":", ";", "a", "B", "7", "-", "é"]
)
PLAIN = st.builds(
    lambda local, domain, rest: f"<{'.'.join(local)}@{'.'.join(domain)}>{rest}",
    st.lists(ATOM, min_size=1, max_size=3),
    st.lists(st.text("abc09-", min_size=1, max_size=6), min_size=1, max_size=3),
    st.sampled_from(["", " ", "  SIZE=10", "\tBODY=8BITMIME", " (comment) X", "x", " SMTPUTF8 ", "  "]),
)
ANYTHING = st.lists(PIECES, max_size=30).map("".join)


@given(arg=st.one_of(PLAIN, ANYTHING, st.builds(lambda a, b: a + b, st.sampled_from(["", " ", "\t"]), PLAIN)))
def test_the_quick_path_answers_as_aiosmtpd(smtp: SMTP, arg: str) -> None:
    assert _outcome(compat.getaddr, smtp, arg) == _outcome(SMTP._getaddr, smtp, arg)


def _outcome(parse: Callable[[SMTP, str], object], smtp: SMTP, arg: str) -> object:
    # aiosmtpd's parser raises IndexError on a lone "<" (its session answers that with a 500): the quick
    # path must fail the same way, so what is compared is the result or the kind of error.
    try:
        return parse(smtp, arg)
    except Exception as exc:  # noqa: BLE001
        return type(exc)


@pytest.mark.parametrize(
    "arg",
    ["<alex@contoso.com>", "<alex@contoso.com> SIZE=100 BODY=8BITMIME", " <a.b+c@mail.contoso.com>"],
)
def test_plain_paths_take_the_quick_path(smtp: SMTP, arg: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("the email package's parser was used")

    monkeypatch.setattr(SMTP, "_getaddr", refuse)
    address, _ = compat.getaddr(smtp, arg)
    assert address is not None and "@" in address
