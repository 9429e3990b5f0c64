"""Checking and rendering message templates in a sandbox.

Templates are Jinja2 source rendered by ``ImmutableSandboxedEnvironment`` with ``StrictUndefined``:
HTML parts with autoescape (HTML in customer data arrives escaped), subjects, text parts and SMS
without it. The context holds the registered placeholders only (retention_crm.message_placeholders),
as plain data, so that a template reaches nothing else: no model, no Python object, no global
function. When saved, a template is checked (``source_errors``): its syntax, every name it uses
against the registry, every attribute it reads against the placeholder's fields, and no calls but
``loop.cycle`` and macros; so ``{{ ''.__class__ }}`` or ``{{ customer.delete() }}`` is refused
with the line it is on, and the sandbox stops whatever might get through at render time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils import translation
from django.utils.html import conditional_escape, format_html
from django.utils.translation import gettext as _
from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from retention_crm import message_placeholders as mp

from . import text_templates
from .formatting import format_date, format_number
from .plaintext import html_to_text

# A template may not build strings or lists longer than this ("x" * 10**9 would take the
# worker's memory); a message is far smaller.
MAX_SEQUENCE = 100_000
# A part of a template longer than this is a paste gone wrong (an email is rarely over 100 kB, and
# mail clients clip longer ones).
MAX_SOURCE = 100_000
# Attributes of the loop variable inside {% for %} (Jinja's LoopContext), the only object
# besides placeholders that a template may read attributes of.
LOOP_ATTRIBUTES = {
    "index",
    "index0",
    "revindex",
    "revindex0",
    "first",
    "last",
    "length",
    "previtem",
    "nextitem",
    "depth",
    "depth0",
    "cycle",
    "changed",
}
_LINKS = frozenset({"unsubscribe_url", "preferences_url"})
_NO_NAMES: frozenset[str] = frozenset()
# Filters that read attributes by name: the sandbox would stop them, but they have no use in a message.
REFUSED_FILTERS = {"attr"}


class RenderError(Exception):
    """A template could not be rendered for this customer (the message names the placeholder or the line)."""


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator_name, left, right):
        if operator_name == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise SecurityError(_("That power is too large."))
        if operator_name == "*":
            for sequence, times in ((left, right), (right, left)):
                if (
                    isinstance(sequence, str | list | tuple)
                    and isinstance(times, int)
                    and len(sequence) * times > MAX_SEQUENCE
                ):
                    raise SecurityError(_("That repetition is too long."))
        return super().call_binop(context, operator_name, left, right)


def _finalize(value):
    """What ``{{ value }}`` shows: dates in the message's language, numbers with its separators,
    nothing for None (a customer without metrics), the rest as text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, datetime | date):
        return format_date(value)
    if isinstance(value, Decimal | float):
        return format_number(value)
    return value


def _date_filter(value, format="long"):
    return "" if value is None else format_date(value, format)


@functools.cache
def environment(*, html: bool) -> _Environment:
    env = _Environment(autoescape=html, undefined=StrictUndefined, finalize=_finalize, keep_trailing_newline=True)
    env.globals.clear()  # no range, lipsum, dict, cycler…: the placeholders are all there is
    env.filters["date"] = _date_filter
    for name in REFUSED_FILTERS:
        env.filters.pop(name, None)
    return env


# --- Checking -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceError:
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return _("Line %(line)s: %(message)s") % {"line": self.line, "message": self.message}


@dataclass(frozen=True)
class _Shape:
    """What a name in a template stands for: the fields it has (None: not a placeholder-like
    thing, so no attribute may be read), whether it is a list, and its name for messages."""

    label: str
    fields: frozenset[str] | None
    is_list: bool = False


def _placeholder_shape(placeholder: mp.Placeholder) -> _Shape:
    return _Shape(placeholder.name, frozenset(placeholder.fields) if placeholder.fields else None, placeholder.is_list)


class _Checker:
    def __init__(self):
        self.errors: list[SourceError] = []
        self.scopes: list[dict[str, _Shape]] = [{}]
        self.macros: set[str] = set()

    def error(self, node: nodes.Node, message: str) -> None:
        self.errors.append(SourceError(getattr(node, "lineno", None), message))

    def lookup(self, name: str) -> _Shape | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        placeholder = mp.get(name)
        return _placeholder_shape(placeholder) if placeholder else None

    def shape(self, node: nodes.Node) -> _Shape | None:
        if isinstance(node, nodes.Name):
            return self.lookup(node.name)
        if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Const | nodes.Slice):
            return None
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, int):
            outer = self.shape(node.node)
            return _Shape(f"{outer.label}[…]", outer.fields) if outer and outer.is_list else None
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            return None  # a field of a placeholder is a plain value: nothing below it
        return None

    def attribute(self, node: nodes.Node, owner: nodes.Node, attr: str) -> None:
        if attr.startswith("_"):
            self.error(node, _("“%(attr)s” cannot be used in a message template.") % {"attr": attr})
            return
        if isinstance(owner, nodes.Name) and owner.name == "loop" and self.lookup("loop") is not None:
            if attr not in LOOP_ATTRIBUTES:
                self.error(node, _("The loop has no “%(attr)s”.") % {"attr": attr})
            return
        shape = self.shape(owner)
        if shape is None:
            self.error(node, _("“%(attr)s” can only be read from a placeholder.") % {"attr": attr})
        elif shape.is_list and shape.fields is not None and not isinstance(owner, nodes.Getitem):
            self.error(
                node,
                _("“%(name)s” is a list: loop over it ({%% for item in %(name)s %%}) and read “%(attr)s” of each item.")
                % {"name": shape.label, "attr": attr},
            )
        elif shape.fields is None or attr not in shape.fields:
            self.error(node, _("The placeholder “%(name)s” has no “%(attr)s”.") % {"name": shape.label, "attr": attr})

    def targets(self, node: nodes.Node) -> list[str]:
        if isinstance(node, nodes.Name):
            return [node.name]
        if isinstance(node, nodes.Tuple):
            return [name for item in node.items for name in self.targets(item)]
        return []

    def visit(self, node: nodes.Node) -> None:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is not None:
            method(node)
        else:
            for child in node.iter_child_nodes():
                self.visit(child)

    def visit_Name(self, node: nodes.Name) -> None:
        if (
            node.ctx == "load"
            and self.lookup(node.name) is None
            and node.name not in self.macros
            and node.name != "caller"
        ):
            self.error(node, _("Unknown placeholder “%(name)s”.") % {"name": node.name})

    def visit_Getattr(self, node: nodes.Getattr) -> None:
        self.attribute(node, node.node, node.attr)
        self.visit(node.node)

    def visit_Getitem(self, node: nodes.Getitem) -> None:
        if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            self.attribute(node, node.node, node.arg.value)
        self.visit(node.node)
        self.visit(node.arg)

    def visit_Call(self, node: nodes.Call) -> None:
        callee = node.node
        allowed = (isinstance(callee, nodes.Name) and (callee.name in self.macros or callee.name == "caller")) or (
            isinstance(callee, nodes.Getattr)
            and isinstance(callee.node, nodes.Name)
            and callee.node.name == "loop"
            and callee.attr == "cycle"
        )
        if not allowed:
            self.error(node, _("Calling functions or methods is not allowed; use a filter, such as {{ name|upper }}."))
            return
        for child in node.iter_child_nodes():
            if child is not callee:
                self.visit(child)

    def visit_For(self, node: nodes.For) -> None:
        self.visit(node.iter)
        iterated = self.shape(node.iter)
        scope: dict[str, _Shape] = {"loop": _Shape("loop", None)}
        for name in self.targets(node.target):
            item_fields = iterated.fields if iterated and iterated.is_list else None
            scope[name] = _Shape(name, item_fields)
        self.scopes.append(scope)
        for child in [*node.body, *(node.else_ or [])]:
            self.visit(child)
        if node.test is not None:
            self.visit(node.test)
        self.scopes.pop()

    def visit_Assign(self, node: nodes.Assign) -> None:
        self.visit(node.node)
        shape = self.shape(node.node)
        for name in self.targets(node.target):
            self.scopes[-1][name] = shape or _Shape(name, None)

    def visit_AssignBlock(self, node: nodes.AssignBlock) -> None:
        for child in node.body:
            self.visit(child)
        for name in self.targets(node.target):
            self.scopes[-1][name] = _Shape(name, None)

    def visit_Macro(self, node: nodes.Macro) -> None:
        self.macros.add(node.name)
        self.scopes.append({arg.name: _Shape(arg.name, None) for arg in node.args})
        for child in [*node.defaults, *node.body]:
            self.visit(child)
        self.scopes.pop()

    def visit_CallBlock(self, node: nodes.CallBlock) -> None:
        self.visit_Call(node.call)
        self.scopes.append({arg.name: _Shape(arg.name, None) for arg in node.args})
        for child in node.body:
            self.visit(child)
        self.scopes.pop()

    def visit_Filter(self, node: nodes.Filter) -> None:
        self._filter(node)

    def visit_FilterBlock(self, node: nodes.FilterBlock) -> None:
        self._filter(node.filter)
        for child in node.body:
            self.visit(child)

    def _filter(self, node: nodes.Filter) -> None:
        if node.name in REFUSED_FILTERS or node.name not in environment(html=True).filters:
            self.error(node, _("There is no filter “%(name)s”.") % {"name": node.name})
        for child in node.iter_child_nodes():
            self.visit(child)

    def visit_Test(self, node: nodes.Test) -> None:
        for child in node.iter_child_nodes():
            self.visit(child)

    def _refused(self, node: nodes.Node) -> None:
        self.error(node, _("Templates cannot include, import or extend other templates."))

    visit_Include = visit_Import = visit_FromImport = visit_Extends = _refused


def source_errors(source: str, *, html: bool = False) -> list[SourceError]:
    """What is wrong with one part of a template (empty when it may be saved), each with its line."""
    if len(source) > MAX_SOURCE:
        return [SourceError(None, _("This part is longer than %(limit)s characters.") % {"limit": MAX_SOURCE})]
    env = environment(html=html)
    checker = _Checker()
    try:
        tree = env.parse(source)
        for child in tree.body:
            checker.visit(child)
        if not checker.errors:
            env.compile(source)  # what parsing leaves to the compiler (an unknown test, a bad assignment)
    except TemplateError as exc:
        checker.errors.append(SourceError(getattr(exc, "lineno", None), exc.message or str(exc)))
    except RecursionError:
        return [SourceError(None, _("The template is nested too deeply."))]
    return sorted(set(checker.errors), key=lambda e: (e.line or 0, e.message))


@functools.lru_cache(maxsize=512)
def names_used(*sources: str) -> frozenset[str]:
    """The placeholder names the sources read (the providers the renderer must call); RenderError
    for a source that does not parse (one saved before the checks, or written to the database)."""
    env = environment(html=False)
    used: set[str] = set()
    try:
        for source in sources:
            if source:
                used |= meta.find_undeclared_variables(env.parse(source))
    except TemplateError as exc:
        raise RenderError(str(SourceError(getattr(exc, "lineno", None), exc.message or str(exc)))) from None
    except RecursionError:
        raise RenderError(_("The template is nested too deeply.")) from None
    return frozenset(used)


# --- Rendering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    html: str
    text: str


def content_for(template, language: str | None):
    """The template's content in ``language`` if it has it, else in its fallback language."""
    contents = {content.language: content for content in template.contents.all()}
    if language in contents:
        return contents[language]
    if template.fallback_language in contents:
        return contents[template.fallback_language]
    raise RenderError(_("The template has no text in its fallback language."))


def message_context(customer, names: set[str], *, extra: dict | None = None) -> dict:
    """The values of the placeholders ``names``, plain data from the registry's providers, with
    ``extra`` taking the place of a provider's value (an order thank-you names its order). An extra
    value may be a provider of its own, ``(customer) -> value``, so that it too is formatted in the
    message's language."""
    extra = extra or {}
    unknown = sorted(name for name in extra if mp.get(name) is None)
    if unknown:
        raise ValueError(f"extra names that are not placeholders: {unknown}")
    context = {}
    for name in sorted(names):
        placeholder = mp.get(name)
        if placeholder is None:
            continue  # a template saved before its placeholder was unregistered: StrictUndefined says so
        provider = extra[name] if name in extra else placeholder.provider
        value = provider(customer) if callable(provider) else provider
        context[name] = mp.plain(value, name=name)
    return context


@functools.lru_cache(maxsize=512)
def _compiled(source: str, html: bool):
    """A template's part compiled once (a campaign renders one part for thousands of customers)."""
    return environment(html=html).from_string(source)


def _render(source: str, context: dict, *, html: bool) -> str:
    try:
        return _compiled(source, html).render(context)
    except SecurityError as exc:
        raise RenderError(_("Refused by the sandbox: %(reason)s") % {"reason": exc}) from None
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        message = exc.message or str(exc)
        raise RenderError(str(SourceError(line, message))) from None
    except (ArithmeticError, TypeError, ValueError, RecursionError) as exc:
        raise RenderError(str(exc)) from None


def _footer_html(unsubscribe: str, preferences: str) -> str:
    return format_html(
        '<p style="font-size:12px;color:#6c757d;margin-top:24px">{} <a href="{}">{}</a> · <a href="{}">{}</a></p>',
        _("You receive this email because you agreed to hear from us."),
        unsubscribe,
        _("Unsubscribe"),
        preferences,
        _("Choose what you receive"),
    )


def _with_footer(html: str, footer: str) -> str:
    at = html.lower().rfind("</body>")
    return html + footer if at < 0 else html[:at] + footer + html[at:]


# Stand-ins for the links in the footer made once per language (plain ASCII: nothing escapes them).
_UNSUBSCRIBE_MARK, _PREFERENCES_MARK = "crm-footer-unsubscribe-link", "crm-footer-preferences-link"


@functools.lru_cache(maxsize=32)
def _footer_parts(language: str) -> tuple[str, str]:
    """The footer's HTML and its text in ``language`` (active), with stand-ins for the links."""
    html = _footer_html(_UNSUBSCRIBE_MARK, _PREFERENCES_MARK)
    return html, html_to_text(html)


def _footer(unsubscribe: str, preferences: str) -> tuple[str, str]:
    """The footer's HTML and text with the customer's links (the HTML escapes them, as format_html)."""
    html, text = _footer_parts(translation.get_language())
    html = html.replace(_UNSUBSCRIBE_MARK, conditional_escape(unsubscribe))
    html = html.replace(_PREFERENCES_MARK, conditional_escape(preferences))
    return html, text.replace(_UNSUBSCRIBE_MARK, unsubscribe).replace(_PREFERENCES_MARK, preferences)


@functools.cache
def text_environment() -> _Environment:
    """The environment of the text parts derived from HTML sources (text_templates.py): the text
    environment's rules and filters, with the two filters a derived source uses."""
    env = _Environment(autoescape=False, undefined=StrictUndefined, finalize=_finalize, keep_trailing_newline=True)
    env.globals.clear()
    env.filters["date"] = _date_filter
    env.filters["crm_ws"] = text_templates.crm_ws
    env.filters["crm_link"] = text_templates.crm_link
    for name in REFUSED_FILTERS:
        env.filters.pop(name, None)
    return env


def _text_of(html_source: str, context: dict, html: str) -> tuple[str, str]:
    """The text part of an email without one, as ("derived", its HTML source's text template rendered,
    not yet tidied) (derived once per process), or, where none can be derived or it fails,
    ("converted", the rendered HTML converted)."""
    derived = text_templates.derived_template(text_environment(), html_source)
    if derived is not None:
        try:
            return "derived", derived.render(context)
        except (TemplateError, ArithmeticError, TypeError, ValueError, RecursionError):
            pass  # the HTML rendered, so its conversion says what the text says
    return "converted", html_to_text(html)


def _footer_wanted(template, content) -> bool:
    return (
        template.channel == "email"
        and template.purpose == "promotional"
        and "unsubscribe_url" not in names_used(content.html)
    )


def content_names(template, content) -> frozenset[str]:
    """The placeholders a message of this content reads: those its parts use, and the links of the
    footer a promotional email gets when it does not place the unsubscribe link itself."""
    sources = (content.subject, content.html, content.text) if template.channel == "email" else (content.text,)
    return names_used(*sources) | (_LINKS if _footer_wanted(template, content) else _NO_NAMES)


@dataclass(frozen=True)
class RawParts:
    """A message's parts as rendered, before the last steps that read the whole of a part (the
    subject's white space collapsed, the text stripped or tidied, the text footer joined): what
    ``raw_finish`` makes the message of. The bulk path renders these once with stand-ins for the
    customer's values (messaging/skeleton.py) and finishes them per customer."""

    language: str
    subject: str  # as rendered; an SMS has none
    html: str  # with the footer
    text: str  # "own": the text part as rendered; "derived": before tidying; "converted", "sms": final
    text_kind: str  # "own", "derived", "converted" or "sms"
    text_footer: str  # "own": the unsubscribe line to add; otherwise the footer's text to join ("": none)


def render_raw(template, content, context: dict) -> RawParts:
    """``content`` rendered for a context of ``content_names`` (its language active), not finished."""
    language = content.language
    if template.channel != "email":
        return RawParts(language, "", "", _render(content.text, context, html=False), "sms", "")
    subject = _render(content.subject, context, html=False)
    html = _render(content.html, context, html=True)
    own = _render(content.text, context, html=False) if content.text.strip() else ""
    footer = _footer_wanted(template, content)
    text_footer = ""
    if own.strip():
        kind, text = "own", own
        if footer and "unsubscribe_url" not in names_used(content.text):
            text_footer = "\n\n" + _("Unsubscribe: %(url)s") % {"url": context["unsubscribe_url"]}
    else:
        kind, text = _text_of(content.html, context, html)
    if footer:
        footer_html, footer_text = _footer(context["unsubscribe_url"], context["preferences_url"])
        html = _with_footer(html, footer_html)
        if kind != "own":
            text_footer = footer_text
    return RawParts(language, subject, html, text, kind, text_footer)


def raw_finish(raw: RawParts) -> Rendered | None:
    """The message of ``raw``; None when its own text part is empty once stripped (``render_raw``
    then writes the text from the HTML instead: only where the raw parts were not rendered with
    the customer's own values can that happen here)."""
    if raw.text_kind == "sms":
        return Rendered(raw.language, "", "", raw.text.strip())
    subject = " ".join(raw.subject.split())
    if raw.text_kind == "own":
        text = raw.text.strip()
        if not text:
            return None
        text += raw.text_footer
    else:
        text = text_templates.text_tidy(raw.text) if raw.text_kind == "derived" else raw.text
        text = "\n\n".join(part for part in (text, raw.text_footer) if part)
    return Rendered(raw.language, subject, raw.html, text)


def render_parts(template, content, context: dict) -> Rendered:
    """The message of ``content`` for a context of ``content_names`` (the content's language active)."""
    rendered = raw_finish(render_raw(template, content, context))
    assert rendered is not None  # rendered with the context's own values: an empty own text is derived
    return rendered


def render_content(template, content, customer, *, extra: dict | None = None) -> Rendered:
    """Render one language of ``template`` (``content``) for ``customer``: RenderError on failure."""
    names = content_names(template, content)
    with translation.override(content.language):
        return render_parts(template, content, message_context(customer, names, extra=extra))


def render_message(template, customer, *, language: str | None = None, extra: dict | None = None) -> Rendered:
    """The message ``template`` makes for ``customer``: in ``language`` (default: the customer's)
    if the template has it, else in its fallback language."""
    content = content_for(template, language or customer.language)
    return render_content(template, content, customer, extra=extra)
