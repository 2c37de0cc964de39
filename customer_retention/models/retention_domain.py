# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Conditions on the fields the addon searches itself, checked before any
SQL is built (issue 21).

Odoo checks and converts the values of a domain on its own stored fields;
the partner's retention values, segments and filters are searched by the
addon's code (``search=`` methods, ``_field_to_sql``), which must do the
same: accept every operator and every shape of value Odoo accepts on a
field of that type (a single value where a list is expected, names where
records are expected, a category with its children), and answer anything
else with a UserError in the user's language, never a traceback or a
database error.
"""

import math
import numbers
import re
import reprlib

from odoo import fields
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import SQL
from odoo.tools.query import Query

# Negative operator -> its positive counterpart.
NEGATIONS = {"!=": "=", "not in": "in", "not like": "like", "not ilike": "ilike"}
HIERARCHY = ("child_of", "parent_of")
SUBDOMAIN = ("any", "not any")
ORDERING = ("<", "<=", ">", ">=")
LIKE = ("like", "ilike", "=like", "=ilike")
TEXT_TYPES = ("char", "text", "html")
# The largest record id (PostgreSQL int4).
MAX_ID = 2**31 - 1
NUMBER_TYPES = ("integer", "float", "monetary")

_short = reprlib.Repr()
_short.maxstring = 40
_short.maxother = 40
_short.maxlist = 5


def refuse_operator(env, field, operator):
    return UserError(
        env._(
            "%(field)s cannot be filtered with the operator %(operator)s.",
            field=field._description_string(env),
            operator=operator,
        )
    )


def refuse_value(env, field, value):
    return UserError(
        env._(
            "%(value)s is not a valid value to filter %(field)s on.",
            value=_short.repr(value),
            field=field._description_string(env),
        )
    )


def scalar(env, field, value):
    """``value`` as a value of ``field`` (False and None stand for "not
    set"); a UserError when it is none."""
    if value is None or value is False:
        return value
    if isinstance(value, dict | list | tuple | set):
        raise refuse_value(env, field, value)
    kind = field.type
    if kind == "boolean":
        return bool(value)
    if kind in NUMBER_TYPES:
        number = value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise refuse_value(env, field, value) from None
        if not isinstance(number, numbers.Real) or (
            isinstance(number, float) and not math.isfinite(number)
        ):
            raise refuse_value(env, field, value)
        return int(number) if kind == "integer" else float(number)
    if kind in ("date", "datetime"):
        convert = fields.Date.to_date if kind == "date" else fields.Datetime.to_datetime
        try:
            converted = convert(value)
        except (TypeError, ValueError, OverflowError):
            raise refuse_value(env, field, value) from None
        if not converted:
            raise refuse_value(env, field, value)
        return converted
    if kind in ("many2one", "many2many", "one2many"):
        # A record id: PostgreSQL's int4 (0, negative: matches nothing).
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_ID:
            raise refuse_value(env, field, value)
        return value
    if kind == "selection" and not isinstance(value, str):
        raise refuse_value(env, field, value)
    if kind in TEXT_TYPES and isinstance(value, numbers.Real):
        return str(value)
    return value


def like_text(env, field, value):
    """The text of a pattern: numbers as Odoo writes them, nothing else but
    text (False and None: no pattern)."""
    if value is None or value is False or isinstance(value, str):
        return value
    if isinstance(value, numbers.Real):
        return str(value)
    raise refuse_value(env, field, value)


def checked(env, field, operator, value):
    """(operator, value) of a condition on ``field`` that Odoo's
    ``_condition_to_sql`` of a column of that type turns into valid SQL; a
    UserError when the condition makes no sense for the field."""
    if operator == "=?":
        if value is None or value is False:
            return operator, value
        operator = "="
    if operator in HIERARCHY or operator in SUBDOMAIN:
        raise refuse_operator(env, field, operator)
    if isinstance(value, dict):
        raise refuse_value(env, field, value)
    if operator in ("in", "not in"):
        if isinstance(value, Query | SQL):
            return operator, value
        if isinstance(value, bool):
            # Odoo's reading: ('f', 'in', True) is "f is set".
            return ("!=" if (operator == "in") == value else "="), False
        items = value if isinstance(value, list | tuple) else [value]
        return operator, [scalar(env, field, item) for item in items]
    if operator in ("=", "!="):
        if isinstance(value, list | tuple):
            return checked(env, field, "in" if operator == "=" else "not in", value)
        if field.type == "many2one" and value is True:
            # "Set", as Odoo reads (field, '=', True) on a boolean.
            return ("!=" if operator == "=" else "="), False
        return operator, scalar(env, field, value)
    if operator in ORDERING:
        return operator, scalar(env, field, value)
    # like, ilike, =like, =ilike and their negations
    return operator, like_text(env, field, value)


def like_sql(model, alias, fname, operator, value, query):
    """``=like``/``=ilike`` on a field that is not text: its value as text
    against the pattern as it is (Odoo would convert the pattern to the
    field's type first, and fail)."""
    sql_field = SQL("(%s)::text", model._field_to_sql(alias, fname, query))
    pattern = SQL("%s", value)
    if operator == "=ilike":
        unaccent = model.env.registry.unaccent
        sql_field, pattern = unaccent(sql_field), unaccent(pattern)
    return SQL(
        "(%s %s %s)", sql_field, SQL(expression.SQL_OPERATORS[operator]), pattern
    )


def condition_sql(model, alias, fname, operator, value, query):
    """Odoo's ``_condition_to_sql`` for a value that ``checked`` let
    through, with ``=like`` and ``=ilike`` on fields that are not text."""
    field = model._fields[fname]
    if operator in ("=like", "=ilike") and field.type not in (*TEXT_TYPES, "selection"):
        if value is None or value is False:
            return SQL("FALSE")
        return like_sql(model, alias, fname, operator, value, query)
    return model._condition_to_sql(alias, fname, operator, value, query)


def record_refs(env, field, value):
    """(ids, names) of a value that names records of the field's comodel:
    an id, a name, or a list of those (False and None ignored); the ids of
    records that exist (Odoo's tree lookups fail on the others)."""
    items = value if isinstance(value, list | tuple) else [value]
    ids, names = [], []
    for item in items:
        if item is None or item is False:
            continue
        if isinstance(item, str):
            names.append(item)
        else:
            ids.append(scalar(env, field, item))
    # sudo: which ids exist, whoever may read them (the search that uses
    # them applies the user's rules).
    existing = (
        env[field.comodel_name].sudo().browse([pid for pid in ids if pid > 0]).exists()
    )
    return existing.ids, names


def _has_tree(comodel):
    parent = comodel._fields.get(comodel._parent_name)
    return bool(parent) and parent.comodel_name == comodel._name


def many2one_domain(env, fname, field, operator, value):
    """A domain Odoo resolves by itself (``any`` on the comodel, after the
    search method has returned) for a many2one condition by name or on the
    comodel's tree, as Odoo does on its own many2one fields; None for a
    condition on ids, left to ``checked``. A comodel without a tree
    (users, teams, sources): a record is its own only child and parent."""
    if isinstance(value, dict):
        raise refuse_value(env, field, value)
    if operator in HIERARCHY:
        ids, names = record_refs(env, field, value)
        if not ids and not names:
            return expression.FALSE_DOMAIN
        if _has_tree(env[field.comodel_name]):
            # Odoo reads ids or names, not both in one list.
            return expression.OR(
                [(fname, "any", [("id", operator, refs)])]
                for refs in (ids, names)
                if refs
            )
        domains = [[(fname, "in", ids)]] if ids else []
        domains += [
            [(fname, "any", [("display_name", "ilike", name)])] for name in names
        ]
        return expression.OR(domains)
    by_name = isinstance(value, str) or (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(item, str) for item in value)
    )
    if not by_name or operator in SUBDOMAIN:
        return None
    if operator == "=?":
        operator = "="
    # Odoo's own reading of names on a many2one (odoo/osv/expression.py).
    if operator in ORDERING:
        operator = "in"
    if isinstance(value, str) and operator in ("in", "not in"):
        operator = "=" if operator == "in" else "!="
    elif not isinstance(value, str) and operator in ("=", "!="):
        operator = "in" if operator == "=" else "not in"
    if operator in NEGATIONS:
        return [(fname, "not any", [("display_name", NEGATIONS[operator], value)])]
    return [(fname, "any", [("display_name", operator, value)])]


def _like_regex(pattern, ignore_case):
    """SQL's LIKE ``pattern`` as a regular expression."""
    parts, chars = [], iter(pattern)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(next(chars, "\\")))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def matching(env, field, operator, value, candidates):
    """(the candidates ``c`` for which ``(c operator value)`` holds as SQL
    would compare them, negate): the values a selection or boolean field
    computed by the addon can take, filtered in Python; a negative operator
    is answered with its positive counterpart and ``negate``."""
    if operator == "=?":
        if value is None or value is False:
            return list(candidates), False
        operator = "="
    if operator in HIERARCHY or operator in SUBDOMAIN:
        raise refuse_operator(env, field, operator)
    if isinstance(value, dict):
        raise refuse_value(env, field, value)
    negate = operator in NEGATIONS
    operator = NEGATIONS.get(operator, operator)
    if operator == "in":
        if isinstance(value, bool):
            value = [value]
        items = value if isinstance(value, list | tuple) else [value]
        found = {scalar(env, field, item) for item in items}
        if field.type == "boolean" and None in found:
            found.add(False)
        return [c for c in candidates if c in found], negate
    if operator == "=":
        if isinstance(value, list | tuple):
            return matching(env, field, "not in" if negate else "in", value, candidates)
        wanted = scalar(env, field, value)
        if field.type == "boolean":
            wanted = bool(wanted)
        return [c for c in candidates if c == wanted], negate
    if operator in ORDERING:
        bound = scalar(env, field, value)
        if bound is None or (bound is False and field.type != "boolean"):
            return [], negate
        compare = {
            "<": lambda c: c < bound,
            "<=": lambda c: c <= bound,
            ">": lambda c: c > bound,
            ">=": lambda c: c >= bound,
        }[operator]
        return [c for c in candidates if compare(c)], negate
    # like, ilike, =like, =ilike
    text = like_text(env, field, value)
    if not operator.startswith("="):
        if not text:
            return list(candidates), negate
        text = f"%{text}%"
    elif text is None or text is False:
        return [], negate
    regex = _like_regex(text, ignore_case="ilike" in operator)
    return [
        c
        for c in candidates
        if regex.fullmatch(str(c).lower() if isinstance(c, bool) else str(c))
    ], negate
