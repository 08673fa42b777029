"""Every SMTP reply the lab sends, word for word as Exchange Online sends it (shared/reference sheets).

The one catalogue, kept in topical modules and read as one: `from mailflow_lab.policy import replies as R`.
"""

from __future__ import annotations

from ..reply import Reply, takes_diagnostics, with_diagnostics, without_diagnostics
from .hosts import *  # noqa: F403
from .mx import *  # noqa: F403
from .peers import *  # noqa: F403
from .session import *  # noqa: F403
from .submission import *  # noqa: F403

# the type and its wire form: policy/reply.py
__all__ = ["Reply", "takes_diagnostics", "with_diagnostics", "without_diagnostics"]
