"""The text part of an email whose template has none, as a template of its own: derived once from the
HTML source (when the template is first compiled in a process), so that no HTML is converted per
message.

``html_to_text`` (plaintext.py) turns a rendered message's HTML into text. Here the same conversion
runs on the template's HTML *source*, with each Jinja tag standing in as one private-use character
(the HTMLParser reads it as a letter), and the characters are put back as Jinja tags in the text:
``<p>Hi {{ customer.first_name }},</p>`` becomes ``Hi {{ (customer.first_name)|crm_ws }},``.
What the conversion decides from the rendered values is decided when the text is rendered:

- a value in running text has its white space collapsed (``crm_ws``), as the HTML's text would;
- a link whose text or address holds a tag is a ``{% filter crm_link %}`` block: its rendered text
  and address give "text (address)" by plaintext.link_text, as for a rendered message;
- blank lines and the white space around lines are tidied after rendering (``text_tidy``), and runs
  of spaces become one (html_to_text can leave two where a tag separated them: better text).

A source this cannot convert faithfully gets no text template (None), and its messages' text is
converted from their HTML as before: a tag inside an attribute other than ``href`` and ``alt`` or in
a skipped element that is a statement (``{% if %}`` in a ``class``), a ``<pre>`` (its white space
is kept), an ordered list with statements (its numbers are counted), macros, call blocks,
``{% autoescape %}`` and the filters whose output is HTML (``safe``, ``escape``, ``urlize``...).
"""

from __future__ import annotations

import functools
import re

from jinja2 import TemplateError, nodes

from .plaintext import _TextBuilder, link_text

_DATA = 0xE000  # a tag in running text: chr(_DATA + index)
_ATTR = 0xE800  # the same tag inside an attribute (href, alt): kept as it renders, not collapsed
_MAX_TAGS = _ATTR - _DATA
_LINK_OPEN, _LINK_CLOSE = "\uf8f0", "\uf8f1"
_BRACE = "\uf8f2"  # a "{" of the HTML's text, which must not start a Jinja tag in the text template
LINK_SEPARATOR = "\uf8ff"  # between a link's text and its address inside the crm_link block
_PRIVATE = re.compile("[\ue000-\uf8ff]")

# Filters and nodes whose HTML output the text could not reproduce: such sources keep the conversion.
_HTML_FILTERS = frozenset({"safe", "e", "escape", "forceescape", "urlize", "xmlattr", "tojson"})
_REFUSED_NODES = (nodes.Macro, nodes.CallBlock, nodes.EvalContextModifier)


def crm_ws(value) -> str:
    """A value in running text: its white space collapsed as the HTML's text has it."""
    return re.sub(r"\s+", " ", value) if isinstance(value, str) else value


def crm_link(value: str) -> str:
    text, _sep, href = str(value).rpartition(LINK_SEPARATOR)
    return link_text(text, href)


def text_tidy(text: str) -> str:
    """Each line stripped with its runs of spaces made one, and no more than one blank line in a row."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _SourceTextBuilder(_TextBuilder):
    """html_to_text's builder over a source whose tags are characters: tags in ``href`` and ``alt``
    are marked as attribute tags, and a link with tags in it is left for rendering time."""

    def handle_starttag(self, tag, attrs):
        super().handle_starttag(tag, [(name, _as_attribute(value)) for name, value in attrs])

    def _link(self, href: str, start: int) -> None:
        text = "".join(self.parts[start:])
        if not (_PRIVATE.search(text) or _PRIVATE.search(href)):
            super()._link(href, start)
            return
        del self.parts[start:]
        self.parts.append(f"{_LINK_OPEN}{text}{LINK_SEPARATOR}{href}{_LINK_CLOSE}")


def _as_attribute(value: str | None) -> str | None:
    if value is None:
        return None
    return "".join(chr(ord(c) - _DATA + _ATTR) if _DATA <= ord(c) < _ATTR else c for c in value)


def _tags(env, source: str) -> tuple[str, list[tuple[str, str]]] | None:
    """The source with each Jinja tag replaced by a character, and the tags: (kind, inner text)."""
    tags: list[tuple[str, str]] = []
    expressions: dict[str, int] = {}
    out: list[str] = []
    kind, inner = "", []
    for _lineno, token, value in env.lexer.tokeniter(source, None):
        if token == "data":
            out.append(value)  # the text of {% raw %} blocks too: literal
        elif token in ("raw_begin", "raw_end"):
            continue
        elif token in ("variable_begin", "block_begin"):
            kind, inner = token[:-6], []
        elif token in ("variable_end", "block_end"):
            text = "".join(inner).strip()
            if kind == "variable":
                index = expressions.setdefault(text, len(tags))
                if index == len(tags):
                    tags.append((kind, text))
            else:
                index = len(tags)
                tags.append((kind, text))
            if index >= _MAX_TAGS:
                return None
            out.append(chr(_DATA + index))
            kind = ""
        elif token.startswith(("comment", "linecomment", "linestatement")):
            if token.startswith("line"):
                return None
        elif kind:
            inner.append(value)
    return "".join(out), tags


def _refused(env, source: str) -> bool:
    tree = env.parse(source)
    if any(True for _ in tree.find_all(_REFUSED_NODES)):
        return True
    # A {% filter %} block's filter is a Filter node of its own (the block has no name).
    return any(node.name in _HTML_FILTERS for node in tree.find_all(nodes.Filter))


def derived_source(env, html_source: str) -> str | None:
    """The text template's source for ``html_source``, or None when it cannot be derived faithfully."""
    if _PRIVATE.search(html_source) or "<pre" in html_source.lower():
        return None
    try:
        if _refused(env, html_source):
            return None
        tagged = _tags(env, html_source)
    except (TemplateError, RecursionError):
        return None
    if tagged is None:
        return None
    skeleton, tags = tagged
    statements = [index for index, (kind, _text) in enumerate(tags) if kind == "block"]
    if statements and "<ol" in html_source.lower():
        return None  # an ordered list's numbers would be counted in the source, not per rendered item
    builder = _SourceTextBuilder()
    builder.feed(skeleton)
    builder.close()
    text = "".join(builder.parts)
    seen: list[int] = []

    def tag(match: re.Match) -> str:
        char = match.group(0)
        if char == _LINK_OPEN:
            return "{% filter crm_link %}"
        if char == _LINK_CLOSE:
            return "{% endfilter %}"
        if char == LINK_SEPARATOR:
            return char
        if char == _BRACE:
            return '{{ "{" }}'
        code = ord(char)
        in_attribute = code >= _ATTR
        kind, inner = tags[code - (_ATTR if in_attribute else _DATA)]
        if kind == "block":
            seen.append(-1 if in_attribute else code - _DATA)
            return "{% " + inner + " %}"
        return "{{ " + inner + " }}" if in_attribute else "{{ (" + inner + ")|crm_ws }}"

    derived = _PRIVATE.sub(tag, text.replace("{", _BRACE))
    if seen != statements:
        return None  # a statement was dropped, moved into an attribute or repeated
    return derived


@functools.lru_cache(maxsize=512)
def derived_template(env, html_source: str):
    """The compiled text template for ``html_source`` in ``env`` (the text environment with
    ``crm_ws`` and ``crm_link``), or None: then the text is converted from each rendered HTML."""
    source = derived_source(env, html_source)
    if source is None:
        return None
    try:
        return env.from_string(source)
    except (TemplateError, RecursionError):
        return None
