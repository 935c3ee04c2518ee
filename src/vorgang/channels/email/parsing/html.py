"""HTML bodies: sanitising with nh3, plain text to HTML, HTML to visible text.

The sanitised HTML is safe to embed in the agent UI: no scripts, no event
handlers, no ``javascript:`` links, no styles beyond a short list of harmless
properties, and nothing that loads from the network without the agent's
consent. Remote images keep their URL in ``data-remote-src`` (not loaded) so
the UI can offer to show them; ``cid:`` images (attachments of the same mail)
and small inline ``data:`` images stay.
"""

from __future__ import annotations

import html as html_lib
import re

import nh3

#: shown instead of the body, exactly as Zammad does
NO_VISIBLE_CONTENT = "no visible content"

_TAGS = (nh3.ALLOWED_TAGS | {"font", "tfoot", "u", "s"}) - {"map", "area"}
_CLEAN_CONTENT = {
    "script",
    "style",
    "template",
    "noscript",
    "iframe",
    "object",
    "embed",
    "svg",
    "math",
}
_TAGS = _TAGS - _CLEAN_CONTENT

_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"style", "title", "dir", "lang", "align", "valign"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "border"},
    "table": {"border", "cellpadding", "cellspacing", "width", "summary"},
    "td": {"colspan", "rowspan", "width", "height", "nowrap"},
    "th": {"colspan", "rowspan", "width", "height", "scope", "nowrap"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "font": {"color", "face", "size"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "li": {"value"},
    "blockquote": {"cite", "type"},
    "hr": {"size", "width", "noshade"},
    "time": {"datetime"},
    "q": {"cite"},
    "del": {"datetime", "cite"},
    "ins": {"datetime", "cite"},
}

#: style properties that cannot load anything or overlay the page
_STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "vertical-align",
    "white-space",
    "line-height",
    "letter-spacing",
    "direction",
    "width",
    "height",
    "max-width",
    "min-width",
    "margin",
    "margin-left",
    "margin-right",
    "margin-top",
    "margin-bottom",
    "padding",
    "padding-left",
    "padding-right",
    "padding-top",
    "padding-bottom",
    "border",
    "border-left",
    "border-right",
    "border-top",
    "border-bottom",
    "border-color",
    "border-style",
    "border-width",
    "border-collapse",
    "border-spacing",
    "list-style-type",
}

_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid", "data", "ftp"}
_REMOTE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
_DATA_IMAGE = re.compile(
    r"^data:image/(?:png|gif|jpe?g|webp|bmp);base64,[A-Za-z0-9+/=\s]*$", re.IGNORECASE
)
_REMOTE_MARK = "vorgang-remote-image:"
_EMPTY_STYLE = re.compile(r' style=""')
_REMOTE_SRC = re.compile(r' src="' + re.escape(_REMOTE_MARK) + r'([^"]*)"')


_UNSAFE_CSS = re.compile(
    r"url\s*\(|expression\s*\(|javascript:|@import|behavior\s*:|\\", re.IGNORECASE
)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "style":
        # belt and braces: nh3 keeps only listed properties; also drop any
        # declaration that could load or run something
        kept = [d for d in value.split(";") if d.strip() and not _UNSAFE_CSS.search(d)]
        return ";".join(kept) or None
    if attribute == "src" and tag == "img":
        stripped = value.strip()
        lowered = stripped.lower()
        if lowered.startswith("cid:"):
            return stripped
        if lowered.startswith("data:"):
            return stripped if _DATA_IMAGE.match(stripped) else None
        if _REMOTE.match(stripped):
            return _REMOTE_MARK + stripped
        return None
    if attribute == "href" and value.strip().lower().startswith("data:"):
        return None
    if attribute == "src":
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags=_CLEAN_CONTENT,
    attributes=_ATTRIBUTES,
    attribute_filter=_filter_attribute,
    strip_comments=True,
    link_rel="nofollow noreferrer noopener",
    set_tag_attribute_values={"a": {"target": "_blank"}},
    url_schemes=_URL_SCHEMES,
    filter_style_properties=_STYLE_PROPERTIES,
    url_relative="deny",
)


#: deeper element nesting is flattened before sanitising: the HTML5 tree
#: builder's cost grows with the square of the depth (100 000 nested <div>
#: take minutes), and no real mail nests this deep
MAX_NESTING = 200
_TAG_TOKEN = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^>]*?(/?)>")
#: below this many tags the tree builder is fast whatever the nesting
_LIMIT_FROM_TAGS = 1000
_VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link",
    "meta", "param", "source", "track", "wbr",
}  # fmt: skip


#: formatting elements the HTML5 tree builder re-opens after they were
#: implicitly closed ("active formatting elements"); many misnested ones
#: make its work and output grow with the square of the input
_FORMATTING = {
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small",
    "strike", "strong", "tt", "u",
}  # fmt: skip
MAX_DANGLING_FORMATTING = 40
_BLOCK_STARTS = {
    "address", "article", "aside", "blockquote", "center", "details", "dir", "div", "dl",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
    "h6", "header", "hgroup", "hr", "main", "menu", "nav", "ol", "p", "pre", "section",
    "table", "ul",
}  # fmt: skip
#: start tag -> (elements it closes implicitly, elements that stop the search)
_IMPLIED_END: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    **{
        name: (frozenset({"p"}), frozenset({"table", "td", "th", "button", "caption"}))
        for name in _BLOCK_STARTS
    },
    "li": (frozenset({"li"}), frozenset({"ul", "ol", "table", "td", "th"})),
    "dt": (frozenset({"dt", "dd"}), frozenset({"dl", "table", "td", "th"})),
    "dd": (frozenset({"dt", "dd"}), frozenset({"dl", "table", "td", "th"})),
    "td": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
    "th": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
    "tr": (frozenset({"tr", "td", "th"}), frozenset({"table", "tbody", "thead", "tfoot"})),
    "option": (frozenset({"option"}), frozenset({"select", "datalist"})),
}
_SCOPE_SEARCH = 64


def limit_nesting(source: str, max_depth: int = MAX_NESTING) -> str:
    """Drop the tags (not the text) that would make the tree builder slow.

    A light model of HTML tree building: elements nested deeper than
    ``max_depth`` and formatting elements beyond a few dozen left open by
    misnesting lose their tags. Real mail never comes near either limit.
    """
    if source.count("<") <= max(max_depth, _LIMIT_FROM_TAGS):
        return source
    stack: list[tuple[str, bool]] = []
    open_count: dict[str, int] = {}
    kept_depth = 0
    dangling = 0  # formatting elements closed implicitly, still "active"
    pieces: list[str] = []
    position = 0

    def pop_to(index: int, target: str) -> None:
        nonlocal kept_depth, dangling
        for popped, was_kept in stack[index:]:
            kept_depth -= was_kept
            open_count[popped] -= 1
            if popped in _FORMATTING and popped != target and was_kept:
                dangling += 1
        del stack[index:]

    for match in _TAG_TOKEN.finditer(source):
        closing, name, self_closing = match.groups()
        name = name.lower()
        if not closing:
            implied = _IMPLIED_END.get(name)
            if implied is not None:
                closes, boundary = implied
                if any(open_count.get(c) for c in closes):
                    for index in range(len(stack) - 1, max(-1, len(stack) - 1 - _SCOPE_SEARCH), -1):
                        open_name = stack[index][0]
                        if open_name in closes:
                            pop_to(index, open_name)
                            break
                        if open_name in boundary:
                            break
            keep = kept_depth < max_depth
            if name in _FORMATTING and dangling >= MAX_DANGLING_FORMATTING:
                keep = False
            if name not in _VOID and not self_closing:
                stack.append((name, keep))
                open_count[name] = open_count.get(name, 0) + 1
                kept_depth += keep
        elif open_count.get(name):
            # pops everything above the match: the search is paid for by the pops
            index = len(stack) - 1
            while stack[index][0] != name:
                index -= 1
            keep = stack[index][1]
            pop_to(index, name)
        else:
            keep = True  # a stray end tag ('</br>' is a line break to browsers)
            if name in _FORMATTING and dangling:
                dangling -= 1  # the tree builder closes an active one
        if not keep:
            pieces.append(source[position : match.start()])
            position = match.end()
    if not pieces:
        return source
    pieces.append(source[position:])
    return "".join(pieces)


def sanitize_html(source: str) -> str:
    """Sanitised HTML fragment of ``source`` (a document or a fragment)."""
    cleaned = _CLEANER.clean(limit_nesting(source))
    # the filter marked remote images; move their URL out of src (not loaded)
    cleaned = _REMOTE_SRC.sub(r' data-remote-src="\1"', cleaned)
    return _EMPTY_STYLE.sub("", cleaned).strip()


def text_to_html(text: str) -> str:
    """Plain text as HTML: escaped, line breaks as <br> (Zammad's text2html)."""
    return html_lib.escape(text, quote=False).replace("\n", "<br>")


_BLOCK = re.compile(
    r"(?i)<\s*(?:br|hr|/?(?:p|div|tr|td|th|li|dt|dd|h[1-6]|table|blockquote|pre|center|ul|ol))\b[^>]*>"
)
_TAG = re.compile(r"(?s)<[^>]*>")


def visible_text(markup: str) -> str:
    """The text a reader sees in ``markup``, whitespace collapsed."""
    text = _BLOCK.sub(" ", markup)
    text = _TAG.sub("", text)
    text = html_lib.unescape(text)
    return " ".join(text.split())


def has_visible_content(markup: str) -> bool:
    """True if sanitised HTML shows any text or an embedded (cid/data) image."""
    if visible_text(markup):
        return True
    return bool(re.search(r'<img\b[^>]*\bsrc="(?:cid:|data:)', markup, re.IGNORECASE))
