#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# A TCP proxy that flips one bit of the byte at OFFSET of every connection
# (or only of the Nth, counted from 1) in the client-to-server direction: a
# link that corrupts data the TCP checksum let through.
# Usage: flip_proxy.py LISTEN_PORT HOST PORT OFFSET [N]
import socket
import sys
import threading


def pump(src, dst, offset):
    seen = 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if offset is not None and seen <= offset < seen + len(data):
                b = bytearray(data)
                b[offset - seen] ^= 0x10
                data = bytes(b)
            seen += len(data)
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    port, host, dport, offset = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    only = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    print("ready", flush=True)
    n = 0
    while True:
        c, _ = ls.accept()
        n += 1
        s = socket.create_connection((host, dport))
        flip = offset if not only or n == only else None
        threading.Thread(target=pump, args=(c, s, flip), daemon=True).start()
        threading.Thread(target=pump, args=(s, c, None), daemon=True).start()
        # Each ends with its pumps: the last one's end closes it.
        del c, s


main()
