"""Export every lesson to a reveal.js deck.

Usage::

    python -m tools.build_slides [--offline] [--answers] [--out build/slides] [NOTEBOOK ...]

Without NOTEBOOK arguments every ``notebooks/[0-9][0-9]_*.ipynb`` is exported to
``<out>/<name>.slides.html``, plus an ``index.html`` that links the decks.

The decks come from the slideshow metadata the lessons carry (``slide``,
``subslide``, ``fragment``, ``notes`` = speaker notes, ``skip``). The widgets'
state stored when the lessons were executed is embedded, so each explorer's
sliders and its latest plot appear in the deck (static: moving a slider needs a
kernel, i.e. live slides in JupyterLab with jupyterlab-rise).

Answers to the check-your-understanding questions (a markdown cell whose first
line is an "Answers" heading, or one whose source is collapsed) stay out of the
deck, so the lecturer can ask the questions in class; ``--answers`` puts them on
final slides instead.

``--offline``: the decks load reveal.js, require.js, jQuery, MathJax and the
widget renderer from ``<out>/assets/`` (copied from the npm packages pinned in
``tools/slides_assets/package.json``; ``npm ci`` runs first when
``node_modules`` is missing), so the folder can be opened from disk, copied to
a USB stick and presented with no network.
"""

from __future__ import annotations

import argparse
import copy
import html
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbconvert.exporters import SlidesExporter
from traitlets.config import Config

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
LESSON_GLOB = "[0-9][0-9]_*.ipynb"
DEFAULT_OUT = ROOT / "build" / "slides"
ASSETS_PACKAGE_DIR = Path(__file__).resolve().parent / "slides_assets"
ASSETS_DIRNAME = "assets"

#: What each offline asset is, where it sits in node_modules, where it goes in <out>/assets.
#: reveal.js stays on 5 (6 renders blank with nbconvert's template), MathJax on 2
#: (the template calls ``MathJax.Hub``).
OFFLINE_COPIES: dict[str, tuple[str, str]] = {
    "reveal.js": ("reveal.js", "reveal.js"),
    "require.js": ("requirejs/require.js", "require.js"),
    "jQuery": ("jquery/dist/jquery.min.js", "jquery.min.js"),
    "MathJax": ("mathjax", "mathjax"),
    "widget renderer": ("@jupyter-widgets/html-manager/dist", "html-manager"),
}
# Parts of the npm packages a deck never loads (MathJax's unpacked sources and
# non-TeX fonts, reveal.js's sources and examples): ~110 MB less to copy.
_IGNORED_IN_COPY = shutil.ignore_patterns(
    "unpacked",
    "test",
    "Asana-Math",
    "Gyre-Pagella",
    "Gyre-Termes",
    "Latin-Modern",
    "Neo-Euler",
    "STIX-Web",
    "*.map",
    "embed.js",
    "libembed-amd.js",
    "examples",
    "css",  # reveal.js's SCSS sources (the built CSS is in dist/)
    "js",  # reveal.js's ES sources (the bundle is dist/reveal.js)
    "*.md",
)

#: nbconvert's reveal template, plus: long code lines wrap instead of running off
#: the slide's edge.
_TEMPLATE_NAME = "shortcut_lessons.html.j2"
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_css -%}
<style type="text/css">
.reveal .jp-InputArea pre, .reveal .jp-OutputArea pre { white-space: pre-wrap; }
</style>
{%- endblock html_head_css -%}
"""
#: Offline also without the ES-module import of mermaid from a CDN (the lessons
#: draw no mermaid diagrams).
_OFFLINE_TEMPLATE_NAME = "shortcut_lessons_offline.html.j2"
_OFFLINE_TEMPLATE = """{%- extends 'shortcut_lessons.html.j2' -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
_TEMPLATES = DictLoader({_TEMPLATE_NAME: _TEMPLATE, _OFFLINE_TEMPLATE_NAME: _OFFLINE_TEMPLATE})

# "### Answers", "## Solution (exercise 2)", "### Answers to the questions", "Answers:".
_ANSWER_HEADING = re.compile(
    r"^\s*#{1,6}\s*(answers?|solutions?)\s*(\(.*\)|to\b.*|:.*)?\s*$", re.IGNORECASE
)


@dataclass
class DeckReport:
    """What one export produced (printed by ``main`` and asserted on by the tests)."""

    notebook: Path
    deck: Path
    slides: int
    answer_cells: int
    seconds: float


def lesson_notebooks(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Every lesson, ``NN_name.ipynb``, in order."""
    return sorted(notebooks_dir.glob(LESSON_GLOB))


def slide_type(cell: dict) -> str:
    """A cell's slideshow type; cells without metadata continue the current slide (``-``)."""
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")


def is_answer_cell(cell: dict) -> bool:
    """True for a markdown cell holding answers: an "Answers" heading first, or collapsed.

    Lessons put the answers to their check-your-understanding questions in a
    markdown cell with ``"jupyter": {"source_hidden": true}`` and an "Answers"
    heading; either sign is enough. Cells tagged ``answers`` or ``solution``
    count too.
    """
    if cell.get("cell_type") != "markdown":
        return False
    metadata = cell.get("metadata", {})
    tags = {tag.lower() for tag in metadata.get("tags", [])}
    if tags & {"answers", "answer", "solution", "solutions"}:
        return True
    if metadata.get("jupyter", {}).get("source_hidden"):
        return True
    first_line = next((line for line in cell.get("source", "").splitlines() if line.strip()), "")
    return bool(_ANSWER_HEADING.match(first_line))


def strip_test_markers(source: str) -> str:
    """Drop the leading ``# NBVAL_...`` marker (and a ``# (why: ...)`` line under it).

    They tell nbval how to compare a cell's output; on a slide they are noise.
    """
    lines = source.splitlines()
    if not lines or not lines[0].lstrip().startswith("# NBVAL_"):
        return source
    lines.pop(0)
    while lines and lines[0].lstrip().startswith("# (why"):
        lines.pop(0)
    return "\n".join(lines)


def prepare_for_slides(
    nb: nbformat.NotebookNode, with_answers: bool = False
) -> tuple[nbformat.NotebookNode, int]:
    """A copy of ``nb`` arranged for the deck, and how many answer cells it found.

    Answer cells become ``skip`` cells or, with ``with_answers``, move to the end
    of the deck, each on its own slide. Code cells lose their nbval markers.
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = strip_test_markers(cell.source)
    answers = [cell for cell in nb.cells if is_answer_cell(cell)]
    for cell in answers:
        cell.metadata.setdefault("slideshow", {})["slide_type"] = "skip"
        # A collapsed source would be exported collapsed (invisible) on its slide.
        cell.metadata.get("jupyter", {}).pop("source_hidden", None)
    if with_answers and answers:
        nb.cells = [cell for cell in nb.cells if not any(cell is answer for answer in answers)]
        for cell in answers:
            cell.metadata["slideshow"]["slide_type"] = "slide"
            nb.cells.append(cell)
    return nb, len(answers)


def expected_slide_count(nb: nbformat.NotebookNode) -> int:
    """How many slides (slides + subslides) nbconvert makes from ``nb``'s metadata.

    The first shown cell always opens a slide, whatever its type; every later
    ``slide`` or ``subslide`` cell opens another. ``skip`` and ``notes`` cells
    open none.
    """
    shown = [cell for cell in nb.cells if slide_type(cell) not in ("skip", "notes")]
    if not shown:
        return 0
    return 1 + sum(slide_type(cell) in ("slide", "subslide") for cell in shown[1:])


def count_deck_slides(deck_html: str) -> int:
    """Slides in an exported deck: ``<section>`` elements that hold no other section."""
    count = 0
    depth_has_child: list[bool] = []
    for match in re.finditer(r"<(/?)section\b", deck_html):
        if match.group(1):  # closing tag
            had_child = depth_has_child.pop()
            if not had_child:
                count += 1
        else:
            if depth_has_child:
                depth_has_child[-1] = True
            depth_has_child.append(False)
    return count


def ensure_node_modules(package_dir: Path = ASSETS_PACKAGE_DIR) -> Path:
    """Install the offline assets with npm unless they are already there."""
    node_modules = package_dir / "node_modules"
    missing = [
        name for name, (src, _) in OFFLINE_COPIES.items() if not (node_modules / src).exists()
    ]
    if not missing:
        return node_modules
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            f"--offline needs the npm packages in {package_dir}/package.json "
            f"(missing: {', '.join(missing)}) and npm is not on PATH; install Node.js + npm, "
            "or build the online decks with `make slides`"
        )
    command = "ci" if (package_dir / "package-lock.json").exists() else "install"
    print(f"npm {command} in {package_dir} (offline slide assets)...", flush=True)
    subprocess.run(
        [npm, command, "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=package_dir,
        check=True,
    )
    return node_modules


def copy_offline_assets(out: Path, node_modules: Path) -> Path:
    """Copy the decks' JavaScript and CSS into ``<out>/assets``; return that folder."""
    assets = out / ASSETS_DIRNAME
    for src, dest in OFFLINE_COPIES.values():
        source, target = node_modules / src, assets / dest
        if source.is_dir():
            shutil.copytree(source, target, ignore=_IGNORED_IN_COPY, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return assets


def make_exporter(offline: bool) -> SlidesExporter:
    """A SlidesExporter for the lessons; offline, every script and style sheet is local."""
    c = Config()
    c.SlidesExporter.reveal_theme = "white"
    c.SlidesExporter.reveal_transition = "none"
    c.SlidesExporter.reveal_number = "c/t"
    c.SlidesExporter.reveal_scroll = True
    # 1280 x 800 (16:10, scaled to the screen): room for the lessons' 100-character code lines.
    c.SlidesExporter.reveal_width = "1280"
    c.SlidesExporter.reveal_height = "800"
    if not offline:
        exporter = SlidesExporter(config=c, extra_loaders=[_TEMPLATES])
        exporter.template_file = _TEMPLATE_NAME
        return exporter
    prefix = ASSETS_DIRNAME  # relative to the deck, which sits in <out>/
    c.SlidesExporter.reveal_url_prefix = f"{prefix}/reveal.js"
    c.SlidesExporter.require_js_url = f"{prefix}/require.js"
    c.SlidesExporter.jquery_url = f"{prefix}/jquery.min.js"
    c.SlidesExporter.mathjax_url = f"{prefix}/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
    c.SlidesExporter.widget_renderer_url = f"{prefix}/html-manager/embed-amd.js"
    exporter = SlidesExporter(config=c, extra_loaders=[_TEMPLATES])
    exporter.template_file = _OFFLINE_TEMPLATE_NAME
    return exporter


def export_deck(
    notebook: Path, out: Path, exporter: SlidesExporter, with_answers: bool = False
) -> DeckReport:
    """Export one lesson to ``<out>/<stem>.slides.html``."""
    start = time.perf_counter()
    nb = nbformat.read(notebook, as_version=4)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    has_views = any(
        "application/vnd.jupyter.widget-view+json" in output.get("data", {})
        for cell in code_cells
        for output in cell.outputs
    )
    if code_cells and all(cell.execution_count is None for cell in code_cells):
        print(f"warning: {notebook.name} is not executed: its deck has no outputs", file=sys.stderr)
    elif has_views and "widgets" not in nb.metadata:
        print(
            f"warning: {notebook.name} shows widgets but stores no widget state; execute it "
            "with `python -m tools.execute_notebooks` so its explorers appear in the deck",
            file=sys.stderr,
        )
    prepared, n_answers = prepare_for_slides(nb, with_answers=with_answers)
    body, _ = exporter.from_notebook_node(
        prepared, resources={"metadata": {"name": notebook.stem, "path": str(notebook.parent)}}
    )
    deck = out / f"{notebook.stem}.slides.html"
    deck.write_text(body, encoding="utf-8")
    return DeckReport(
        notebook=notebook,
        deck=deck,
        slides=count_deck_slides(body),
        answer_cells=n_answers,
        seconds=time.perf_counter() - start,
    )


def deck_title(notebook: Path) -> str:
    """The lesson's first markdown heading, else its file name."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.lstrip().startswith("#"):
                    return line.lstrip("# ").strip()
    return notebook.stem


def write_index(out: Path, reports: Iterable[DeckReport]) -> Path:
    """An ``index.html`` listing the decks (open it from disk or a web server)."""
    items = "\n".join(
        f'    <li><a href="{html.escape(r.deck.name)}">{html.escape(deck_title(r.notebook))}</a>'
        f" ({r.slides} slides)</li>"
        for r in reports
    )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Shortcut Lessons: slides</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
  <h1>Shortcut Lessons: slides</h1>
  <p>Arrow keys move between slides, <kbd>S</kbd> opens the speaker notes,
  <kbd>Esc</kbd> the overview, <kbd>F</kbd> full screen.</p>
  <ol>
{items}
  </ol>
</body>
</html>
"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def build(
    notebooks: list[Path],
    out: Path = DEFAULT_OUT,
    offline: bool = False,
    with_answers: bool = False,
) -> list[DeckReport]:
    """Export ``notebooks`` into ``out`` (offline: with local assets); return one report each."""
    out.mkdir(parents=True, exist_ok=True)
    if offline:
        copy_offline_assets(out, ensure_node_modules())
    exporter = make_exporter(offline)
    reports = [export_deck(nb, out, exporter, with_answers=with_answers) for nb in notebooks]
    write_index(out, reports)
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.build_slides", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every lesson")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: build/slides")
    parser.add_argument(
        "--offline", action="store_true", help="load reveal.js & co from <out>/assets (npm)"
    )
    parser.add_argument(
        "--answers",
        action="store_true",
        help="put the answers on final slides (default: leave out)",
    )
    args = parser.parse_args(argv)
    notebooks = args.notebooks or lesson_notebooks()
    if not notebooks:
        print(f"no lessons matching {LESSON_GLOB} in {NOTEBOOKS_DIR}", file=sys.stderr)
        return 2
    for notebook in notebooks:
        if not notebook.is_file():
            print(f"no such notebook: {notebook}", file=sys.stderr)
            return 2
    try:
        reports = build(notebooks, args.out, offline=args.offline, with_answers=args.answers)
    except (RuntimeError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for r in reports:
        answers = (
            f", {r.answer_cells} answer cell(s) {'at the end' if args.answers else 'left out'}"
        )
        print(f"{r.deck}: {r.slides} slides{answers if r.answer_cells else ''} ({r.seconds:.1f} s)")
    print(f"open {args.out / 'index.html'}" + (" (works offline)" if args.offline else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
