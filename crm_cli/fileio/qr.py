"""QR codes for invite links, sign-up links and point claims: a PNG file and terminal art."""

from __future__ import annotations

from pathlib import Path


def write_png(data: str, path: Path) -> Path:
    import qrcode

    from crm_cli.fileio.outfile import atomic_write, check_out

    path = check_out(path, (".png",))
    img = qrcode.make(data, border=2)
    atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))
    return path


def terminal_art(data: str) -> str:
    """The QR code drawn with half-block characters, for a terminal."""
    import qrcode

    qr = qrcode.QRCode(border=1)
    qr.add_data(data)
    qr.make(fit=True)
    m = qr.get_matrix()
    if len(m) % 2:
        m.append([False] * len(m[0]))
    lines = []
    for top, bottom in zip(m[0::2], m[1::2]):
        chars = []
        for a, b in zip(top, bottom):
            a, b = not a, not b  # light modules drawn bright: scans on a dark terminal
            chars.append("█" if a and b else "▀" if a else "▄" if b else " ")
        lines.append("".join(chars))
    return "\n".join(lines)


def show(data: str, *, png: Path | None, tty: bool, echo) -> None:
    """Write the PNG if asked; draw it on stderr when attached to a terminal."""
    if png is not None:
        write_png(data, png)
        echo(f"QR code written to {png}")
    if tty:
        echo(terminal_art(data))
