"""Reading PowerShell lines as admins type them: names, parameters, values, pipelines, comments, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailflow_lab import Lab
from mailflow_lab.admin.syntax import Parameter as P
from mailflow_lab.admin.syntax import PowerShellSyntaxError, parse
from mailflow_lab.admin.syntax import Value as V
from mailflow_lab.world.state import tenant_to_dict


def shape(text: str) -> list[list[tuple[str, tuple[Any, ...]]]]:
    """Each statement as [(command name, elements), ...]."""
    return [[(c.name, c.elements) for c in pipeline.commands] for pipeline in parse(text)]


PARSED = [
    # -- names and parameters ----------------------------------------------------------------------
    pytest.param("Get-Mailbox", [[("Get-Mailbox", ())]], id="bare command"),
    pytest.param("get-MAILBOX", [[("get-MAILBOX", ())]], id="name kept as typed"),
    pytest.param("Get-CASMailbox alex", [[("Get-CASMailbox", (V("alex"),))]], id="positional"),
    pytest.param(
        "Set-CASMailbox -Identity alex -SmtpClientAuthenticationDisabled $false",
        [[("Set-CASMailbox", (P("Identity"), V("alex"), P("SmtpClientAuthenticationDisabled"), V(False)))]],
        id="-Param value",
    ),
    pytest.param(
        "set-casmailbox -identity alex -smtpclientauthenticationdisabled $FALSE",
        [[("set-casmailbox", (P("identity"), V("alex"), P("smtpclientauthenticationdisabled"), V(False)))]],
        id="lower case",
    ),
    pytest.param(
        "Set-InboundConnector x -Enabled:$false -SenderDomains:a.com,b.com",
        [
            [
                (
                    "Set-InboundConnector",
                    (V("x"), P("Enabled", False, True), P("SenderDomains", ["a.com", "b.com"], True)),
                )
            ]
        ],
        id="-Param:value",
    ),
    pytest.param(
        "Remove-InboundConnector x -Confirm:$false -Force",
        [[("Remove-InboundConnector", (V("x"), P("Confirm", False, True), P("Force")))]],
        id="-Confirm:$false and a switch",
    ),
    pytest.param("Get-Mailbox -Confirm", [[("Get-Mailbox", (P("Confirm"),))]], id="switch at the end"),
    pytest.param(
        "Get-Mailbox -ResultSize 10", [[("Get-Mailbox", (P("ResultSize"), V(10)))]], id="digits are a number"
    ),
    # -- constants ------------------------------------------------------------------------------------
    pytest.param("Set-X $true $false $null", [[("Set-X", (V(True), V(False), V(None)))]], id="constants"),
    pytest.param(
        "Set-X $TRUE $False $NULL", [[("Set-X", (V(True), V(False), V(None)))]], id="constants any case"
    ),
    # -- strings --------------------------------------------------------------------------------------
    pytest.param(
        'Set-X -Name "Office printers"', [[("Set-X", (P("Name"), V("Office printers")))]], id="double"
    ),
    pytest.param(
        "Set-X -Name 'Office printers'", [[("Set-X", (P("Name"), V("Office printers")))]], id="single"
    ),
    pytest.param("Set-X 'it''s'", [[("Set-X", (V("it's"),))]], id="'' in single quotes"),
    pytest.param('Set-X "say ""hi"""', [[("Set-X", (V('say "hi"'),))]], id='"" in double quotes'),
    pytest.param('Set-X "a`"b"', [[("Set-X", (V('a"b'),))]], id="backtick quote"),
    pytest.param('Set-X "a`tb`nc"', [[("Set-X", (V("a\tb\nc"),))]], id="backtick t and n"),
    pytest.param("Set-X 'a`tb'", [[("Set-X", (V("a`tb"),))]], id="no escapes in single quotes"),
    pytest.param(
        "Set-X \"x|y;z # w\" 'p|q'", [[("Set-X", (V("x|y;z # w"), V("p|q")))]], id="specials inside quotes"
    ),
    pytest.param("Set-X ''", [[("Set-X", (V(""),))]], id="empty string"),
    pytest.param(
        "Set-X alex@contoso.com *.contoso.com 203.0.113.0/24 Alex#2026 smtp:a.com;1",
        [
            [
                (
                    "Set-X",
                    (
                        V("alex@contoso.com"),
                        V("*.contoso.com"),
                        V("203.0.113.0/24"),
                        V("Alex#2026"),
                        V("smtp:a.com"),
                    ),
                )
            ],
            [("1", ())],
        ],
        id="bare strings with @ . / # and a ; that ends the statement",
    ),
    pytest.param("Set-X -SenderDomains *", [[("Set-X", (P("SenderDomains"), V("*")))]], id="bare star"),
    # -- lists ----------------------------------------------------------------------------------------
    pytest.param("Set-X a,b,c", [[("Set-X", (V(["a", "b", "c"]),))]], id="comma list"),
    pytest.param("Set-X a , b ,c", [[("Set-X", (V(["a", "b", "c"]),))]], id="comma list with spaces"),
    pytest.param(
        "Set-X '1.2.3.4', \"5.6.7.8\"", [[("Set-X", (V(["1.2.3.4", "5.6.7.8"]),))]], id="quoted comma list"
    ),
    pytest.param('Set-X @("a","b")', [[("Set-X", (V(["a", "b"]),))]], id="array"),
    pytest.param("Set-X @( 'a' , 'b' )", [[("Set-X", (V(["a", "b"]),))]], id="array with spaces"),
    pytest.param('Set-X @("a")', [[("Set-X", (V(["a"]),))]], id="array of one"),
    pytest.param("Set-X @()", [[("Set-X", (V([]),))]], id="empty array"),
    # -- hash tables ----------------------------------------------------------------------------------
    pytest.param(
        'Set-X -SenderIPAddresses @{Add="a";Remove="b"}',
        [[("Set-X", (P("SenderIPAddresses"), V({"Add": "a", "Remove": "b"})))]],
        id="@{Add;Remove}",
    ),
    pytest.param(
        "Set-X @{ Add = 'a', 'b' ;\n  Remove = 'c' }",
        [[("Set-X", (V({"Add": ["a", "b"], "Remove": "c"}),))]],
        id="@{} with a list and a new line",
    ),
    pytest.param(
        'Set-X -SenderDomains:@{Add="a.com"}',
        [[("Set-X", (P("SenderDomains", {"Add": "a.com"}, True),))]],
        id="-Param:@{}",
    ),
    pytest.param('Set-X @{"Add"="a"}', [[("Set-X", (V({"Add": "a"}),))]], id="quoted key"),
    # -- pipelines and statements ---------------------------------------------------------------------
    pytest.param(
        "Get-Mailbox | Set-CASMailbox -SmtpClientAuthenticationDisabled $false",
        [[("Get-Mailbox", ()), ("Set-CASMailbox", (P("SmtpClientAuthenticationDisabled"), V(False)))]],
        id="pipeline",
    ),
    pytest.param(
        "Get-Mailbox|fl Name,Alias",
        [[("Get-Mailbox", ()), ("fl", (V(["Name", "Alias"]),))]],
        id="pipeline without spaces",
    ),
    pytest.param(
        "Get-Mailbox |\n    Select-Object Name |\n\n    Format-Table",
        [[("Get-Mailbox", ()), ("Select-Object", (V("Name"),)), ("Format-Table", ())]],
        id="pipe at line end continues",
    ),
    pytest.param("Get-A; Get-B", [[("Get-A", ())], [("Get-B", ())]], id="semicolon"),
    pytest.param(
        "Get-A\nGet-B\r\nGet-C", [[("Get-A", ())], [("Get-B", ())], [("Get-C", ())]], id="new lines"
    ),
    pytest.param("\n\nGet-A;;\n ; \nGet-B\n\n", [[("Get-A", ())], [("Get-B", ())]], id="empty statements"),
    pytest.param(
        "Set-A -X 1 `\n  -Y 2", [[("Set-A", (P("X"), V(1), P("Y"), V(2)))]], id="backtick continues"
    ),
    # -- comments -------------------------------------------------------------------------------------
    pytest.param("# only a comment", [], id="comment only"),
    pytest.param("# SMTP AUTH\nGet-A # trailing\n#end", [[("Get-A", ())]], id="comments"),
    pytest.param("Get-A -X 1 # -Y 2 | Get-B", [[("Get-A", (P("X"), V(1)))]], id="comment hides the rest"),
    pytest.param("", [], id="nothing"),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parse(text: str, expected: list[list[tuple[str, tuple[Any, ...]]]]) -> None:
    assert shape(text) == expected


def test_statement_and_command_texts() -> None:
    first, second = parse(
        "Get-Mailbox alex  |  Set-CASMailbox -SmtpClientAuthenticationDisabled $false ; Get-A"
    )
    assert first.text == "Get-Mailbox alex  |  Set-CASMailbox -SmtpClientAuthenticationDisabled $false"
    assert [c.text for c in first.commands] == [
        "Get-Mailbox alex",
        "Set-CASMailbox -SmtpClientAuthenticationDisabled $false",
    ]
    assert second.text == "Get-A"


SYNTAX_ERRORS = [
    pytest.param('Get-Mailbox "alex', 'The string is missing the terminator: ".', id="unterminated double"),
    pytest.param("Get-Mailbox 'alex", "The string is missing the terminator: '.", id="unterminated single"),
    pytest.param(
        "Get-Mailbox 'it''s", "The string is missing the terminator: '.", id="unterminated after ''"
    ),
    pytest.param("Get-Mailbox |", "An empty pipe element is not allowed.", id="pipe at the end"),
    pytest.param("Get-Mailbox |\n\n", "An empty pipe element is not allowed.", id="pipe then blank lines"),
    pytest.param("Get-Mailbox | ; Get-Mailbox", "An empty pipe element is not allowed.", id="pipe then ;"),
    pytest.param(
        "Get-Mailbox $foo",
        "The variable '$foo' is not known in the lab; use $true, $false or $null.",
        id="unknown variable",
    ),
    pytest.param(
        'Set-X @{Add="a"', "Missing closing '}' in statement block or type definition.", id="open hash table"
    ),
    pytest.param("Set-X @{Add}", "Missing '=' operator after key in hash literal.", id="key without ="),
    pytest.param('Set-X @("a"', "Missing closing ')' in subexpression.", id="open array"),
    pytest.param(
        "Get-MessageTrace -StartDate (Get-Date)",
        "Subexpressions ( ... ) are not supported in the lab; type the value itself.",
        id="subexpression",
    ),
    pytest.param(
        "Get-Mailbox | | Format-List",
        "An empty pipe element is not allowed.",
        id="two pipes",
    ),
    pytest.param(
        "| Get-Mailbox",
        "An empty pipe element is not allowed.",
        id="pipe first",
    ),
]


@pytest.mark.parametrize(("text", "problem"), SYNTAX_ERRORS)
def test_parse_errors(text: str, problem: str) -> None:
    with pytest.raises(PowerShellSyntaxError) as caught:
        parse(text)
    message = str(caught.value)
    assert message.startswith("At line:") and message.endswith(": " + problem)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("Get-Mailbox |", "At line:1 char:14"),
        ("Get-Mailbox\nGet-CASMailbox |", "At line:2 char:17"),
        ("# first\nGet-Mailbox\n  Get-CASMailbox $x", "At line:3 char:20"),
    ],
)
def test_parse_error_position(text: str, where: str) -> None:
    with pytest.raises(PowerShellSyntaxError, match="^" + where + ": "):
        parse(text)


# -- a syntax error through the lab: a ParserError result, and nothing on the line runs -------------------
@pytest.fixture(scope="module")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(state_dir=Path(tmp_path_factory.mktemp("syntax")) / "state") as running:
        yield running


@pytest.mark.parametrize(("text", "problem"), [p for p in SYNTAX_ERRORS if not p.marks])
def test_syntax_error_is_a_parser_error_result(shared_lab: Lab, text: str, problem: str) -> None:
    result = shared_lab.powershell(text)
    assert not result.ok and result.objects == [] and result.warnings == []
    assert result.error is not None
    assert result.error.startswith("ParserError: At line:") and result.error.endswith(problem)
    assert result.text() == result.error


def test_a_syntax_error_anywhere_runs_nothing(shared_lab: Lab) -> None:
    before = tenant_to_dict(shared_lab.world.tenant)
    result = shared_lab.powershell(
        "Set-CASMailbox alex -SmtpClientAuthenticationDisabled $false\n"
        "Set-OrganizationConfig -RejectDirectSend $true\n"
        "Get-Mailbox 'alex"
    )
    assert result.error == "ParserError: At line:3 char:18: The string is missing the terminator: '."
    assert tenant_to_dict(shared_lab.world.tenant) == before
    assert shared_lab.powershell("Get-CASMailbox alex")[0]["SmtpClientAuthenticationDisabled"] is None


@pytest.mark.parametrize(
    "text",
    [
        "get-casmailbox ALEX",
        "GET-CASMAILBOX -IDENTITY alex@CONTOSO.COM",
        "Get-CasMailbox -identity:'Alex Wilber'",
        "Get-CASMailbox -Id alex  # a prefix of Identity",
        '# look up Alex\nGet-CASMailbox `\n  -Identity "alex@contoso.com"',
    ],
)
def test_names_values_and_comments_in_the_lab(shared_lab: Lab, text: str) -> None:
    result = shared_lab.powershell(text)
    assert result.ok, result.error
    assert [o["PrimarySmtpAddress"] for o in result] == ["alex@contoso.com"]
