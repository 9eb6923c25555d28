"""COURSE.md, notebooks/NOTATION.md and the notebooks' headers tell one story.

- Prerequisites: each notebook's **Prerequisites.** line names the notebooks that COURSE.md's "needs" column and its
  dependency tree give for it.
- Titles: COURSE.md lists every notebook, under a name its title carries; every header has the learning objectives,
  prerequisites and measured run time that COURSE.md promises, and links NOTATION.md. The exercises COURSE.md
  suggests ("06's Exercise 3 (topic)") exist and are about that topic.
- Symbols: every symbol a notebook's Notation section uses is in NOTATION.md, and NOTATION.md's index of the symbols
  each notebook adds equals the notebook's own list; a letter that two notebooks add has a row or heading in
  NOTATION.md (the method-local table names exactly the notebooks that add it), and a main-table symbol that a
  notebook redefines is explained, with that notebook, among the clashes; the clash tables have the rows they
  announce, name sections that use the letter, and give values the notebooks set.
- The tie lesson is one sentence, the same wherever it is taught, with a pointer to notebook 00's measurement.

Each check is a function that returns the problems it finds (naming the notebook and the mismatch); the negative
cases at the end break a copy of the text and show that each check fails.
"""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = {p.name[:2]: p for p in sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))}

# The tie lesson, in the words every place that teaches it uses (notebooks 00, 09, 10, COURSE.md, docs/evaluation.md).
TIE_LESSON = "Only tie groups that mix relevant and irrelevant items move AP; group size alone does not."
# Where it is taught: (file, section heading of a notebook or None for a whole markdown page).
TIE_PLACES = [("00", "5 · How much do ties move mAP on real codes?"), ("00", "Summary"), ("09", "Derivation"),
              ("09", "Experiment"), ("10", "Derivation"), ("COURSE.md", None), ("docs/evaluation.md", None)]

HEADER_SECTIONS = {"What you will build", "Notation"}  # sections that still belong to a notebook's header


# ---------------------------------------------------------------------------------------------------------- reading
@functools.lru_cache(maxsize=None)
def cells(number: str) -> tuple[tuple[str, str], ...]:
    """(cell_type, source) of every cell of notebook `number`."""
    nb = json.loads(NOTEBOOKS[number].read_text())
    return tuple((c["cell_type"], "".join(c["source"])) for c in nb["cells"])


def sections(nb_cells) -> dict[str, list[tuple[str, str]]]:
    """Cells by their level-2 section ("## Name"); cells before the first heading go under "(top)"."""
    out, current = {}, "(top)"
    for kind, src in nb_cells:
        if kind == "markdown":
            heads = re.findall(r"^## (.+)$", src, re.M)
            if heads:
                current = heads[0].strip()
        out.setdefault(current, []).append((kind, src))
    return out


def header(nb_cells) -> str:
    """The header's markdown: everything before the first section that is not "What you will build" or "Notation"."""
    parts = []
    for kind, src in nb_cells:
        heads = re.findall(r"^## (.+)$", src, re.M) if kind == "markdown" else []
        if any(h.strip() not in HEADER_SECTIONS for h in heads):
            parts.append(src.split("\n## " + next(h for h in heads if h.strip() not in HEADER_SECTIONS))[0])
            break
        if kind == "markdown":
            parts.append(src)
    return "\n\n".join(parts)


def notation_text(nb_cells) -> str:
    """A notebook's Notation section ("## Notation" cell), or its "**Notation.**" paragraph."""
    for kind, src in nb_cells:
        if kind == "markdown" and re.search(r"^## Notation\s*$", src, re.M):
            return src[src.index("## Notation"):]
        if kind == "markdown" and "**Notation.**" in src:
            return src[src.index("**Notation.**"):].split("\n\n")[0]
    return ""


def course_text() -> str:
    return (ROOT / "COURSE.md").read_text()


def notation_md() -> str:
    return (NB_DIR / "NOTATION.md").read_text()


def flat(text: str) -> str:
    """Whitespace collapsed, markdown emphasis dropped: for finding a sentence across line breaks."""
    return re.sub(r"\s+", " ", re.sub(r"\*\*|__", "", text)).strip()


# ------------------------------------------------------------------------------------------------- prerequisites
def notebook_set(text: str) -> tuple[frozenset[str], bool]:
    """The notebook numbers a prerequisite phrase names (ranges 01–08 expanded) and whether it asks for only one of
    them ("at least one of", "any of")."""
    nums = set()
    for a, b in re.findall(r"\b(\d\d)\b(?:\s*[–-]\s*(\d\d)\b)?", text):
        nums |= {f"{i:02d}" for i in range(int(a), int(b or a) + 1)}
    return frozenset(nums), bool(re.search(r"\bone of\b|\bany\b|at least one", text))


def header_prerequisites(head: str) -> tuple[frozenset[str], bool] | None:
    """From the header's "**Prerequisites.** ..." line: its notebook part (up to "Maths:", ";" or a full stop)."""
    found = re.findall(r"\*\*Prerequisites\.\*\*\s*(.*?)(?:\n\n|$)", head, re.S)
    if len(found) != 1:
        return None
    return notebook_set(re.split(r"Maths:|;|\.(?:\s|$)", found[0], maxsplit=1)[0])


def course_needs(course: str) -> dict[str, tuple[str, tuple[frozenset[str], bool]]]:
    """COURSE.md's table "| notebook | needs | ...": number -> (name, prerequisites)."""
    table = course.split("| notebook | needs |", 1)[1].split("\n\n", 1)[0]
    out = {}
    for name, needs in re.findall(r"^\| (\d\d [^|]+?) \| ([^|]+?) \|", table, re.M):
        out[name[:2]] = (name[3:], notebook_set(needs))
    return out


def course_tree(course: str) -> dict[str, tuple[str | None, tuple[frozenset[str], bool] | None]]:
    """COURSE.md's dependency tree: number -> (parent in the tree, the "needs ..." of a top-level line)."""
    block = course.split("## Which notebook needs which", 1)[1].split("```", 2)[1]
    out, stack = {}, []                     # stack of (column, number)
    for line in block.splitlines():
        m = re.search(r"\b(\d\d) ", line)
        if not m:
            continue
        col, number = m.start(1), m[1]
        while stack and stack[-1][0] >= col:
            stack.pop()
        needs = re.search(r"\bneeds (.*?)(?:\(|$)", line)
        out[number] = (stack[-1][1] if stack else None, notebook_set(needs[1]) if needs else None)
        stack.append((col, number))
    return out


def said(prerequisites: tuple[frozenset[str], bool]) -> str:
    numbers, one_of = prerequisites
    return (", ".join(sorted(numbers)) or "none") + (" (some only as 'at least one of')" if one_of else "")


def prerequisite_problems(course: str, headers: dict[str, str]) -> list[str]:
    problems = []
    table, tree = course_needs(course), course_tree(course)
    for number, head in headers.items():
        own = header_prerequisites(head)
        if own is None:
            problems.append(f"{number}: the header needs exactly one '**Prerequisites.**' line")
            continue
        if number not in table:
            problems.append(f"{number}: missing from COURSE.md's 'needs' table")
        elif table[number][1] != own:
            problems.append(f"{number}: COURSE.md needs {said(table[number][1])}, "
                            f"the header's Prerequisites name {said(own)}")
        if number not in tree:
            problems.append(f"{number}: missing from COURSE.md's dependency tree")
            continue
        parent, needs = tree[number]
        if parent is not None and parent not in own[0]:
            problems.append(f"{number}: COURSE.md's tree puts it under {parent}, which its Prerequisites do not name")
        if needs is not None and needs != own:
            problems.append(f"{number}: COURSE.md's tree says it needs {said(needs)}, "
                            f"the header's Prerequisites name {said(own)}")
    return problems


# ----------------------------------------------------------------------------------------- titles and header parts
def title_problems(course: str, headers: dict[str, str]) -> list[str]:
    problems = []
    table = course_needs(course)
    for number in sorted(set(table) - set(headers)):
        problems.append(f"{number}: COURSE.md lists a notebook that does not exist")
    for number, head in headers.items():
        title = re.match(rf"# {number} · (.+)", head)
        if not title:
            problems.append(f"{number}: the first cell does not start with '# {number} · <title>'")
            continue
        if number not in table:
            problems.append(f"{number}: not listed in COURSE.md's table")
        elif table[number][0].casefold() not in title[1].casefold():
            problems.append(f"{number}: COURSE.md calls it {table[number][0]!r}, its title is {title[1]!r}")
    return problems


def header_part_problems(headers: dict[str, str]) -> list[str]:
    """COURSE.md: "Each notebook's header gives its learning objectives, prerequisites and measured run time"."""
    problems = []
    for number, head in headers.items():
        if not re.search(r"\*\*Learning objectives[^\n]*\n(- [^\n]+\n?){2,}", head):
            problems.append(f"{number}: the header has no '**Learning objectives**' list of at least two items")
        if len(re.findall(r"^\*\*Measured run time:\*\* <!-- runtime -->", head, re.M)) != 1 or "Run time." in head:
            problems.append(f"{number}: the header needs one line starting '**Measured run time:** <!-- runtime -->'")
        if "](NOTATION.md)" not in head:
            problems.append(f"{number}: the header does not link NOTATION.md")
    return problems


def exercise_text(nb_cells, n: int) -> str:
    """Exercise `n` of a notebook: its "**Exercise n" cell, or item "n." of the list under "## Exercises"."""
    for kind, src in sections(nb_cells).get("Exercises", []):
        if kind != "markdown":
            continue
        m = re.search(rf"^\*\*Exercise {n}\b.*?(?:\n\n|\Z)", src, re.M | re.S) or \
            re.search(rf"^{n}\. .*?(?=^\d+\. |\Z)", src, re.M | re.S)
        if m:
            return m[0]
    return ""


def exercise_reference_problems(course: str, notebook_cells: dict[str, tuple]) -> list[str]:
    """COURSE.md's "NN's Exercise N (topic)": the exercise exists and is about the topic (half its long words)."""
    problems = []
    refs = re.findall(r"(\d\d)'s Exercise (\d+)\s*\(([^)]*)\)", course)
    if not refs:
        problems.append("COURSE.md suggests no exercise as \"NN's Exercise N (topic)\"")
    for number, n, topic in refs:
        text = exercise_text(notebook_cells.get(number, ()), int(n)).casefold()
        words = {w for w in re.findall(r"[a-z][a-z-]{4,}", topic.casefold())}
        if not text:
            problems.append(f"{number}: COURSE.md suggests its Exercise {n}, which does not exist")
        elif 2 * sum(w in text for w in words) < len(words):
            problems.append(f"{number}: COURSE.md suggests Exercise {n} for ({topic}), but the exercise is about "
                            f"something else: {text[:120]!r}")
    return problems


# ------------------------------------------------------------------------------------------------------- notation
def math_spans(text: str) -> list[str]:
    return [a or b for a, b in re.findall(r"\$\$(.+?)\$\$|\$([^$\n]+)\$", text, re.S)]


def split_top(span: str) -> list[str]:
    """Split a math span at the commas outside brackets: "\\alpha, \\beta" -> two symbols, "[0,1]" -> one."""
    parts, depth, cur = [], 0, ""
    for ch in span:
        depth += ch in "{[("
        depth -= ch in "}])"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [p for p in (q.strip() for q in parts + [cur]) if p and p not in ("\\dots", "\\ldots", "…")]


def heads(text: str) -> list[str]:
    """The symbols a piece of markdown names: each math span's part before '=', '\\in' or '(' (commas split)."""
    out = []
    for span in math_spans(text):
        for part in split_top(span):
            head = re.split(r"\s*(?:=|\\in\b|\(|\\le\b|\\ge\b)", part)[0].strip()
            if head and not re.fullmatch(r"[-+\d.\s]+", head):
                out.append(re.sub(r"\s+", " ", head))
    return out


def base(symbol: str) -> str:
    """The letter under a symbol: '\\bar w_i' -> 'w', '\\mu_c' -> '\\mu', 'C_{\\mathrm{mat}}' -> 'C'."""
    s = re.sub(r"^\\(?:bar|hat|tilde|mathrm|operatorname)\s*\{?", "", symbol)
    return re.match(r"\\[A-Za-z]+|[A-Za-z]", s)[0]


def uses_letter(text: str, letter: str) -> bool:
    """Whether some math span of `text` uses `letter` as a symbol (not as part of a longer name)."""
    pat = re.compile(rf"(?<![\\A-Za-z]){re.escape(letter)}(?![A-Za-z])")
    return any(pat.search(span) for span in math_spans(text))


def table_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.startswith("|") and not line.startswith("|---")][1:]


def table_rows_anywhere(text: str) -> list[list[str]]:
    """The body rows of every markdown table in `text`."""
    blocks = re.findall(r"(?:^\|.*\n?)+", text, re.M)   # runs of consecutive table lines
    return [row for block in blocks for row in table_rows(block)]


def notation_index(notation: str) -> dict[str, set[str]]:
    """NOTATION.md's "Symbols each notebook adds": number -> symbols."""
    part = notation.split("## Symbols each notebook adds", 1)[1]
    table = part[part.index("| notebook |"):].split("\n\n", 1)[0]
    return {row[0][:2]: set(heads(row[1])) for row in table_rows(table)}


def added_by_table(note: str) -> set[str] | None:
    """The first column of the symbol table in a notebook's Notation section, or None if it has no table."""
    if "| symbol |" not in note:
        return None
    table = note[note.index("| symbol |"):].split("\n\n", 1)[0]
    return {h for row in table_rows(table) for h in heads(row[0])}


def prose(note: str) -> str:
    return "\n".join(line for line in note.splitlines() if not line.startswith("|"))


def notation_problems(notation: str, notes: dict[str, str]) -> list[str]:
    problems = []
    shared = notation.split("## Symbols each notebook adds", 1)[0]     # the main table and the clashes
    known = set(heads(shared))
    index = notation_index(notation)
    for number, note in notes.items():
        if not note:
            problems.append(f"{number}: no '## Notation' section or '**Notation.**' paragraph")
            continue
        if number not in index:
            problems.append(f"{number}: missing from NOTATION.md's 'Symbols each notebook adds'")
            continue
        listed, table = index[number], added_by_table(note)
        if table is not None and table != listed:
            problems.append(f"{number}: its Notation table adds {sorted(table - listed)} that NOTATION.md's index "
                            f"lacks, and the index lists {sorted(listed - table)} that the table lacks")
        mentioned = set(heads(prose(note))) | (table or set())
        if table is None and not listed <= mentioned:
            problems.append(f"{number}: NOTATION.md's index lists {sorted(listed - mentioned)}, "
                            "which its Notation section does not mention")
        unknown = sorted(s for s in set(heads(prose(note))) - known - listed if not s.startswith("\\mathrm"))
        if unknown:
            problems.append(f"{number}: its Notation section uses {unknown}, which NOTATION.md neither defines "
                            "nor lists for it")
    by_letter: dict[str, set[str]] = {}
    for number, symbols in index.items():
        for s in symbols:
            by_letter.setdefault(base(s), set()).add(number)
    explained = {base(h) for row in table_rows_anywhere(shared) for h in heads(row[0])}
    explained |= {base(h) for h in re.findall(r"\*\*\$([^$]+)\$", shared)}   # "**$\mu$ has five meanings**"
    for letter, numbers in sorted(by_letter.items()):
        if len(numbers) > 1 and letter not in explained:
            problems.append(f"${letter}$ is added by notebooks {sorted(numbers)} but NOTATION.md's main table and "
                            "clashes have no row or heading for it")
    main = shared.split("## Notation clashes", 1)[0]
    clashes = shared[len(main):]
    pieces = [p for block in re.split(r"\n\s*\n", clashes)      # table rows and sentences
              for p in (block.splitlines() if block.startswith("|") else re.split(r"(?<=\.)\s+", block))]
    for number, symbols in sorted(index.items()):
        for symbol in sorted(symbols & {h for row in table_rows_anywhere(main) for h in heads(row[0])}):
            if not any(uses_letter(p, symbol) and re.search(rf"\b{number}\b", p) for p in pieces):
                problems.append(f"{number}: its Notation table re-lists ${symbol}$ of NOTATION.md's main table, but "
                                f"the clashes never say how {number} uses it")
    local = shared.split("**Method-local letters.**", 1)[1] if "**Method-local letters.**" in shared else ""
    if not local:
        problems.append("NOTATION.md has no '**Method-local letters.**' table")
    for row in table_rows_anywhere(local):
        named = set(re.findall(r"\b(\d\d)\b", row[1]))
        for letter in {base(h) for h in heads(row[0])}:
            adding = by_letter.get(letter, set())
            if named != adding:
                problems.append(f"NOTATION.md's method-local row for ${letter}$ names notebooks {sorted(named)}, "
                                f"but the notebooks whose Notation adds it are {sorted(adding)}")
    return problems


NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


def clash_problems(notation: str, notebook_cells: dict[str, tuple]) -> list[str]:
    """The clash tables ("**$X$ has N meanings**"): N rows, and each named notebook (section) uses the letter."""
    problems = []
    if re.search(r"\(c\d+", notation):
        problems.append("NOTATION.md names cells by number (c12): name the section instead, cell numbers drift")
    clash_tables = re.findall(r"\*\*\$(\\?\w+)\$ has (\w+) meanings[^\n]*\n+(.*?)(?:\n\n|$)", notation, re.S)
    for letter, word, rest in clash_tables:
        rows = table_rows(rest)
        if NUMBER_WORDS.get(word) != len(rows):
            problems.append(f"NOTATION.md: ${letter}$ 'has {word} meanings' but its table has {len(rows)} rows")
        for row in rows:
            value_of = rf"\b(\d\d) .*?\|.*\|[^|]*?\${re.escape(letter)} = ([\d.]+)\$"   # "| paper $\mu = 0.625$ |"
            for number, value in re.findall(value_of, "|".join(row)):
                text = "\n".join(src for _, src in notebook_cells.get(number, ()))
                name = letter.lstrip("\\")
                if not re.search(rf"(?:\\{name}|\b{name})\s*=\s*{re.escape(value)}(?![\d.])", text):
                    problems.append(f"{number}: NOTATION.md gives ${letter} = {value}$, the notebook never sets it")
            for number, secs in re.findall(r"\b(\d\d) [^,(|]+(?:\(([^)]*)\))?", row[0]):
                if number not in notebook_cells:
                    problems.append(f"NOTATION.md: ${letter}$ row names notebook {number}, which does not exist")
                    continue
                by_section = sections(notebook_cells[number])
                names = [s.strip() for s in secs.split(",")] if secs else [None]
                for name in names:
                    if name is not None and name not in by_section:
                        problems.append(f"{number}: NOTATION.md's ${letter}$ row names a section {name!r} it lacks")
                        continue
                    text = "\n".join(src for kind, src in (by_section[name] if name else notebook_cells[number])
                                     if kind == "markdown")
                    if not uses_letter(text, letter):
                        problems.append(f"{number}: NOTATION.md says {('section ' + repr(name)) if name else 'it'} "
                                        f"uses ${letter}$, but it does not")
    return problems


# ------------------------------------------------------------------------------------------------------ tie lesson
def tie_places() -> dict[str, str | None]:
    """The text of every place that teaches the tie lesson (notebook sections: markdown only, exercises excluded)."""
    out = {}
    for where, section in TIE_PLACES:
        if section is None:
            out[where] = (ROOT / where).read_text()
        else:
            by_section = sections(cells(where))
            out[f"{where} ({section})"] = "\n\n".join(
                src for kind, src in by_section[section] if kind == "markdown") if section in by_section else None
    return out


def tie_problems(places: dict[str, str | None]) -> list[str]:
    problems = []
    lesson = flat(TIE_LESSON).casefold().rstrip(".")   # a bracket may follow the sentence before its full stop
    for where, text in places.items():
        if text is None:
            problems.append(f"{where}: no such section (TIE_PLACES in tests/test_course.py names the places)")
            continue
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if lesson in flat(p).casefold()]
        if not paragraphs:
            problems.append(f"{where}: does not state the tie lesson as {TIE_LESSON!r}")
        elif not where.startswith("00") and not any(re.search(r"[Nn]otebook 00", p) for p in paragraphs):
            problems.append(f"{where}: states the tie lesson without pointing to notebook 00's measurement")
    return problems


def tie_evidence_problems(nb_cells) -> list[str]:
    """Notebook 00's section on ties measures the lesson: a code cell asserts spread against mixed groups."""
    section = sections(nb_cells).get(TIE_PLACES[0][1], [])
    if not any(kind == "code" and "assert" in src and "spread" in src and "mixed" in src for kind, src in section):
        return ["00: the tie section has no code cell asserting the spread against the mixed groups"]
    return []


# ------------------------------------------------------------------------------------------------------- the tests
def all_headers() -> dict[str, str]:
    return {n: header(cells(n)) for n in NOTEBOOKS}


def all_notes() -> dict[str, str]:
    return {n: notation_text(cells(n)) for n in NOTEBOOKS}


def test_there_are_notebooks_to_check():
    assert len(NOTEBOOKS) >= 11 and "00" in NOTEBOOKS and "10" in NOTEBOOKS


def test_prerequisites_agree_with_course_map():
    assert prerequisite_problems(course_text(), all_headers()) == []


def test_course_lists_every_notebook_under_its_title():
    assert title_problems(course_text(), all_headers()) == []


def test_headers_give_what_the_course_map_promises():
    assert header_part_problems(all_headers()) == []


def test_course_map_suggests_exercises_that_exist():
    assert exercise_reference_problems(course_text(), {n: cells(n) for n in NOTEBOOKS}) == []


def test_notation_sections_agree_with_notation_md():
    assert notation_problems(notation_md(), all_notes()) == []


def test_notation_clash_tables_point_to_real_uses():
    assert clash_problems(notation_md(), {n: cells(n) for n in NOTEBOOKS}) == []


def test_one_tie_lesson_everywhere():
    assert tie_problems(tie_places()) == []
    assert tie_evidence_problems(cells("00")) == []


# Negative cases: each check, fed a copy of the real text with one disagreement put in, reports it.
def _swap(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_prerequisite_check_fails_on_a_mismatch():
    course, headers = course_text(), all_headers()
    broken = dict(headers, **{"06": re.sub(r"(\*\*Prerequisites\.\*\*)[^\n]*", r"\1 Notebooks 00 and 04; maths.",
                                             headers["06"], count=1)})
    assert any(p.startswith("06: COURSE.md needs") for p in prerequisite_problems(course, broken))
    assert any("06: COURSE.md's tree" in p for p in prerequisite_problems(course, broken))
    moved = _swap(course, "| 10 protocols | 00, 01, 09 |", "| 10 protocols | 00, 01 |")
    assert any(p.startswith("10: COURSE.md needs") for p in prerequisite_problems(moved, headers))
    one_of = _swap(course, "| 00 and at least one of 01–08 |", "| 00–08 |")
    assert any(p.startswith("09:") for p in prerequisite_problems(one_of, headers))
    nested = _swap(course, "├─ 06 OrthoHash", "│   └─ 06 OrthoHash").replace(
        "├─ 04 ADSH: angular margins on the hypersphere (SphereFace, CosFace)\n     │",
        "├─ 04 ADSH: angular margins on the hypersphere (SphereFace, CosFace)\n     ")
    assert "06: COURSE.md's tree puts it under 04, which its Prerequisites do not name" in \
        prerequisite_problems(nested, headers)
    twice = dict(headers, **{"02": headers["02"] + "\n\n**Prerequisites.** Notebook 01."})
    assert "02: the header needs exactly one '**Prerequisites.**' line" in prerequisite_problems(course, twice)


def test_title_and_header_checks_fail_on_a_mismatch():
    course, headers = course_text(), all_headers()
    assert any(p.startswith("03: COURSE.md calls it") for p in
               title_problems(_swap(course, "| 03 SHC |", "| 03 SHCX |"), headers))
    assert "05: not listed in COURSE.md's table" in title_problems(
        re.sub(r"^\| 05 PSLDH .*\n", "", course, flags=re.M), headers)
    assert "11: COURSE.md lists a notebook that does not exist" in title_problems(
        _swap(course, "| 10 protocols |", "| 11 extra | 00 | — | — |\n| 10 protocols |"), headers)
    nbs = {n: cells(n) for n in NOTEBOOKS}
    assert "06: COURSE.md suggests its Exercise 9, which does not exist" in exercise_reference_problems(
        _swap(course, "06's Exercise 3", "06's Exercise 9"), nbs)
    assert any(p.startswith("06: COURSE.md suggests Exercise 1 for") for p in exercise_reference_problems(
        _swap(course, "06's Exercise 3", "06's Exercise 1"), nbs))
    assert any(p.startswith("00: COURSE.md suggests Exercise 4 for") for p in exercise_reference_problems(
        _swap(course, "00's Exercise 3", "00's Exercise 4"), nbs))
    broken = dict(headers, **{"04": _swap(headers["04"], "**Learning objectives", "**Goals")})
    assert any(p.startswith("04: the header has no '**Learning objectives**'") for p in header_part_problems(broken))
    twice = dict(headers, **{"05": _swap(headers["05"], "**Measured", "**Run time.** **Measured")})
    assert "05: the header needs one line starting '**Measured run time:** <!-- runtime -->'" in \
        header_part_problems(twice)
    unlinked = dict(headers, **{"09": headers["09"].replace("](NOTATION.md)", "]")})
    assert "09: the header does not link NOTATION.md" in header_part_problems(unlinked)


def test_notation_checks_fail_on_a_mismatch():
    notation, notes = notation_md(), all_notes()
    dropped = _swap(notation, "$\\kappa$, ", "")
    assert any(p.startswith("03: its Notation table adds ['\\\\kappa']") for p in notation_problems(dropped, notes))
    extra = dict(notes, **{"10": notes["10"] + " Also $\\xi$, a new letter."})
    assert any(p.startswith("10: its Notation section uses ['\\\\xi']") for p in notation_problems(notation, extra))
    gone = dict(notes, **{"01": re.sub(r"\$t_\{ik\}[^$]*\$", "a target", notes["01"])})
    assert any(p.startswith("01: NOTATION.md's index lists ['t_{ik}']") for p in notation_problems(notation, gone))
    silent = _swap(notation, "In 02, which is single-label, $y_i$", "In DCWH, which is single-label, $y_i$")
    assert any(p.startswith("02: its Notation table re-lists $y_i$") for p in notation_problems(silent, notes))
    local = _swap(notation, "| $\\gamma$ | 03 the quantisation weight", "| $\\gamma$ | 04 the quantisation weight")
    assert any(p.startswith("NOTATION.md's method-local row for $\\gamma$ names notebooks ['04', '08']")
               for p in notation_problems(local, notes))
    unexplained = _swap(notation, "| $\\eta$ | 03 the step parameter", "| eta | 03 the step parameter")
    assert any(p.startswith("$\\eta$ is added by notebooks ['03', '05']")
               for p in notation_problems(unexplained, notes))


def test_clash_check_fails_on_a_mismatch():
    notation, nbs = notation_md(), {n: cells(n) for n in NOTEBOOKS}
    assert any("names cells by number" in p for p in
               clash_problems(_swap(notation, "| 02 DCWH (Notation, Derivation) |", "| 02 DCWH (c3 onward) |"), nbs))
    wrong = _swap(notation, "| 08 SHREWD (Step-by-step implementation) |", "| 08 SHREWD (Summary) |")
    assert "08: NOTATION.md says section 'Summary' uses $\\mu$, but it does not" in clash_problems(wrong, nbs)
    missing = _swap(notation, "| 02 DCWH (Notation, Derivation) |", "| 02 DCWH (Notation, Proofs) |")
    assert "02: NOTATION.md's $\\mu$ row names a section 'Proofs' it lacks" in clash_problems(missing, nbs)
    value = _swap(notation, "| paper $\\mu = 0.625$ |", "| paper $\\mu = 0.5$ |")
    assert "03: NOTATION.md gives $\\mu = 0.5$, the notebook never sets it" in clash_problems(value, nbs)
    count = _swap(notation, "**$\\mu$ has five meanings**", "**$\\mu$ has four meanings**")
    assert any("'has four meanings' but its table has 5 rows" in p for p in clash_problems(count, nbs))


def test_tie_check_fails_on_a_variant():
    places = tie_places()
    variant = dict(places, **{"10 (Derivation)": places["10 (Derivation)"].replace(
        "group size alone does not", "large groups matter most")})
    assert tie_problems(variant) == [f"10 (Derivation): does not state the tie lesson as {TIE_LESSON!r}"]
    course = places["COURSE.md"]
    unpointed = dict(places, COURSE=_swap(course, "Notebook 00\nmeasures it", "One notebook\nmeasures it"))
    del unpointed["COURSE.md"]
    assert tie_problems(unpointed) == ["COURSE: states the tie lesson without pointing to notebook 00's measurement"]
    renamed = dict(places, **{"09 (Proofs)": None})
    assert tie_problems(renamed) == [
        "09 (Proofs): no such section (TIE_PLACES in tests/test_course.py names the places)"]
    no_evidence = tuple((k, s.replace("assert", "# ")) for k, s in cells("00"))
    assert tie_evidence_problems(no_evidence) != []
