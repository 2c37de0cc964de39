# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The engine's texts in the user's language.

The engine marks its templates with its own ``_`` so that Odoo's export puts
them in this addon's .pot; here they are looked up in the addon's
translations like any Python string of the addon, and formatted.
"""

from odoo.tools.translate import get_translation

MODULE = "customer_retention"


def engine_text(env, template, **params):
    """``template`` (a text the engine marked) translated into ``env``'s
    language and formatted with ``params``."""
    return get_translation(MODULE, env.lang or "en_US", template, params)


def engine_problems(env, problems):
    """The engine's ``(template, params)`` problems, one translated line each."""
    return "\n".join(
        f"- {engine_text(env, template, **params)}" for template, params in problems
    )
