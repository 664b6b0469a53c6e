"""An .npz whose entries overlap: each one's deflate stream quotes the next entry's local
header and runs on into one shared kernel (David Fifield's construction), so every entry
is a valid .npy of the whole rest of the file, a few megabytes from a few kilobytes."""

import io
import struct
import zlib

import numpy as np

LOCAL = struct.Struct("<4s5HL2L2H")
CENTRAL = struct.Struct("<4s6HL2L5H2L")
END = struct.Struct("<4s4H2LH")


def _stored_block(data: bytes) -> bytes:
    """A non-final deflate block holding ``data`` as it is (header byte, LEN, NLEN)."""
    return b"\x00" + struct.pack("<HH", len(data), 0xFFFF ^ len(data)) + data


def _quote_header(length: int) -> bytes:
    return b"\x00" + struct.pack("<HH", length, 0xFFFF ^ length)


def _npy_header(size: int) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "|u1", "fortran_order": False, "shape": (size,)}
    )
    return buffer.getvalue()


def _npy_of(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def overlapping_npz(path, entries: int, kernel_bytes: int, config_text: str) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    kernel = compressor.compress(bytes(kernel_bytes)) + compressor.flush()
    names = [f"bomb{i}.npy".encode() for i in range(entries)]
    # Backwards: each entry's content, CRC and compressed size depend on the next one's.
    content, compressed = bytes(kernel_bytes), len(kernel)
    headers, prefixes = [None] * entries, [None] * entries
    for i in reversed(range(entries)):
        following = b""
        if i + 1 < entries:
            following = headers[i + 1]
        size = len(following) + len(content)
        npy = _npy_header(size)  # padded to 64 bytes: the same length for nearby sizes
        prefix = _stored_block(npy) + (_quote_header(len(following)) if following else b"")
        content = npy + following + content
        crc, content_size = zlib.crc32(content), len(content)
        compressed = len(prefix) + len(following) + compressed
        headers[i] = (
            LOCAL.pack(
                b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, compressed, content_size, len(names[i]), 0
            )
            + names[i]
        )
        prefixes[i] = prefix
    config = _npy_of(np.array(config_text))
    config_name = b"__config__.npy"
    body = io.BytesIO()
    central = []
    offset = 0
    config_header = (
        LOCAL.pack(
            b"PK\x03\x04",
            20,
            0,
            0,
            0,
            0x21,
            zlib.crc32(config),
            len(config),
            len(config),
            len(config_name),
            0,
        )
        + config_name
    )
    body.write(config_header + config)
    central.append((config_name, 0, zlib.crc32(config), len(config), len(config), 0))
    for i in range(entries):
        offset = body.tell()
        body.write(headers[i] + prefixes[i])
        fields = LOCAL.unpack(headers[i][: LOCAL.size])
        central.append((names[i], 8, fields[6], fields[7], fields[8], offset))
    body.write(kernel)
    start = body.tell()
    for name, method, crc, csize, usize, offset in central:
        body.write(
            CENTRAL.pack(
                b"PK\x01\x02",
                20,
                20,
                0,
                method,
                0,
                0x21,
                crc,
                csize,
                usize,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + name
        )
    end = body.tell()
    body.write(END.pack(b"PK\x05\x06", 0, 0, len(central), len(central), end - start, start, 0))
    with open(path, "wb") as file:
        file.write(body.getvalue())
