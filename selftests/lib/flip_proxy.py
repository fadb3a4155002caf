#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# A TCP proxy that flips one bit of the byte at OFFSET of every connection
# (or only of the Nth, counted from 1) in the client-to-server direction: a
# link that corrupts data the TCP checksum let through. OFFSET -1: none.
# DELAY: seconds the Nth connection (every one with N 0) waits before the
# proxy connects it onward, a slow path to the other host.
# Usage: flip_proxy.py LISTEN_PORT HOST PORT OFFSET [N [DELAY]]
import socket
import sys
import threading
import time


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
    delay = float(sys.argv[6]) if len(sys.argv) > 6 else 0
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    print("ready", flush=True)
    n = 0
    while True:
        c, _ = ls.accept()
        n += 1
        mine = not only or n == only
        threading.Thread(target=forward, args=(c, host, dport, offset if mine and offset >= 0 else None,
                                               delay if mine else 0), daemon=True).start()
        del c


def forward(c, host, dport, flip, delay):
    time.sleep(delay)
    try:
        s = socket.create_connection((host, dport))
    except OSError:
        c.close()
        return
    threading.Thread(target=pump, args=(c, s, flip), daemon=True).start()
    # Each ends with its pumps: the last one's end closes it.
    pump(s, c, None)


main()
