"""Finding the quoted part of an e-mail's text, so the timeline can fold it away.

A citizen's answer usually repeats our whole previous message below it. Shown in
full, every reply doubles the timeline; folded by default, the agent reads what is
new and opens the rest when needed. Recognised, as mail programs write them:

- lines starting with ``>`` (and the blank lines between such lines),
- an attribution line before them: ``Am 3. Mai 2025 um 10:00 schrieb Erika <e@x>:``,
  ``On Mon, May 3, 2025 at 10:00 AM Erika <e@x> wrote:`` (also wrapped over two lines);
  when no ``>`` lines follow it, everything after it counts as quoted,
- Outlook's quoted header: ``-----Original Message-----`` /
  ``-----Ursprüngliche Nachricht-----``, or a ``From:``/``Von:`` line followed within
  a few lines by ``Sent:``/``Gesendet:`` (or ``Date:``/``Datum:``); everything from
  there on is the earlier message.

Only whole lines move into a quoted segment; nothing but blank lines at the edges is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ATTRIBUTION = re.compile(
    r"^\s*(?:(?:am|on)\b.{0,200}\b(?:schrieb|wrote)\b.{0,200}:|.{0,200}\b(?:schrieb|wrote):)\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^\s*(?:am|on)\s+\S", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(r"\b(?:schrieb|wrote)\b.{0,200}:\s*$", re.IGNORECASE)
_OUTLOOK_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:original message|ursprüngliche nachricht|urspr\. nachricht|"
    r"forwarded message|weitergeleitete nachricht)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\*?(?:from|von)\s*:\*?\s+\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(?:sent|gesendet|date|datum|to|an|subject|betreff)\s*:", re.IGNORECASE
)
_HEADER_WHEN = re.compile(r"^\s*\*?(?:sent|gesendet|date|datum)\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class Segment:
    text: str
    quoted: bool

    @property
    def line_count(self) -> int:
        return len(self.text.strip("\n").splitlines())


def _is_quote(line: str) -> bool:
    return line.lstrip(" ").startswith(">")


def _outlook_header(lines: list[str], i: int) -> bool:
    """``From:`` / ``Von:`` with a ``Sent:``/``Date:`` among the next few header lines."""
    if not _HEADER_FROM.match(lines[i]):
        return False
    for line in lines[i + 1 : i + 5]:
        if _HEADER_WHEN.match(line):
            return True
        if not _HEADER_NEXT.match(line):
            return False
    return False


def _attribution_length(lines: list[str], i: int) -> int:
    """1 or 2 when an attribution line (maybe wrapped) starts at ``i``, else 0."""
    line = lines[i]
    if len(line) <= 400 and _ATTRIBUTION.match(line) and _ATTRIBUTION_START.match(line):
        return 1
    if (
        i + 1 < len(lines)
        and _ATTRIBUTION_START.match(line)
        and len(line) + len(lines[i + 1]) <= 400
        and _ATTRIBUTION_END.search(lines[i + 1])
    ):
        return 2
    return 0


def _next_text(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i


def _quote_block_end(lines: list[str], i: int) -> int:
    """The index after the run of ``>`` lines starting at ``i`` (blank lines inside kept)."""
    end = i
    j = i
    while j < len(lines):
        if _is_quote(lines[j]):
            j += 1
            end = j
        elif not lines[j].strip():
            j += 1
        else:
            break
    return end


def split_quotes(text: str) -> list[Segment]:
    """``text`` as segments in order, each either the writer's own text or quoted."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    segments: list[Segment] = []
    own: list[str] = []

    def flush_own() -> None:
        if own:
            segments.append(Segment("\n".join(own), False))
            own.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if _OUTLOOK_SEPARATOR.match(line) or _outlook_header(lines, i):
            flush_own()
            segments.append(Segment("\n".join(lines[i:]), True))
            return _tidy(segments)
        head = _attribution_length(lines, i)
        if head:
            after = _next_text(lines, i + head)
            flush_own()
            if after < len(lines) and _is_quote(lines[after]):
                end = _quote_block_end(lines, after)
                segments.append(Segment("\n".join(lines[i:end]), True))
                i = end
                continue
            segments.append(Segment("\n".join(lines[i:]), True))
            return _tidy(segments)
        if _is_quote(line):
            end = _quote_block_end(lines, i)
            flush_own()
            segments.append(Segment("\n".join(lines[i:end]), True))
            i = end
            continue
        own.append(line)
        i += 1
    flush_own()
    return _tidy(segments)


def _tidy(segments: list[Segment]) -> list[Segment]:
    """Without blank lines at either end; segments of blank lines only are dropped."""
    return [Segment(s.text.strip("\n"), s.quoted) for s in segments if s.text.strip()]
