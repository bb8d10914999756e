"""``python -m server`` runs the same CLI as ``justirc-server``."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
