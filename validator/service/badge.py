"""An SVG badge per image, in the flat two-part style READMEs use:
``jupyterhub 5.4 | compatible``. Text widths are estimated from a small table of
Verdana 11px advances, which is close enough for a label this short."""

from __future__ import annotations

from xml.sax.saxutils import escape

COLORS = {
    "compatible": "#4c1",
    "incompatible": "#e05d44",
    "error": "#fe7d37",
    "failed": "#fe7d37",
    "pending": "#dfb317",
    "unknown": "#9f9f9f",
}
_NARROW = set("ijlt.:,;|!'I ()[]1f")
_WIDE = set("mwMW@%")


def text_width(text: str) -> int:
    width = 0.0
    for char in text:
        width += 4.0 if char in _NARROW else 10.0 if char in _WIDE else 6.8
    return round(width)


def hub_label(hub_version: str | None) -> str:
    """``5.4.6`` -> ``jupyterhub 5.4``: the badge says which hub line the verdict is for."""
    if not hub_version:
        return "jupyterhub"
    return "jupyterhub " + ".".join(hub_version.split(".")[:2])


def render(label: str, message: str, color: str) -> str:
    left, right = text_width(label) + 10, text_width(message) + 10
    total = left + right
    label_x, message_x = left * 5, (left + right / 2) * 10
    label, message = escape(label), escape(message)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{label}: {message}"><title>{label}: {message}</title>'
        f'<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        f'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{color}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        f'<g fill="#fff" text-anchor="middle" '
        f'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="110">'
        f'<text x="{label_x}" y="140" transform="scale(.1)">{label}</text>'
        f'<text x="{message_x:.0f}" y="140" transform="scale(.1)">{message}</text></g></svg>'
    )


def for_result(hub_version: str | None, state: str) -> str:
    """``state``: a verdict, or pending / failed / unknown."""
    return render(hub_label(hub_version), state, COLORS.get(state, COLORS["unknown"]))
