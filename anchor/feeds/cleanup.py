"""Feed HTML -> clean written text: what a reader would read, without the page furniture.

Tags, entities and CDATA go; scripts, styles, figures with their captions, image credits,
bylines, "Read more…" links, "The post … appeared first on …" footers and bare URLs are
removed. Block elements end a sentence. The result is written text (for captions and the
lower-third); `anchor.feeds.speakable` turns it into what the anchor says.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from anchor.speech.text import detect_language

_SKIP_TAGS = frozenset({"script", "style", "figure", "figcaption", "noscript", "iframe", "svg", "aside", "nav"})
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "table", "section"}
)
_URL_RE = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_CDATA_RE = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
_FURNITURE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"(?:read|continue reading|click here to read|see) (?:more|the full (?:story|article))[^.!?。]*(?:[.!?…]+|$)",
        r"continue reading[^.!?。]*(?:[.!?…]+|$)",
        r"the post .{1,200}? appeared first on .{1,120}?(?:\.|$)",
        r"\((?:photo|image|picture|pictured|video)[^)]{0,120}\)",
        r"(?:^|(?<=[.!?] ))(?:photo|image|picture|credit|photograph)(?: credit)?\s*[:|].{0,120}?(?:[.!?](?=\s|$)|$)",
        r"(?:阅读|查看)(?:更多|全文|原文)[^。！？]*[。！？]?",
        r"(?:图片来源|图片|图|摄影|来源)[：:][^。！？\s]{0,40}[。]?",
        r"\[(?:…|\.\.\.)\]",
        r"\s*(?:…|\.\.\.)\s*$",
    )
]
_BYLINE_LINE_RE = re.compile(
    r"^(?:[Bb]y|BY|[Rr]eporting by|[Ww]ritten by)\s+[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|and|&))*"
    r"(?:\s*[,|–—-]\s*[\w .&]{1,40})?\.?$"
)
_BYLINE_PREFIX_RE = re.compile(
    r"^(?:[Bb]y|[Rr]eporting by)\s+(?:[A-Z][\w'’-]*\.?\s+){0,3}[A-Z][\w'’-]*(?:\s+and\s+(?:[A-Z][\w'’-]*\s*){1,3})?"
    r"\s*(?:[,|–—-]\s*[A-Z][\w ]{0,40}?)?[.:|–—-]\s+(?=[A-Z0-9\"“])"
)
_ZH_BYLINE_LINE_RE = re.compile(
    r"^[（(]?(?:记者|作者|编辑|通讯员|责任编辑|来源)[:：\s]*[\u4e00-\u9fff·、\s]{1,20}[）)]?$"
)
_ZH_BYLINE_INLINE_RE = re.compile(
    r"[（(](?:记者|作者|编辑|通讯员)[^）)]{1,20}[）)]|(?:责任编辑|编辑)[:：][\u4e00-\u9fff·、\s]{1,12}$"
)
_DANGLING_LINK_RE = re.compile(
    r"(?:\b(?:(?:read )?more|details|full story|see|via|source|link)(?:\s+(?:at|on|here))?|详见|来源)\s*[:：]?\s*[.。]?$",
    re.IGNORECASE,
)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def strip_html(markup: str) -> str:
    """Visible text of an HTML fragment: paragraphs as lines, entities decoded, CDATA unwrapped."""
    markup = _CDATA_RE.sub(lambda m: m.group(1), markup or "")
    parser = _TextCollector()
    parser.feed(markup)
    parser.close()
    text = html.unescape("".join(parser.parts))  # doubly escaped feeds ("&amp;amp;") are common
    return text.replace("\u00a0", " ")


def _end_sentence(line: str) -> str:
    if not line or line[-1] in ".!?;:。！？；…\"'”’)":
        return line
    return line + ("。" if detect_language(line) == "zh" else ".")


def clean_text(markup: str) -> str:
    """Feed HTML (or plain text) -> written prose: sentences on one line, furniture removed."""
    lines: list[str] = []
    for raw in strip_html(markup).split("\n"):
        line, urls = _URL_RE.subn("", raw)
        line = re.sub(r"\s+", " ", line).strip()
        if urls:
            line = _DANGLING_LINK_RE.sub("", line).strip()
        if not lines and (_BYLINE_LINE_RE.match(line) or _ZH_BYLINE_LINE_RE.match(line)):
            continue
        if not lines:
            line = _BYLINE_PREFIX_RE.sub("", line)
        line = _ZH_BYLINE_INLINE_RE.sub("", line)
        for pattern in _FURNITURE:
            line = pattern.sub("", line).strip()
        line = re.sub(r"\s+([,.;:!?])", r"\1", line)
        line = line.strip(" |–—-·•")
        if any(ch.isalnum() for ch in line):
            lines.append(_end_sentence(line))
    out = " ".join(lines)
    return re.sub(r"(?<=[\u4e00-\u9fff。！？，]) (?=[\u4e00-\u9fff])", "", out)


def clean_title(markup: str) -> str:
    """A headline as plain text on one line (no sentence end added)."""
    text = re.sub(r"\s+", " ", strip_html(markup)).strip()
    return _URL_RE.sub("", text).strip()
