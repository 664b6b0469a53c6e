"""Tests sit in folders that mirror the package (engine, compiled, models, apps, cli, bench,
project); ``writeup_table.py``, shared by several of them, sits here, on the import path."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
