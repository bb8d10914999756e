"""Settings shared by every test package.

Hypothesis: no deadline and no "input generation is slow" health check. Both are timing
checks, which tests must not make (speed is measured in ``bench/``): on a loaded or
brand-new CI machine they fail tests whose properties hold.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("justirc", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("justirc")
