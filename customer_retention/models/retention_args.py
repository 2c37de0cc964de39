# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What an RPC caller hands to the addon's public methods, checked (issue 21):
the records a button is called on and the arguments of the entry points,
answered with a UserError in the caller's language rather than a traceback
when they are not what the method works on."""

from odoo.exceptions import UserError


def one(records):
    """``records``, when it is one record (a form's button, called over RPC
    on any ids); else a UserError."""
    if len(records) != 1:
        raise UserError(
            records.env._(
                "This action works on one record of %(model)s at a time, not on "
                "%(count)s.",
                model=records.env["ir.model"]._get(records._name).name,
                count=len(records),
            )
        )
    return records


def record_ids(env, value):
    """``value`` as a list of record ids: a list of integers or one integer;
    else a UserError."""
    ids = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(ids, list | tuple) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in ids
    ):
        raise UserError(
            env._(
                "Records are given by a list of their ids, not %(value)s.",
                value=repr(value)[:80],
            )
        )
    return list(ids)
