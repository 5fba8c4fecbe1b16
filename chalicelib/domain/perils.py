"""Loss types (perils) accepted at intake and the line of business each belongs to."""
from __future__ import annotations

MICRO = "micro"
MOTOR = "motor"

PERILS: dict[str, str] = {
    "food_safety": MICRO,
    "shared_bike_accident": MICRO,
    "rental_account_security": MICRO,
    "card_theft": MICRO,
    "online_shopping_fraud": MICRO,
    "motor_collision": MOTOR,
    "motor_theft": MOTOR,
    "motor_glass": MOTOR,
    "motor_flood": MOTOR,
}


def line_of(loss_type: str) -> str:
    return PERILS[loss_type]
