#!/usr/bin/env python3
"""The transport ceiling for bench/hl7.sh: python-hl7's asyncio MLLP server that
answers every message with an AA at once and does no other work (it does not
even parse the message: it echoes MSH-10 found by a split).

    python3 bench/hl7_null_server.py PORT
"""
import asyncio
import socket
import sys

from hl7.mllp import start_hl7_server


async def handle(reader, writer):
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while not writer.is_closing():
            block = await reader.readblock()
            msh = block.split(b"\r", 1)[0].split(b"|")
            control = msh[9] if len(msh) > 9 else b""
            writer.writeblock(b"MSH|^~\\&|NULL|NULL|||20261201000000||ACK|" + control + b"|P|2.5.1\rMSA|AA|" + control + b"\r")
            await writer.drain()
    except asyncio.IncompleteReadError:
        pass
    finally:
        writer.close()


async def main():
    port = int(sys.argv[1])
    async with await start_hl7_server(handle, host="127.0.0.1", port=port) as server:
        await server.serve_forever()


asyncio.run(main())
