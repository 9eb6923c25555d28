"""Sphinx configuration of the workbook's site (`make book`; tools/build_book.py stages the sources first).

Sphinx + myst-nb renders the committed, executed notebooks as they are (nb_execution_mode = "off": nothing is
re-run, so the site shows the full-mode outputs that were committed). MathJax 3 comes from the
django-static-mathjax wheel and is served from _static/, so maths renders with no network."""
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.template import field, href, join, optional, sentence
project = "The Deep Hashing Workbook"
author = "The Deep Hashing Workbook contributors"
copyright = "2026, " + author

extensions = ["myst_nb", "sphinx.ext.mathjax", "sphinxcontrib.bibtex"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["mystnb.unknown_mime_type"]

# notebooks: never executed here; outputs as committed
nb_execution_mode = "off"
nb_merge_streams = True
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN: tools/build_book.py keeps hu.widgets' static version
# (inline slider/menu over pre-rendered figures) and drops the live view, which needs a kernel
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
myst_enable_extensions = ["dollarmath", "amsmath", "html_image", "colon_fence"]
myst_heading_anchors = 3

# maths offline: MathJax 3 (es5/tex-svg.js and the TeX extensions it may autoload) from the django-static-mathjax
# wheel (plain files, no dependencies), copied by build_book.py into _static/mathjax. SVG output carries its glyphs
# in the script, so no web font is fetched. Sphinx's own MathJax 3 settings typeset exactly the `math` nodes that
# myst-nb writes (a notebook's section is marked mathjax_ignore).
mathjax_path = "mathjax/tex-svg.js"
mathjax3_config = {"options": {"enableMenu": False}}

bibtex_bibfiles = ["references.bib"]


class WorkbookStyle(PlainStyle):
    """pybtex's plain style, plus the public code read for a paper (the `code` field) as a link."""

    def format_web_refs(self, e):
        code = join["Code: ", href[field("code", raw=True), field("code", raw=True)]]
        return sentence[optional[self.format_url(e)], optional[self.format_eprint(e)],
                        optional[self.format_doi(e)], optional[code]]


register_plugin("pybtex.style.formatting", "workbook", WorkbookStyle)
bibtex_default_style = "workbook"
bibtex_reference_style = "author_year"

html_theme = "furo"
html_title = project
html_static_path = ["_static"]
html_css_files = ["workbook.css"]          # code wraps, run links (book/_static)
html_js_files = ["search-no-tex.js"]       # search snippets without raw TeX
html_favicon = "favicon.svg"
html_show_sourcelink = False
html_copy_source = False
