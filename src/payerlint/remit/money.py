"""How the remittance reports show money and rates (text and HTML alike)."""

from __future__ import annotations

from decimal import Decimal


def dollars(text: str) -> str:
    """'1234.50' -> '$1,234.50' (exact: the report's money is Decimal text)."""
    value = Decimal(text)
    return f"-${-value:,}" if value < 0 else f"${value:,}"


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"
