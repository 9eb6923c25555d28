import nbformat
from nbformat.v4 import new_notebook, new_markdown_cell, new_code_cell
NOTATION = open("/work/main/notebooks/NOTATION.md").read().strip()
def build(cells, path):
    nb = new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "language_info": {"name": "python"}}
    nb.cells = [new_markdown_cell(c[1]) if c[0] == "md" else new_code_cell(c[1]) for c in cells]
    nbformat.write(nb, path)
