"""Strict JSON for reports: a non-finite number becomes null, and the report says where and why."""

import json
import math
from typing import Any

NON_FINITE_KEY = "non_finite"  # {"path.to.value": "inf: JSON has no non-finite numbers"}


def finite(value: Any, where: str, reasons: dict[str, str]) -> Any:
    """`value` with every non-finite float replaced by None, noting each one's path in `reasons`."""
    if isinstance(value, float) and not math.isfinite(value):
        reasons[where] = f"{value}: JSON has no non-finite numbers"
        return None
    if isinstance(value, dict):
        return {key: finite(item, f"{where}.{key}" if where else str(key), reasons) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item, f"{where}[{index}]", reasons) for index, item in enumerate(value)]
    return value


def dumps(payload: dict) -> str:
    """The report as strict JSON text (allow_nan=False cannot fail after `finite`)."""
    reasons: dict[str, str] = {}
    cleaned = finite(payload, "", reasons)
    if reasons:
        cleaned[NON_FINITE_KEY] = reasons
    return json.dumps(cleaned, indent=2, allow_nan=False, default=str) + "\n"
