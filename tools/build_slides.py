"""Export every lesson to a reveal.js deck.

Usage::

    python -m tools.build_slides [--offline] [--answers] [--out DIR] [NOTEBOOK ...]

Without NOTEBOOK arguments every ``notebooks/[0-9][0-9]_*.ipynb`` is exported to
``<out>/<name>.slides.html``; ``<out>/index.html`` lists every deck in ``<out>``
(exporting one lesson adds it to the list, it does not drop the others).
``<out>`` is ``build/slides/`` (scripts from a CDN) or, with ``--offline``,
``build/slides-offline/``; a folder holds one kind only, so neither overwrites
the other.

The decks come from the slideshow metadata the lessons carry (``slide``,
``subslide``, ``fragment``, ``notes`` = speaker notes, ``skip``). On top of
nbconvert's reveal template the export

- moves every speaker-notes cell to the start of its slide, so the speaker view
  shows it from the slide's first step (inside a fragment it would appear only
  with that fragment), and leaves the notes' math as TeX (typeset, it showed
  twice in the speaker view);
- hides the code of cells tagged ``remove-input`` (their output stays);
- points links between lessons (``NN_name.ipynb``) at the decks beside it;
- fits slides to the 1280 x 800 canvas: compact code, no ``In [n]:`` prompts,
  long lines wrap, and figures are scaled to the height the slide has free
  (down to ``MIN_IMAGE_SCALE``, up to ``MAX_IMAGE_SCALE``); slides are laid out
  again when a widget or MathJax changes their height, so a deck opened on an
  explorer slide is not pushed down.
  ``tests/browser/test_decks.py`` measures every slide in Chromium.

The widgets' state stored when the lessons were executed is embedded, so each
explorer's sliders and its latest plot appear in the deck (static: moving a
slider needs a kernel, i.e. live slides in JupyterLab).

Answers to the check-your-understanding questions (a markdown cell whose first
line is an "Answers" heading, or one whose source is collapsed) stay out of the
deck, so the lecturer can ask the questions in class; ``--answers`` puts them on
final slides instead.

One set of script versions, pinned in ``tools/slides_assets/package.json``
(reveal.js, require.js, jQuery, MathJax, the widget renderer): online decks load
exactly those versions from jsDelivr; ``--offline`` decks load them from
``<out>/assets/`` (copied from ``node_modules``; ``npm ci`` runs first when it is
missing), so the folder can be opened from disk, copied to a USB stick and
presented with no network.
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import re
import shutil
import subprocess
import sys
import time
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
DEFAULT_OFFLINE_OUT = ROOT / "build" / "slides-offline"
ASSETS_PACKAGE_DIR = Path(__file__).resolve().parent / "slides_assets"
ASSETS_DIRNAME = "assets"
CDN = "https://cdn.jsdelivr.net/npm"
#: Which kind of decks a folder holds (online or offline), so one never overwrites the other.
MODE_FILE = ".decks"

#: The canvas every slide must fit (16:10, scaled to the screen): room for the lessons'
#: 100-character code lines.
SLIDE_WIDTH, SLIDE_HEIGHT = 1280, 800
#: Figures on a tall slide shrink to the height left, but not below this share of their size
#: (smaller, their text stops reading from the back of a room: split the slide instead).
MIN_IMAGE_SCALE = 0.7
#: ... and on a slide with room to spare they grow, up to this (and the slide's width).
MAX_IMAGE_SCALE = 1.5

#: What each script is, where it sits in its npm package (``package/path``), and where it
#: goes in ``<out>/assets``. Versions: ``tools/slides_assets/package.json``, for online and
#: offline decks alike. reveal.js stays on 5 (6 renders blank with nbconvert's template),
#: MathJax on 2 (the template calls ``MathJax.Hub``).
OFFLINE_COPIES: dict[str, tuple[str, str]] = {
    "reveal.js": ("reveal.js", "reveal.js"),
    "require.js": ("requirejs/require.js", "require.js"),
    "jQuery": ("jquery/dist/jquery.min.js", "jquery.min.js"),
    "MathJax": ("mathjax", "mathjax"),
    "widget renderer": ("@jupyter-widgets/html-manager/dist", "html-manager"),
}
_MATHJAX_QUERY = "?config=TeX-AMS_CHTML-full,Safe"
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

#: nbconvert's reveal template, with the changes listed in the module docstring.
_TEMPLATE_NAME = "shortcut_lessons.html.j2"
_TEMPLATE = """{%- extends 'index.html.j2' -%}

{#- The lessons draw no mermaid diagrams: no ES-module import from a CDN. -#}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}

{%- block html_head_css -%}
<style type="text/css">
/* Compact code and output, no prompts: a slide holds ~14 lines of 100 characters. */
:root {
  --jp-code-font-size: 17px;
  --jp-code-line-height: 1.3;
  --jp-cell-prompt-width: 0px;
}
.reveal .jp-InputPrompt, .reveal .jp-OutputPrompt, .reveal .jp-Collapser { display: none; }
.reveal .jp-Cell { padding: 2px 0; }
.reveal .jp-RenderedHTMLCommon :is(p, ul, ol, blockquote, pre, table) { margin: 0.3em 0; }
.reveal .jp-RenderedHTMLCommon :is(h1, h2, h3, h4) { margin: 0.2em 0 0.3em; }
.reveal .jp-RenderedHTMLCommon li + li { margin-top: 0.1em; }
.reveal .jp-InputArea pre, .reveal .jp-OutputArea pre {
  white-space: pre-wrap;
  overflow-wrap: anywhere;
}
.reveal .jp-OutputArea-output pre { font-size: 16px; line-height: 1.25; }
.reveal .jp-RenderedHTMLCommon table { font-size: 18px; }
/* Figures never wider than the slide; their size is fitted by the script below. */
.reveal .slides section img { max-width: 100%; height: auto; }
/* A slide that still does not fit scrolls (the fit test names it) rather than run off. */
html:not(.print-pdf) .reveal .slides section { max-height: SLIDE_HEIGHTpx; overflow-y: auto; }
/* Printed, an explorer's image (drawn by the widget renderer, sometimes after the print layout
   measured its page) is held to a height that leaves room for its controls on one page. */
html.print-pdf .reveal .jupyter-widgets img {
  max-height: 520px; width: auto !important; align-self: flex-start;  /* not stretched wide */
}
</style>
{%- endblock html_head_css -%}

{% block footer_js %}
<script>
require(
    {waitSeconds: 15},
    [
      "{{ resources.reveal.url_prefix }}/dist/reveal.js",
      "{{ resources.reveal.url_prefix }}/plugin/notes/notes.js"
    ],
    function(Reveal, RevealNotes) {
        window.Reveal = Reveal;  // for tools/build_handouts.py and tests/browser/test_decks.py
        Reveal.initialize({
            controls: true,
            progress: true,
            history: true,
            transition: "{{ resources.reveal.transition }}",
            slideNumber: "{{ resources.reveal.number }}",
            plugins: [RevealNotes],
            width: {{ resources.reveal.width }},
            height: {{ resources.reveal.height }},
        });
        var HEIGHT = {{ resources.reveal.height }};
        var MIN_SCALE = MIN_IMAGE_SCALE, MAX_SCALE = MAX_IMAGE_SCALE;

        Reveal.on('slidechanged', function() {
            var slide = Reveal.getCurrentSlide();
            if (window.MathJax && MathJax.Hub && MathJax.Hub.getAllJax(slide).length) {
                MathJax.Hub.Rerender(slide);
            }
        });

        // Scale a slide's figures (together, by one factor) to the height it has free:
        // down to MIN_SCALE on a tall slide, up to MAX_SCALE (and the slide's width) on a
        // short one, so a figure's text reads from the back of the room.
        function fitImages(slide) {
            var images = Array.prototype.filter.call(
                slide.querySelectorAll('img'), function(img) { return img.naturalHeight > 0; });
            images.forEach(function(img) { img.style.width = ''; });
            if (!images.length) return;
            // 24 px to spare: MathJax may re-typeset a line after the figures were fitted
            // (seen: lesson 01's "Why 0.044715?" 4 px over on one run in three).
            var free = HEIGHT - 24 - slide.scrollHeight;
            var total = images.reduce(function(sum, img) { return sum + img.offsetHeight; }, 0);
            var scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, (total + free) / total));
            images.forEach(function(img) {
                img.style.width = Math.floor(img.offsetWidth * scale) + 'px';
            });
        }
        // Widgets, MathJax and images render after Reveal centred the slide on its first
        // height: without a new layout a deck opened on an explorer slide was pushed down.
        var queued = false;
        function refit() {
            if (queued) return;
            queued = true;
            requestAnimationFrame(function() {
                queued = false;
                document.querySelectorAll('.reveal .slides section').forEach(function(s) {
                    if (!s.querySelector('section') && s.scrollHeight > 0) fitImages(s);
                });
                Reveal.layout();
            });
        }
        Reveal.on('ready', function() {
            var observer = new ResizeObserver(refit);
            document.querySelectorAll('.reveal .slides section').forEach(function(s) {
                if (!s.querySelector('section')) observer.observe(s);
            });
            // Every image's load, the explorers' too: their <img> is made by the widget
            // renderer after 'ready' (load does not bubble, so listen while it is captured).
            document.addEventListener('load', function(event) {
                if (event.target.tagName === 'IMG') refit();
            }, true);
            refit();
        });
        Reveal.on('slidechanged', refit);

        // On a slide that is still too tall (it scrolls), a fragment revealed below the
        // fold is scrolled into view: otherwise the step shows nothing.
        Reveal.on('fragmentshown', function(event) {
            var slide = Reveal.getCurrentSlide(), fragment = event.fragment;
            var bottom = fragment.offsetTop + fragment.offsetHeight;
            if (slide.contains(fragment) && bottom > slide.scrollTop + slide.clientHeight) {
                slide.scrollTop = bottom - slide.clientHeight;
            }
        });

        // Resolves once the deck is drawn: Reveal ready, MathJax idle, every widget and
        // image rendered, fitted and laid out (the handouts and the fit test wait for it),
        // with the list of what is still pending: empty when settled. It gives up after
        // maxMs (default 20 s), since a widget renderer that never draws (seen now and then
        // in print mode) must not hang a caller that has no timeout of its own.
        window.deckSettled = function(maxMs) {
            var deadline = Date.now() + (maxMs || 20000);
            function frames(n) {
                return new Promise(function(done) {
                    (function next(k) { k ? requestAnimationFrame(function() { next(k - 1); })
                                          : done(); })(n);
                });
            }
            function pending() {
                var views = document.querySelectorAll(
                    'script[type="application/vnd.jupyter.widget-view+json"]').length;
                var drawn = document.querySelectorAll('.jupyter-widgets.widget-container, '
                    + '.jupyter-widgets-view').length;
                // An empty queue before MathJax's start-up has typeset anything is not idle:
                // wait for its "End" hook (called at once if it has already passed).
                var mathLoaded = !!(window.MathJax && MathJax.Hub && MathJax.Hub.Register);
                if (mathLoaded && !window.__deckMathHooked) {
                    window.__deckMathHooked = true;
                    MathJax.Hub.Register.StartupHook("End", function() {
                        window.__deckMathStarted = true;
                    });
                }
                var mathExpected = !!document.querySelector('script[src*="MathJax"]');
                var mathIdle = !mathExpected && !mathLoaded
                    || (mathLoaded && window.__deckMathStarted && MathJax.Hub.queue
                        && MathJax.Hub.queue.pending === 0 && !MathJax.Hub.queue.running);
                var images = Array.prototype.every.call(
                    document.querySelectorAll('.reveal img'), function(i) { return i.complete; });
                var waiting = [];
                if (!Reveal.isReady()) waiting.push("reveal.js");
                if (!mathIdle) waiting.push("MathJax");
                if (!images) waiting.push("images");
                if (views > 0 && drawn === 0) waiting.push("widgets");
                return waiting;
            }
            return new Promise(function(done) {
                (function poll() {
                    var waiting = pending();
                    if (waiting.length === 0) frames(3).then(function() { done([]); });
                    else if (Date.now() > deadline) done(waiting);
                    else setTimeout(poll, 50);
                })();
            });
        };
    }
);
</script>
{% endblock footer_js %}
"""
for _name, _value in [
    ("SLIDE_HEIGHT", SLIDE_HEIGHT),
    ("MIN_IMAGE_SCALE", MIN_IMAGE_SCALE),
    ("MAX_IMAGE_SCALE", MAX_IMAGE_SCALE),
]:
    _TEMPLATE = _TEMPLATE.replace(_name, str(_value))
_TEMPLATES = DictLoader({_TEMPLATE_NAME: _TEMPLATE})

# "### Answers", "## Solution (exercise 2)", "### Answers to the questions", "Answers:".
_ANSWER_HEADING = re.compile(
    r"^\s*#{1,6}\s*(answers?|solutions?)\s*(\(.*\)|to\b.*|:.*)?\s*$", re.IGNORECASE
)
# [Lesson 02](02_deep_mlp_and_shortcuts.ipynb) or href="02_x.ipynb#part", to the lesson's deck.
_LESSON_LINK = re.compile(r"(\]\(\s*|href=[\"'])(\d\d_[\w.-]*?)\.ipynb(#[^)\"'\s]*)?")
#: Cells tagged so keep their output on the slide, without their code.
REMOVE_INPUT_TAG = "remove-input"


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


# [the lesson map](../README.md#the-lessons): a link to a file of the project, not a lesson.
_PROJECT_FILE_LINK = re.compile(r"\[([^\]]+)\]\((?![a-z][a-z0-9+.-]*:|#)([^)\s]+)\)", re.IGNORECASE)


def lesson_links_to_decks(markdown: str) -> str:
    """Point links to another lesson (``NN_name.ipynb``) at its deck (``NN_name.slides.html``),
    and keep only the words of a link to another file of the project (``../README.md``).

    The decks sit side by side in one folder, away from the notebooks: a relative link to the
    README would point into that folder (and a deck on a USB stick has no README beside it).
    """
    markdown = _LESSON_LINK.sub(lambda m: f"{m.group(1)}{m.group(2)}.slides.html", markdown)
    return _PROJECT_FILE_LINK.sub(
        lambda m: m.group(0) if ".slides.html" in m.group(2) else m.group(1), markdown
    )


def notes_to_slide_start(cells: list) -> list:
    """``cells`` with every speaker-notes cell moved right after the cell opening its slide.

    reveal.js shows notes that sit inside a fragment only while that fragment is the
    current step; at the start of the slide they show from its first step. Notes keep
    their order; notes before the first shown cell stay where they are.
    """
    arranged: list = []
    insert_at = None  # where the current slide's notes go
    for cell in cells:
        kind = slide_type(cell)
        if kind == "notes" and insert_at is not None:
            arranged.insert(insert_at, cell)
            insert_at += 1
            continue
        arranged.append(cell)
        opens_slide = kind in ("slide", "subslide") or (
            insert_at is None and kind not in ("skip", "notes")
        )
        if opens_slide:
            insert_at = len(arranged)
    return arranged


def prepare_for_slides(
    nb: nbformat.NotebookNode, with_answers: bool = False
) -> tuple[nbformat.NotebookNode, int]:
    """A copy of ``nb`` arranged for the deck, and how many answer cells it found.

    Answer cells become ``skip`` cells or, with ``with_answers``, move to the end
    of the deck, each on its own slide. Code cells lose their nbval markers;
    links to other lessons point at their decks; speaker notes move to the start
    of their slide (:func:`notes_to_slide_start`).
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = strip_test_markers(cell.source)
        elif cell.cell_type == "markdown":
            cell.source = lesson_links_to_decks(cell.source)
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
    nb.cells = notes_to_slide_start(nb.cells)
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


def pinned_versions(package_dir: Path = ASSETS_PACKAGE_DIR) -> dict[str, str]:
    """npm package -> exact version, from ``package.json`` (the one place versions live)."""
    manifest = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    versions = manifest["dependencies"]
    loose = {name: v for name, v in versions.items() if not re.fullmatch(r"\d+\.\d+\.\d+", v)}
    if loose:
        raise ValueError(f"{package_dir / 'package.json'}: pin exact versions, not {loose}")
    return versions


def _split_package(src: str) -> tuple[str, str]:
    """``"@scope/name/dist"`` -> ``("@scope/name", "dist")``; ``"jquery/a.js"`` likewise."""
    parts = src.split("/")
    n = 2 if src.startswith("@") else 1
    return "/".join(parts[:n]), "/".join(parts[n:])


def asset_urls(offline: bool, versions: dict[str, str] | None = None) -> dict[str, str]:
    """Where a deck loads each script from: ``<out>/assets/...`` or jsDelivr, same versions."""
    versions = pinned_versions() if versions is None else versions
    urls = {}
    for name, (src, dest) in OFFLINE_COPIES.items():
        if offline:
            urls[name] = f"{ASSETS_DIRNAME}/{dest}"  # relative to the deck, which sits in <out>/
        else:
            package, path = _split_package(src)
            urls[name] = f"{CDN}/{package}@{versions[package]}" + (f"/{path}" if path else "")
    urls["MathJax"] += "/MathJax.js" + _MATHJAX_QUERY
    urls["widget renderer"] += "/embed-amd.js"
    return urls


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


def copy_offline_assets(out: Path, node_modules: Path, link: bool = False) -> Path:
    """Copy the decks' JavaScript and CSS into ``<out>/assets``; return that folder.

    A folder already holding the pinned versions is left as it is (copying takes most of
    an offline build). ``link=True`` symlinks to ``node_modules`` instead (for throw-away
    decks, e.g. the browser tests'; a deck for a USB stick needs real copies).
    """
    assets = out / ASSETS_DIRNAME
    stamp = assets / ".versions.json"
    versions = json.dumps(pinned_versions(node_modules.parent), sort_keys=True)
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == versions and not link:
        return assets
    for src, dest in OFFLINE_COPIES.values():
        source, target = node_modules / src, assets / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if link:
            if target.is_symlink() or target.is_file():
                target.unlink()
            elif target.is_dir():
                shutil.rmtree(target)
            target.symlink_to(source.resolve(), target_is_directory=source.is_dir())
        elif source.is_dir():
            shutil.copytree(source, target, ignore=_IGNORED_IN_COPY, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
    if not link:
        stamp.write_text(versions, encoding="utf-8")
    return assets


def make_exporter(offline: bool) -> SlidesExporter:
    """A SlidesExporter for the lessons, loading the pinned scripts from a CDN or ``assets/``."""
    urls = asset_urls(offline)
    c = Config()
    c.SlidesExporter.reveal_theme = "white"
    c.SlidesExporter.reveal_transition = "none"
    c.SlidesExporter.reveal_number = "c/t"
    c.SlidesExporter.reveal_width = str(SLIDE_WIDTH)
    c.SlidesExporter.reveal_height = str(SLIDE_HEIGHT)
    c.SlidesExporter.reveal_url_prefix = urls["reveal.js"]
    c.SlidesExporter.require_js_url = urls["require.js"]
    c.SlidesExporter.jquery_url = urls["jQuery"]
    c.SlidesExporter.mathjax_url = urls["MathJax"]
    c.SlidesExporter.widget_renderer_url = urls["widget renderer"]
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_input_tags = {REMOVE_INPUT_TAG}
    exporter = SlidesExporter(config=c, extra_loaders=[_TEMPLATES])
    exporter.template_file = _TEMPLATE_NAME
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
    prepared.metadata["title"] = deck_title(notebook)  # the page's <title>, read by the index
    body, _ = exporter.from_notebook_node(
        prepared, resources={"metadata": {"name": notebook.stem, "path": str(notebook.parent)}}
    )
    # MathJax leaves the notes' TeX alone: the speaker view gets their HTML, and typeset
    # math showed there twice (the glyphs and the hidden MathML copy).
    body = body.replace('<aside class="notes">', '<aside class="notes tex2jax_ignore">')
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


def _title_of_deck(deck: Path) -> str:
    """A built deck's title, from its ``<title>`` ("Lesson 01 — GELU slides")."""
    match = re.search(r"<title>(.*?)</title>", deck.read_text(encoding="utf-8"), flags=re.S)
    title = html.unescape(match.group(1)).strip() if match else deck.name
    return title.removesuffix(" slides").strip() or deck.name


def write_index(out: Path) -> Path:
    """``<out>/index.html`` listing every deck in ``out`` (not only the ones just built)."""
    decks = sorted(out.glob("*.slides.html"))
    items = "\n".join(
        f'    <li><a href="{html.escape(deck.name)}">{html.escape(_title_of_deck(deck))}</a>'
        f" ({count_deck_slides(deck.read_text(encoding='utf-8'))} slides)</li>"
        for deck in decks
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


def claim_folder(out: Path, offline: bool) -> None:
    """Mark ``out`` as holding online or offline decks; refuse a folder holding the other kind.

    Without this, ``make slides`` and ``make slides-offline`` writing to one folder would
    silently replace each other's decks.
    """
    mode = "offline" if offline else "online"
    marker = out / MODE_FILE
    if marker.is_file():
        found = marker.read_text(encoding="utf-8").strip()
        if found != mode:
            raise ValueError(
                f"{out} holds {found} decks; write the {mode} ones to another folder "
                f"(--out), or delete {out} first"
            )
    out.mkdir(parents=True, exist_ok=True)
    marker.write_text(mode + "\n", encoding="utf-8")


def build(
    notebooks: list[Path],
    out: Path | None = None,
    offline: bool = False,
    with_answers: bool = False,
    link_assets: bool = False,
) -> list[DeckReport]:
    """Export ``notebooks`` into ``out`` (offline: with local assets); return one report each.

    ``out`` defaults to ``build/slides`` (online) or ``build/slides-offline``;
    ``link_assets``: see :func:`copy_offline_assets`.
    """
    if out is None:
        out = DEFAULT_OFFLINE_OUT if offline else DEFAULT_OUT
    claim_folder(out, offline)
    if offline:
        copy_offline_assets(out, ensure_node_modules(), link=link_assets)
    exporter = make_exporter(offline)
    reports = [export_deck(nb, out, exporter, with_answers=with_answers) for nb in notebooks]
    write_index(out)
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.build_slides", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every lesson")
    parser.add_argument(
        "--out", type=Path, default=None, help="default: build/slides (build/slides-offline)"
    )
    parser.add_argument(
        "--offline", action="store_true", help="load reveal.js & co from <out>/assets (npm)"
    )
    parser.add_argument(
        "--answers",
        action="store_true",
        help="put the answers on final slides (default: leave out)",
    )
    args = parser.parse_args(argv)
    out = args.out or (DEFAULT_OFFLINE_OUT if args.offline else DEFAULT_OUT)
    notebooks = args.notebooks or lesson_notebooks()
    if not notebooks:
        print(f"no lessons matching {LESSON_GLOB} in {NOTEBOOKS_DIR}", file=sys.stderr)
        return 2
    for notebook in notebooks:
        if not notebook.is_file():
            print(f"no such notebook: {notebook}", file=sys.stderr)
            return 2
    try:
        reports = build(notebooks, out, offline=args.offline, with_answers=args.answers)
    except (ValueError, RuntimeError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for r in reports:
        answers = (
            f", {r.answer_cells} answer cell(s) {'at the end' if args.answers else 'left out'}"
        )
        print(f"{r.deck}: {r.slides} slides{answers if r.answer_cells else ''} ({r.seconds:.1f} s)")
    print(f"open {out / 'index.html'}" + (" (works offline)" if args.offline else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
