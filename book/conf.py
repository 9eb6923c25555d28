"""Sphinx configuration of the workbook's site (`make book`; tools/build_book.py stages the sources first).

Sphinx + myst-nb renders the committed, executed notebooks as they are (nb_execution_mode = "off": nothing is
re-run, so the site shows the full-mode outputs that were committed). MathJax 2 comes from the
jupyter-server-mathjax wheel and is served from _static/, so maths renders with no network."""
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
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN: tools/build_book.py replaces live widgets by a note
myst_enable_extensions = ["dollarmath", "amsmath", "html_image", "colon_fence"]
myst_heading_anchors = 3

# maths offline: the MathJax 2 tree that build_book.py copies into _static/mathjax
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
# myst-nb marks each notebook's section `tex2jax_ignore mathjax_ignore` so that only the `math` nodes it made
# (and outputs) are typeset: tell MathJax 2 the same class names
mathjax2_config = {"tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                               "processEscapes": True, "ignoreClass": "tex2jax_ignore|mathjax_ignore",
                               "processClass": "tex2jax_process|mathjax_process|math|output_area"},
                   "messageStyle": "none", "showMathMenu": False,
                   "HTML-CSS": {"availableFonts": [], "webFont": "STIX-Web", "imageFont": None}}

bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

html_theme = "furo"
html_title = project
html_static_path = ["_static"]
html_show_sourcelink = False
html_copy_source = False
