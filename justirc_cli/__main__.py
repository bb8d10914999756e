"""``python -m justirc_cli`` runs the terminal client."""

from __future__ import annotations

import sys

from .app import main

sys.exit(main())
