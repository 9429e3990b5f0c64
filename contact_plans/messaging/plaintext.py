"""The plain-text part of an email, generated from its HTML when the template has none: paragraphs
and headings as blocks separated by a blank line, list items as "- " (or "1. ") lines, links kept
as "text (url)", images as their alt text, scripts and styles dropped."""

import re
from html.parser import HTMLParser

BLOCKS = {
    "p",
    "div",
    "table",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "blockquote",
    "section",
    "article",
    "header",
    "footer",
    "hr",
    "pre",
}
SKIPPED = {"script", "style", "head", "title"}


class _TextBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.lists: list[list] = []  # per open list: [ordered, counter]
        self.links: list[tuple[str, int]] = []  # (href, index in parts where the text starts)
        self.pre = 0

    def _break(self, lines: int) -> None:
        self.parts.append("\n" * lines)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self._break(1)
        elif tag in {"ul", "ol"}:
            self.lists.append([tag == "ol", 0])
            self._break(2 if len(self.lists) == 1 else 1)
        elif tag == "li":
            self._break(1)
            indent = "  " * max(len(self.lists) - 1, 0)
            if self.lists and self.lists[-1][0]:
                self.lists[-1][1] += 1
                self.parts.append(f"{indent}{self.lists[-1][1]}. ")
            else:
                self.parts.append(f"{indent}- ")
        elif tag in BLOCKS:
            self._break(2)
            self.pre += tag == "pre"
        elif tag == "a":
            self.links.append((attributes.get("href") or "", len(self.parts)))
        elif tag == "img" and attributes.get("alt"):
            self.parts.append(attributes["alt"])
        elif tag in {"td", "th"}:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in SKIPPED:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in {"ul", "ol"}:
            if self.lists:
                self.lists.pop()
            self._break(2)
        elif tag in BLOCKS:
            self.pre -= tag == "pre"
            self._break(2)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            self._link(href, start)

    def _link(self, href: str, start: int) -> None:
        """A link's text (the parts from ``start``) followed by its address in brackets."""
        text = link_text("".join(self.parts[start:]), href)
        del self.parts[start:]
        self.parts.append(text)

    def handle_data(self, data):
        if self.skipping:
            return
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))


def link_text(text: str, href: str) -> str:
    """How a link reads in text: "text (address)", the address alone when the text is empty or the
    address itself, the text alone for an in-page or script link."""
    collapsed = " ".join(text.split())
    if href and not href.startswith(("#", "javascript:")) and href != collapsed:
        return f"{collapsed} ({href})" if collapsed else href
    return text


def text_tidy(text: str) -> str:
    """Lines stripped, no more than one blank line in a row, nothing around."""
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    builder = _TextBuilder()
    builder.feed(html)
    builder.close()
    return text_tidy("".join(builder.parts))
