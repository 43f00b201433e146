"""Sigma's text-encoding modifiers as the specification defines them, registered with pySigma.

pySigma 1.5.1 differs from the Sigma specification (appendix "Modifiers") in two places,
both corrected here for every consumer of a rule (conversion and matching alike):

* ``utf16le`` is the specification's name for ``wide`` and is unknown to pySigma.
* pySigma builds UTF-16 values as text and lets ``base64`` encode that text as UTF-8. For
  ASCII that gives the right bytes, but ``utf16``'s byte order mark ``FF FE`` becomes
  ``EF BB BF`` and non-ASCII text is refused. Here the UTF-16 modifiers keep the exact
  bytes with the value (EncodedString), and ``base64``/``base64offset`` encode those.

A value with wildcards is left to pySigma's own implementation (its bytes are not one
fixed sequence), as is any value a UTF-16 modifier did not produce.
"""

from __future__ import annotations

from base64 import b64encode
from typing import ClassVar

from sigma.modifiers import (
    SigmaBase64Modifier,
    SigmaBase64OffsetModifier,
    SigmaUTF16BEModifier,
    SigmaUTF16Modifier,
    SigmaWideModifier,
    modifier_mapping,
    reverse_modifier_mapping,
)
from sigma.types import SigmaExpansion, SigmaString, SigmaType


class EncodedString(SigmaString):
    """A value standing for exact bytes (text encoded as UTF-16), kept in ``data``.

    As text it reads as those bytes taken one character each (Latin-1), which for ASCII
    input is what pySigma's own UTF-16 modifiers produce.
    """

    data: bytes

    @classmethod
    def of(cls, data: bytes) -> "EncodedString":
        value = cls()
        text = data.decode("latin-1")
        value.data = data
        value.s = [text] if text else []
        value.original = text
        return value


class _Utf16Encoding:
    """Mixin: encode a plain value to UTF-16 bytes; pySigma's way for wildcard values."""

    encoding: ClassVar[str]
    byte_order_mark: ClassVar[bytes] = b""

    def modify(self, val: SigmaString) -> SigmaString:
        if val.contains_special() or val.contains_placeholder():
            return super().modify(val)  # type: ignore[misc,no-any-return]
        return EncodedString.of(self.byte_order_mark + val.to_plain_regex().encode(self.encoding))


class Utf16LEModifier(_Utf16Encoding, SigmaWideModifier):
    """``wide`` / ``utf16le``: UTF-16, little endian, no byte order mark."""

    encoding: ClassVar[str] = "utf-16-le"


class Utf16BEModifier(_Utf16Encoding, SigmaUTF16BEModifier):
    """``utf16be``: UTF-16, big endian, no byte order mark."""

    encoding: ClassVar[str] = "utf-16-be"


class Utf16Modifier(_Utf16Encoding, SigmaUTF16Modifier):
    """``utf16``: the byte order mark ``FF FE``, then UTF-16 little endian."""

    encoding: ClassVar[str] = "utf-16-le"
    byte_order_mark: ClassVar[bytes] = b"\xff\xfe"


class Base64Modifier(SigmaBase64Modifier):
    """``base64`` of a value's exact bytes (UTF-8 text, or a UTF-16 modifier's bytes)."""

    def modify(self, val: SigmaString) -> SigmaString:
        if isinstance(val, EncodedString):
            return SigmaString(b64encode(val.data).decode())
        return super().modify(val)


class Base64OffsetModifier(SigmaBase64OffsetModifier):
    """``base64offset`` of a value's exact bytes, at the three offsets."""

    def modify(self, val: SigmaString) -> SigmaExpansion:
        if not isinstance(val, EncodedString):
            return super().modify(val)
        data = val.data
        variants: list[SigmaType] = []
        for shift in range(3):
            encoded = b64encode(shift * b" " + data)
            variants.append(SigmaString(
                encoded[self.start_offsets[shift]:self.end_offsets[(len(data) + shift) % 3]].decode()
            ))
        return SigmaExpansion(variants)


_MODIFIERS: dict[str, type] = {
    "wide": Utf16LEModifier,
    "utf16le": Utf16LEModifier,
    "utf16be": Utf16BEModifier,
    "utf16": Utf16Modifier,
    "base64": Base64Modifier,
    "base64offset": Base64OffsetModifier,
}


def register_modifiers() -> None:
    """Install the modifiers above in pySigma's modifier table (idempotent)."""
    for name, cls in _MODIFIERS.items():
        modifier_mapping[name] = cls  # type: ignore[assignment]
    for cls in set(_MODIFIERS.values()):
        # Serialising a rule back to YAML names the modifier by its specification name.
        reverse_modifier_mapping[cls.__name__] = "wide" if cls is Utf16LEModifier else next(
            name for name, registered in _MODIFIERS.items() if registered is cls
        )


register_modifiers()
