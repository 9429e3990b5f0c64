"""Render once, substitute per customer: the bulk path's fast rendering of a personalised email.

A message's three parts (subject, HTML, text) are three Jinja renders in the sandbox, the largest
share of writing a personalised message. Most templates use the customer's values in two ways
only: as plain output (``Hi {{ customer.first_name }}``, the footer's unsubscribe link), and in a
few places that decide what the message says (``{% if metrics.last_purchase %}``, a filter such as
``|date``, a loop over recommended products). The template's syntax tree tells which is which
(``plan_for``), so that:

- every *plain* use gets a stand-in value, a sentinel that nothing in a template changes;
- the values of every *structural* use form the key of a group of customers (in a base where most
  customers have no account manager and no purchase date in the template, one group per language);
- a group's parts are rendered once (``rendering.render_raw``) with its structural values and the
  sentinels, and each customer's message is that skeleton with the sentinels replaced by their
  values, each as the part would have written it: HTML-escaped in the HTML, as it is in the subject
  and a text part, with its white space collapsed where the derived text part collapses it (the
  ``crm_ws`` filter). The last steps that read a whole part (the subject's white space, the text's
  tidying and footer) run per customer after the substitution (``rendering.raw_finish``), exactly
  as after a full render.

A use counts as plain only as a whole ``{{ ... }}`` of a placeholder or one of its fields (in the
derived text part also through ``crm_ws``), or as the address of a link whose text is fixed (the
derived text writes "text (address)" unless the address is empty, ``#...``, ``javascript:...`` or
the text itself: checked per customer). Anything else that reads a placeholder (a test, a filter,
a loop, an assignment, a call) is structural. The whole template falls back to the full
per-customer render when it cannot be reasoned about this way: a macro, a call block, ``{% with %}``,
a variable named as a placeholder, a text part converted from the rendered HTML, a structural use
of the unsubscribe links (one group per customer). So does one customer whose values cannot be
read as the template reads them (a field that is not there), and a template whose groups turn out
to be nearly one per customer.

A test renders every ready-made template, in every language, both ways for names with ``<``, ``&``,
quotes, non-ASCII and empty values and compares them byte for byte.
"""

from __future__ import annotations

import functools
import re
import secrets
from dataclasses import dataclass, field

from jinja2 import TemplateError, nodes
from markupsafe import escape

from retention_crm import message_placeholders as mp

from . import text_templates
from .rendering import (
    RawParts,
    Rendered,
    RenderError,
    _finalize,
    _footer_wanted,
    environment,
    raw_finish,
    render_raw,
    text_environment,
)

# A sentinel: two characters of a supplementary private-use plane (no template or customer value
# holds them; a source that does is not rendered this way) around a per-process nonce and a number.
_OPEN, _CLOSE = "\U000f0000", "\U000f0001"
_NONCE = secrets.token_hex(4)
_SENTINEL = re.compile(f"{_OPEN}{_NONCE}(\\d+){_CLOSE}")
_LINKS = frozenset({"unsubscribe_url", "preferences_url"})
# Nodes that bind names or reuse template code: the template is rendered per customer.
_REFUSED = (
    nodes.Macro,
    nodes.CallBlock,
    nodes.With,
    nodes.Scope,
    nodes.OverlayScope,
    nodes.ScopedEvalContextModifier,
    nodes.EvalContextModifier,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
    nodes.Extends,
    nodes.Block,
)
# Groups per customer beyond which a template's skeletons are not worth it (each costs a render).
_MIN_SHARING = 2.0
_SAMPLE = 200
_MAX_GROUPS = 512

Path = tuple[str, ...]


class _Refused(Exception):
    pass


def _sentinel(index: int) -> str:
    return f"{_OPEN}{_NONCE}{index}{_CLOSE}"


def _path(node: nodes.Node) -> Path | None:
    """("customer", "first_name") for ``customer.first_name``; None for any other expression."""
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return (node.name,)
    if isinstance(node, nodes.Getattr):
        inner = _path(node.node)
        return (*inner, node.attr) if inner else None
    return None


def _is_placeholder(path: Path | None) -> bool:
    return path is not None and mp.get(path[0]) is not None


@dataclass
class _Uses:
    """What the parts of a template do with placeholders: per part the plain paths with how each is
    written ("html", "text", "ws"), the structural paths, and the fixed texts of links per address."""

    plain: dict[str, dict[Path, set[str]]] = field(default_factory=dict)
    structural: set[Path] = field(default_factory=set)
    links: dict[Path, set[str]] = field(default_factory=dict)

    def add_plain(self, part: str, path: Path, mode: str) -> None:
        self.plain.setdefault(part, {}).setdefault(path, set()).add(mode)

    def structural_in(self, node: nodes.Node) -> None:
        """Every placeholder read inside ``node`` is structural."""
        if isinstance(node, _REFUSED):
            raise _Refused
        path = _path(node)
        if path is not None:
            if _is_placeholder(path):
                self.structural.add(path)
            return
        for child in node.iter_child_nodes():
            self.structural_in(child)

    def walk(self, node: nodes.Node, part: str, mode: str) -> None:
        """Record the placeholders ``node`` reads in ``part``, whose source is written in ``mode``:
        "html" (autoescaped), "text", or "derived" (a text part derived from the HTML)."""
        if isinstance(node, _REFUSED):
            raise _Refused
        if isinstance(node, nodes.For | nodes.Assign | nodes.AssignBlock):
            targets = [node.target] if isinstance(node.target, nodes.Name) else list(node.target.find_all(nodes.Name))
            if any(mp.get(target.name) is not None or target.name == "loop" for target in targets):
                raise _Refused  # a name that hides a placeholder: its uses are not the placeholder's
        if isinstance(node, nodes.Output):
            written = "html" if mode == "html" else "text"
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    continue
                path = _path(child)
                if _is_placeholder(path):
                    self.add_plain(part, path, written)
                elif (
                    mode == "derived"
                    and isinstance(child, nodes.Filter)
                    and child.name == "crm_ws"
                    and not (child.args or child.kwargs or child.dyn_args or child.dyn_kwargs)
                    and _is_placeholder(_path(child.node))
                ):
                    self.add_plain(part, _path(child.node), "ws")
                else:
                    self.structural_in(child)
            return
        if isinstance(node, nodes.FilterBlock | nodes.AssignBlock):
            # Output inside is filtered or kept as a whole: only a derived text's plain link is not.
            if not (
                mode == "derived"
                and isinstance(node, nodes.FilterBlock)
                and node.filter.name == "crm_link"
                and self._link(node, part)
            ):
                self.structural_in(node)
            return
        for child in node.iter_child_nodes():
            if isinstance(child, nodes.Expr):
                self.structural_in(child)
            else:
                self.walk(child, part, mode)

    def _link(self, node: nodes.FilterBlock, part: str) -> bool:
        """A derived text's link with a fixed text and an address that is one placeholder: plain,
        its "text (address)" checked per customer. False for any other link (then structural)."""
        if len(node.body) != 1 or not isinstance(node.body[0], nodes.Output) or node.filter.args:
            return False
        *texts, last = node.body[0].nodes
        path = _path(last)
        if not texts or not all(isinstance(t, nodes.TemplateData) for t in texts) or not _is_placeholder(path):
            return False
        data = "".join(t.data for t in texts)
        if data.count(text_templates.LINK_SEPARATOR) != 1 or not data.endswith(text_templates.LINK_SEPARATOR):
            return False
        self.add_plain(part, path, "text")
        self.links.setdefault(path, set()).add(" ".join(data[:-1].split()))
        return True


@dataclass(frozen=True)
class _Skeleton:
    """A group's parts with the sentinels' places: each part a list of fixed strings and sentinel
    numbers, in turn."""

    raw: RawParts
    subject: tuple
    html: tuple
    text: tuple
    text_footer: tuple


def _split(part: str) -> tuple:
    pieces = _SENTINEL.split(part)
    return tuple(int(piece) if i % 2 else piece for i, piece in enumerate(pieces))


def _join(pieces: tuple, values: list[str]) -> str:
    return "".join(values[piece] if isinstance(piece, int) else piece for piece in pieces)


def _freeze(value):
    """A hashable form of a plain value that tells apart what renders differently (1, True, 1.0,
    Decimal("1.00"))."""
    if isinstance(value, dict):
        return (dict, tuple((key, _freeze(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return (list, tuple(_freeze(item) for item in value))
    if type(value) in (str, int, bool, type(None)):
        return (type(value), value)
    return (type(value), repr(value))


_MISSING = object()


def _resolve(context: dict, path: Path):
    """The value at ``path`` as the template reads it (a dict's key, not one of a dict's methods),
    or _MISSING."""
    value = context.get(path[0], _MISSING)
    for attr in path[1:]:
        if not isinstance(value, dict) or attr not in value or hasattr(dict, attr):
            return _MISSING
        value = value[attr]
    return value


def _with_value(context: dict, path: Path, value) -> dict:
    """A copy of ``context`` (only the dicts along ``path`` copied) with ``value`` at ``path``."""
    if len(path) == 1:
        return {**context, path[0]: value}
    return {**context, path[0]: _with_value(context[path[0]], path[1:], value)}


def _written(value, mode: str) -> str:
    """A value as a ``{{ }}`` of the part writes it: the environments' finalize, then HTML-escaped
    (autoescape), as text, or first with its white space collapsed (derived text's crm_ws)."""
    if mode == "html":
        return str(escape(_finalize(value)))
    if mode == "ws":
        value = text_templates.crm_ws(value)
    return str(_finalize(value))


class Plan:
    """How one content of a template is rendered once per group and substituted per customer."""

    def __init__(self, template, content, uses: _Uses):
        self.template = template
        self.content = content
        plain_paths = {path for per_part in uses.plain.values() for path in per_part}
        structural = set(uses.structural)
        # A plain path is sentinelled only if no structural path lies on it or under it, no other
        # plain path lies under it, and each part writes it one way.
        changed = True
        while changed:
            changed = False
            for path in sorted(plain_paths - structural):
                nested = any(
                    other != path and (other[: len(path)] == path or path[: len(other)] == other)
                    for other in structural | plain_paths
                )
                ambiguous = any(len(modes.get(path, ())) > 1 for modes in uses.plain.values())
                if nested or ambiguous:
                    structural.add(path)
                    changed = True
        if any(path[0] in _LINKS for path in structural):
            raise _Refused  # one group per customer: nothing shared
        self.structural = sorted(structural)
        self.plain = sorted(plain_paths - structural)
        # Per plain path: whether the HTML writes it, a text part as it is, the derived text collapsed
        # (crm_ws); and the fixed texts of the links it is the address of.
        modes = [{m for per_part in uses.plain.values() for m in per_part.get(path, ())} for path in self.plain]
        self.writers = [
            ("html" in m, "text" in m, "ws" in m, tuple(sorted(uses.links.get(path, ()))))
            for m, path in zip(modes, self.plain, strict=True)
        ]
        self.groups: dict[tuple, _Skeleton | None] = {}
        self.renders = 0

    @property
    def worth_it(self) -> bool:
        """False once a sample shows (nearly) a group per customer."""
        return self.renders < _SAMPLE or len(self.groups) * _MIN_SHARING <= self.renders

    def render(self, context: dict) -> Rendered | None:
        """The message for ``context`` (``message_context`` of the content's names; the content's
        language active) from its group's skeleton; None when this customer or group must be
        rendered in full (``render_parts``), which then gives the message or its RenderError."""
        key = []
        for path in self.structural:
            value = _resolve(context, path)
            if value is _MISSING:
                return None
            key.append(_freeze(value))
        key = tuple(key)
        values = [_resolve(context, path) for path in self.plain]
        if any(value is _MISSING for value in values):
            return None
        self.renders += 1
        if key not in self.groups:
            if len(self.groups) >= _MAX_GROUPS:
                self.groups.clear()
            self.groups[key] = self._skeleton(context)
        skeleton = self.groups[key]
        if skeleton is None:
            return None
        html, text, plain_text = [], [], []
        for value, (in_html, _in_text, in_ws, links) in zip(values, self.writers, strict=True):
            if type(value) is str:  # what _finalize gives back unchanged: most values
                as_text = value
                html.append(str(escape(value)) if in_html else "")
                text.append(text_templates.crm_ws(value) if in_ws else value)
            else:
                as_text = _written(value, "text")
                html.append(_written(value, "html") if in_html else "")
                text.append(_written(value, "ws") if in_ws else as_text)
            for fixed in links:
                if not as_text or as_text.startswith(("#", "javascript:")) or as_text == fixed:
                    return None  # the link would read differently: rendered in full
            plain_text.append(as_text)
        raw = skeleton.raw
        return raw_finish(
            RawParts(
                raw.language,
                _join(skeleton.subject, plain_text),
                _join(skeleton.html, html),
                _join(skeleton.text, text),
                raw.text_kind,
                _join(skeleton.text_footer, plain_text),
            )
        )

    def _skeleton(self, context: dict) -> _Skeleton | None:
        for index, path in enumerate(self.plain):
            context = _with_value(context, path, _sentinel(index))
        try:
            raw = render_raw(self.template, self.content, context)
        except RenderError:
            return None
        if raw.text_kind not in ("own", "derived"):
            return None
        return _Skeleton(raw, _split(raw.subject), _split(raw.html), _split(raw.text), _split(raw.text_footer))


def _parsed(source: str, *, html: bool = False, text: bool = False):
    env = text_environment() if text else environment(html=html)
    return env.parse(source)


@functools.lru_cache(maxsize=256)
def _uses(channel: str, footer: bool, subject: str, html: str, text: str) -> _Uses | None:
    sources = subject + html + text
    if _OPEN in sources or _CLOSE in sources or channel != "email":
        return None
    uses = _Uses()
    try:
        uses.walk(_parsed(subject), "subject", "text")
        uses.walk(_parsed(html, html=True), "html", "html")
        if text.strip():
            uses.walk(_parsed(text), "text", "text")
        else:
            derived = text_templates.derived_source(text_environment(), html)
            if derived is None:
                return None  # the text is converted from each rendered HTML
            uses.walk(_parsed(derived, text=True), "text", "derived")
    except (_Refused, TemplateError, RecursionError):
        return None
    if footer:
        for link in sorted(_LINKS):
            uses.add_plain("html", (link,), "html")
            uses.add_plain("text", (link,), "text")
    return uses


def plan_for(template, content) -> Plan | None:
    """A new plan (its groups empty) for ``content`` of ``template``, or None when the template must
    be rendered per customer. One per chunk's content: the groups' skeletons hold its language."""
    try:
        footer = _footer_wanted(template, content)
    except RenderError:
        return None
    uses = _uses(template.channel, footer, content.subject, content.html, content.text)
    if uses is None:
        return None
    try:
        return Plan(template, content, uses)
    except _Refused:
        return None
