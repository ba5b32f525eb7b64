"""Questions asked of rows wherever they are read (reports, the diff): which rows are latency rows."""

from __future__ import annotations

import pandas as pd

LATENCY_PATH = "latency"
# Rows stored before the row named its path wrote the case id's last part there: lat.<variant>.<provider>.
OLD_LATENCY_PREFIX = "lat."


def is_latency_path(path: str) -> bool:
    return path == LATENCY_PATH or path.startswith(OLD_LATENCY_PREFIX)


def latency_mask(frame: pd.DataFrame) -> pd.Series:
    """Which rows are latency rows."""
    return frame["path"].astype(str).map(is_latency_path).astype(bool)
