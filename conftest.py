"""Collect the Python code blocks of the README and docs/ as tests (sybil), so none rots."""

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser

# docs/writeup.py is the notebook's text file: tests/project/test_notebook.py runs it
collect_ignore = ["tinygrad_moons/__main__.py", "docs/writeup.py"]

pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser()],
    patterns=["README.md", "docs/*.md"],
).pytest()
