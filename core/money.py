"""Money is Decimal yuan with two places. Every rounding in the system goes through `fen()`."""

from decimal import ROUND_HALF_UP, Decimal

from django.db import models

FEN = Decimal("0.01")
ZERO = Decimal("0.00")

# Field sizes for money columns, set once: up to 9,999,999,999.99 yuan.
MONEY_MAX_DIGITS = 12
MONEY_DECIMAL_PLACES = 2


def fen(value: Decimal | int | str) -> Decimal:
    """Round to the fen, half up (POLICY.md: "rounded half-up once per step")."""
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def money_field(verbose_name: str, **kwargs: object) -> models.DecimalField:
    """A money column of the one size the system uses (yuan, two places)."""
    return models.DecimalField(verbose_name, max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES,
                               **kwargs)
