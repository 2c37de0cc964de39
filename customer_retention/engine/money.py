"""Amounts rounded to the currency, the way Odoo's accounting rounds them.

Float sums of the same amounts differ in their last bits (0.1 + 0.2 is not
0.3), so amounts are rounded to the currency's decimals before anything
compares or ranks them: equal to the cent means equal.
"""

import numpy as np


def round_money(values, decimals):
    """``values`` rounded half away from zero to ``decimals`` places.

    The vectorised twin of Odoo's ``float_round(value, precision_digits=d)``
    (odoo/tools/float_utils.py): scale by 10**d, nudge away from zero by
    2**-50 of the magnitude so that a tie stored a hair below its true value
    (1.005 is 1.00499999999999989...) still rounds away from zero, round,
    scale back. Dividing by 10**d at the end gives the float closest to the
    decimal amount, so 0.3 comes back as 0.3, not 0.30000000000000004.

    :param values: amounts (array-like; NaN stays NaN).
    :param decimals: number of decimals, one for all or one per value.
    :return: float64 array.
    """
    values = np.asarray(values, dtype="float64")
    scale = 10.0 ** np.asarray(decimals, dtype="float64")
    scaled = values * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        # log2(0) is -inf: a zero gets no nudge, as in float_round.
        nudged = scaled + np.copysign(2.0 ** (np.log2(np.abs(scaled)) - 50), scaled)
    # The nudge may land exactly on a half (4.10 - 3.60 is 0.49999999999999956,
    # nudged 0.5): halves go away from zero, where np.round would pick the even.
    whole = np.trunc(nudged)
    rounded = np.where(
        np.abs(nudged - whole) == 0.5, whole + np.sign(nudged), np.round(nudged)
    )
    # + 0.0 turns -0.0 into 0.0.
    return rounded / scale + 0.0
