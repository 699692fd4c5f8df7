"""Lets ``python bench/NAME.py`` import the test helpers (``tests.*``) and ``bench.*``.

Imported first by each benchmark; the repository root goes on ``sys.path``.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
