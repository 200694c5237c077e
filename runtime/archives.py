"""Zip members (.keras models, .npz arrays) checked to inflate to exactly the size they declare.

zipfile trusts a member's declared size only when it stops: `read()` first inflates all of a
member's compressed bytes, then cuts them to the declared size and finds the CRC wrong. A member
that declares 5 MB and inflates to 1 GiB costs 1 GiB before that. check_member inflates the raw
bytes itself, a megabyte at a time, and refuses at the first byte past the declared size, so any
later read of the member is bounded by what it declares.
"""

from __future__ import annotations

import struct
import zipfile
import zlib

# An archive (a .keras model, an .npz) may inflate to at most this many bytes plus ARCHIVE_RATIO times its own
# size: weights and pictures barely compress, a config about tenfold, a compression bomb a thousandfold.
ARCHIVE_ALLOWANCE = 64 * 1024 * 1024
ARCHIVE_RATIO = 20
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., name length, extra length
_STEP = 1 << 20


def inflation_limit(file_bytes: int) -> int:
    """The most bytes an archive of file_bytes may declare, in all."""
    return ARCHIVE_ALLOWANCE + ARCHIVE_RATIO * file_bytes


def check_member(file, info: zipfile.ZipInfo) -> None:
    """Read one member of an open zip file (binary, seekable) and check it inflates to its declared size.

    Raises:
        ValueError: a compression other than stored or deflated, a damaged member, or one whose content
            is longer or shorter than it declares (said in a few words, without the file's name).
    """
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            raise ValueError(f"{info.filename} declares {info.file_size:,} bytes but stores {info.compress_size:,}")
        return
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise ValueError(f"{info.filename} uses zip compression method {info.compress_type}; expected stored or "
                         f"deflated members")
    file.seek(info.header_offset)
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(file.read(_LOCAL_HEADER.size))
    if signature != b"PK\x03\x04":
        raise ValueError(f"{info.filename}: damaged zip entry")
    file.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    inflate, left, out = zlib.decompressobj(-zlib.MAX_WBITS), info.compress_size, 0
    try:
        while left > 0 or inflate.unconsumed_tail:
            if inflate.unconsumed_tail:
                data = inflate.unconsumed_tail
            else:
                data = file.read(min(_STEP, left))
                if not data:
                    raise ValueError(f"{info.filename}: the archive ends inside it")
                left -= len(data)
            out += len(inflate.decompress(data, _STEP))
            if out > info.file_size:
                raise ValueError(f"{info.filename} declares {info.file_size:,} bytes and inflates to more: a "
                                 f"compression bomb")
        out += len(inflate.flush())
    except zlib.error as e:
        raise ValueError(f"{info.filename}: damaged deflated data ({e})") from None
    if out != info.file_size:
        raise ValueError(f"{info.filename} declares {info.file_size:,} bytes and inflates to {out:,}")
