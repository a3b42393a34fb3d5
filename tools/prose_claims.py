"""Check that every number a lesson's prose quotes from a result agrees with that result.

Usage: python -m tools.prose_claims [NOTEBOOK ...]   (default: every lesson and solution)

The convention, read from the notebooks themselves:

* A markdown cell that quotes a computed value carries, in its metadata, a list
  ``"claims"``; each claim names the quoted text, the code cell whose stored output
  holds the value, and a regular expression whose first group captures it::

      "claims": [{"quote": "about 1700×", "cell": "49ef35d3",
                  "pattern": "layers\\\\.1\\\\.0\\\\.weight .*? (\\\\S+)×"}]

  The quote must appear verbatim in the cell; the number in it must equal the
  captured value rounded to the quote's own precision (its significant digits:
  "1700" has two, "0.2217" four, "2e-4" one). ``"scale"`` multiplies the captured
  value first (e.g. 100 for a fraction quoted as a percentage).
* Every *result-like* number in a markdown cell (one with a decimal point or an
  exponent, or followed by ×, %, a time unit or "decades") must be covered by a
  claim's quote, or exempt: the constants in ``EXEMPT`` (formula numbers such as
  0.044715), or the cell's own ``"claims_exempt"`` metadata, a mapping from the
  number as written to the reason it is not a result.

Stored outputs are the values the notebook computes: nbval checks they equal a
fresh run. Numbers inside code spans, code blocks and link targets are not prose.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

# Numbers that are definitions, not results: formula constants and published values.
EXEMPT = {
    "0.044715": "the published tanh-GELU constant",
    "0.004715": "student notebook A's typo of that constant",
    "0.5": "the 1/2 in GELU's formula",
    "1e-8": "Adam's default eps",
}

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_NUMBER = (
    r"(?<![\w.])"  # not the tail of a word, a version or another number
    r"[-−]?\d[\d,]*(?:\.\d+)?"
    r"(?:\s?[eE][-−+]?\d+"
    r"|\s?(?:[×·]|\\times|\\cdot)\s?10(?:\^\{?[-−]?\d+\}?|[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))?"
)
_RESULT_SUFFIX = (
    r"\s?(?:×|\\times(?!\s?10)|%|\\%|ms\b|s\b|seconds?\b|min\b|minutes?\b|decades?\b|times\b)"
)
NUMBER = re.compile(_NUMBER)
RESULT_LIKE = re.compile(rf"{_NUMBER}(?:{_RESULT_SUFFIX})?")


def parse_number(text: str) -> float:
    """The value of a number as prose writes it: 1,723 · 2e-4 · 1.5×10⁻⁵ · −0.36."""
    text = text.strip().replace("−", "-").replace(",", "").translate(_SUPERSCRIPT)
    text = re.sub(r"\s", "", text).replace("\\times", "×").replace("\\cdot", "·")
    power = re.fullmatch(r"([-+]?[\d.]+)[×·]10\^?\{?([-+]?\d+)\}?", text)
    if power:
        return float(power.group(1)) * 10.0 ** int(power.group(2))
    return float(text)


def significant_digits(text: str) -> int:
    """How many significant digits a quoted number states ("1700" → 2, "0.0200" → 3)."""
    mantissa = re.split(r"[eE×·\\]", text.replace("−", "-").replace(",", "").strip())[0]
    digits = mantissa.lstrip("-+")
    if "." in digits:
        return max(1, len(digits.replace(".", "").lstrip("0")))
    return max(1, len(digits.strip("0")) or 1)


def round_significant(value: float, digits: int) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def agrees(quoted: str, value: float) -> bool:
    """The value, rounded to the quote's significant digits, is the quoted number."""
    target = parse_number(quoted)
    rounded = round_significant(value, significant_digits(quoted))
    return math.isclose(rounded, target, rel_tol=1e-9, abs_tol=0.0)


def prose(source: str) -> str:
    """The cell's text with code blocks, code spans, HTML tags and link targets blanked.

    Blanked, not removed: positions stay where they were, so spans found in the
    result can be compared with the spans of the quotes in the original.
    """

    def blank(match: re.Match) -> str:
        return " " * len(match.group(0))

    source = re.sub(r"```.*?```", blank, source, flags=re.DOTALL)
    source = re.sub(r"`[^`\n]*`", blank, source)
    source = re.sub(r"\]\([^)]*\)", blank, source)
    source = re.sub(r"<[^>\n]*>", blank, source)
    source = re.sub(r"https?://\S+", blank, source)
    return source


def result_like_numbers(source: str) -> list[re.Match]:
    """Numbers in prose that read as results: decimals, powers, ×, %, times, decades."""
    found = []
    for match in RESULT_LIKE.finditer(prose(source)):
        token = match.group(0)
        number = NUMBER.match(token).group(0)
        has_suffix = token != number
        looks_measured = bool(re.search(r"[.eE]|10\^|10[⁻⁺⁰¹²³⁴⁵⁶⁷⁸⁹]", number))
        if has_suffix or looks_measured:
            found.append(match)
    return found


def cell_output_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)


@dataclass(frozen=True)
class Problem:
    notebook: str
    cell: str
    message: str

    def __str__(self) -> str:
        return f"{self.notebook} cell {self.cell}: {self.message}"


def check_notebook(nb, name: str = "notebook") -> list[Problem]:
    """Every problem with the prose claims of ``nb`` (a NotebookNode)."""
    problems: list[Problem] = []
    cells = {cell.get("id"): cell for cell in nb.cells}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        cid = cell.get("id", "?")
        source = cell.source
        covered: list[tuple[int, int]] = []
        for claim in cell.metadata.get("claims", []):
            quote = claim.get("quote", "")
            start = source.find(quote) if quote else -1
            if start < 0:
                problems.append(Problem(name, cid, f"claim quote {quote!r} is not in the text"))
                continue
            covered.append((start, start + len(quote)))
            numbers = NUMBER.findall(prose(quote)) or NUMBER.findall(quote)
            if len(numbers) != 1:
                problems.append(
                    Problem(name, cid, f"claim quote {quote!r} must hold exactly one number")
                )
                continue
            target = cells.get(claim.get("cell"))
            if target is None or target.cell_type != "code":
                problems.append(
                    Problem(name, cid, f"claim {quote!r} names no code cell {claim.get('cell')!r}")
                )
                continue
            match = re.search(claim.get("pattern", "(?!)"), cell_output_text(target), re.DOTALL)
            if match is None or not match.groups():
                problems.append(
                    Problem(
                        name,
                        cid,
                        f"claim {quote!r}: pattern {claim.get('pattern')!r} finds nothing "
                        f"in the output of cell {claim.get('cell')}",
                    )
                )
                continue
            value = parse_number(match.group(1)) * float(claim.get("scale", 1))
            if not agrees(numbers[0], value):
                problems.append(
                    Problem(
                        name,
                        cid,
                        f"the text says {quote!r} but cell {claim.get('cell')} computes "
                        f"{value:.6g}",
                    )
                )
        exempt = {**EXEMPT, **cell.metadata.get("claims_exempt", {})}
        for match in result_like_numbers(source):
            inside = any(a <= match.start() and match.end() <= b for a, b in covered)
            number = NUMBER.match(match.group(0)).group(0)
            if inside or number in exempt or match.group(0).strip() in exempt:
                continue
            context = source[max(0, match.start() - 30) : match.end() + 10].replace("\n", " ")
            problems.append(
                Problem(
                    name,
                    cid,
                    f"{match.group(0).strip()!r} reads as a result but no claim binds it "
                    f"(…{context}…): add a claim, or a claims_exempt entry with the reason",
                )
            )
    return problems


def lesson_paths() -> list[Path]:
    notebooks = ROOT / "notebooks"
    return sorted(notebooks.glob("[0-9][0-9]_*.ipynb")) + sorted(
        (notebooks / "solutions").glob("*.ipynb")
    )


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or lesson_paths()
    problems = []
    for path in paths:
        problems += check_notebook(nbformat.read(path, as_version=4), path.name)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s) in {len(paths)} notebook(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
