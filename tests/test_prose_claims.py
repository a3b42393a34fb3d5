"""Every number a lesson's prose quotes from a result agrees with the output it quotes.

The convention and the checker live in ``tools/prose_claims.py``; this file runs it
over every committed lesson and solution notebook, and shows that it fails when a
quoted number is edited or a new number is quoted without a binding.
"""

from __future__ import annotations

import copy
import re

import nbformat
import pytest

from tools.prose_claims import (
    NUMBER,
    agrees,
    check_notebook,
    lesson_paths,
    parse_number,
    significant_digits,
)

LESSONS = lesson_paths()


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_prose_agrees_with_outputs(path):
    problems = check_notebook(nbformat.read(path, as_version=4), path.name)
    assert not problems, "\n".join(str(p) for p in problems)


def _toy_notebook(text: str, printed: str):
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("print(ratio)")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    prose = nbformat.v4.new_markdown_cell(text)
    prose.metadata["claims"] = [
        {"quote": "about 1700×", "cell": code.id, "pattern": r"ratio (\S+)"}
    ]
    nb.cells = [code, prose]
    return nb


def test_a_true_claim_passes():
    assert (
        check_notebook(_toy_notebook("Layer 1 gains about 1700× with shortcuts.", "ratio 1723\n"))
        == []
    )


def test_an_edited_quote_fails():
    problems = check_notebook(
        _toy_notebook("Layer 1 gains about 1100× with shortcuts.", "ratio 1723\n")
    )
    assert any("not in the text" in p.message for p in problems)
    assert any("'1100×' reads as a result" in p.message for p in problems)


def test_an_edited_output_fails():
    problems = check_notebook(
        _toy_notebook("Layer 1 gains about 1700× with shortcuts.", "ratio 1123\n")
    )
    assert len(problems) == 1 and "computes 1123" in problems[0].message


def test_an_unbound_result_fails():
    nb = _toy_notebook("Layer 1 gains about 1700×; layer 0 only 0.2217.", "ratio 1723\n")
    problems = check_notebook(nb)
    assert len(problems) == 1 and "'0.2217' reads as a result" in problems[0].message
    nb.cells[1].metadata["claims_exempt"] = {"0.2217": "a value quoted from the book"}
    assert check_notebook(nb) == []


def _bump_last_significant_digit(quote: str) -> str:
    """The quote with the last significant digit of its number's mantissa changed."""
    number = NUMBER.search(quote)
    mantissa = re.split(r"[eE×·\\]", number.group(0))[0]
    digits = [number.start() + i for i, ch in enumerate(mantissa) if ch.isdigit()]
    significant = [i for i in digits if quote[i] != "0"]
    i = (significant or digits)[-1]  # "0.0" has no nonzero digit: bump its last zero
    return quote[:i] + str(int(quote[i]) % 9 + 1) + quote[i + 1 :]


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_editing_a_quoted_number_in_the_lesson_fails(path):
    """Each lesson's claims guard it: change a quoted digit (text and claim alike), it fails."""
    nb = nbformat.read(path, as_version=4)
    located = [
        (c, k)
        for c, cell in enumerate(nb.cells)
        for k in range(len(cell.metadata.get("claims", [])))
    ]
    if not located:
        pytest.skip("this notebook quotes no computed value")
    for c, k in located:
        edited = copy.deepcopy(nb)
        claim = edited.cells[c].metadata["claims"][k]
        quote = claim["quote"]
        bumped = _bump_last_significant_digit(quote)
        edited.cells[c].source = edited.cells[c].source.replace(quote, bumped, 1)
        claim["quote"] = bumped
        assert check_notebook(edited, path.name), (
            f"editing {quote!r} to {bumped!r} in {path.name} went unnoticed"
        )


@pytest.mark.parametrize(
    "text, value, expected",
    [
        ("0.2217", 0.22168, True),
        ("0.2217", 0.2218, False),
        ("about 1700", 1723, True),
        ("1100", 1723, False),
        ("2e-4", 2.017e-4, True),
        ("66 %", 66.4, True),
        (r"4.7\times10^{-4}", 4.73e-4, True),
        ("1.5×10⁻⁵", 1.47e-5, True),
        ("−0.36", -0.3612, True),
    ],
)
def test_agreement_is_to_the_quoted_precision(text, value, expected):
    number = NUMBER.search(text).group(0)
    assert agrees(number, value) is expected, (
        text,
        parse_number(number),
        significant_digits(number),
    )
