#!/usr/bin/env python3
"""MLLP load for issue #5: CONNS connections each sending ORU^R01 messages with
five OBX, one at a time (the sender waits for each ACK, as MLLP senders do), for
DURATION seconds. Prints messages/s and ACK latency percentiles (ms), and fails
if any ACK is not AA. Uses python-hl7's MLLP client (PyPI `hl7`) at the block
level (messages are prepared bytes, so the client's own cost stays small).

    python3 bench/hl7_load.py HOST PORT CONNS DURATION [PREFIX]
"""
import asyncio
import socket
import sys
import time

from hl7.mllp import open_hl7_connection


def oru(prefix, n):
    seg = [
        f"MSH|^~\\&|ANALYZER|LAB|FHIRGATE|HOSP|20261201083000+0000||ORU^R01^ORU_R01|{prefix}-{n}|P|2.5.1",
        f"PID|1||{prefix}MRN{n % 500}^^^LAB^MR||Bench^Patient{n % 500}||19700101|F",
        f"OBR|1|{prefix}P{n}^LAB|{prefix}F{n}^LAB|24323-8^Metabolic panel^LN|||20261201073000+0000",
        "OBX|1|NM|2345-7^Glucose^LN||99|mg/dL^mg/dL^UCUM|70-105|N|||F",
        "OBX|2|NM|2951-2^Sodium^LN||140|mmol/L^mmol/L^UCUM|136-145|N|||F",
        "OBX|3|NM|2823-3^Potassium^LN||4.1|mmol/L^mmol/L^UCUM|3.5-5.1|N|||F",
        "OBX|4|NM|2160-0^Creatinine^LN||0.9|mg/dL^mg/dL^UCUM|0.6-1.2|N|||F",
        "OBX|5|NM|2075-0^Chloride^LN||101|mmol/L^mmol/L^UCUM|98-107|N|||F",
    ]
    return ("\r".join(seg) + "\r").encode()


async def sender(host, port, prefix, counter, deadline, lat, bad):
    reader, writer = await open_hl7_connection(host, port)
    # python-hl7 writes the start block, message and end block separately: without
    # TCP_NODELAY, Nagle's algorithm and delayed ACKs add ~40 ms per message.
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while time.monotonic() < deadline:
            n = counter[0]
            counter[0] += 1
            msg = oru(prefix, n)
            t0 = time.perf_counter()
            writer.writeblock(msg)
            await writer.drain()
            ack = await reader.readblock()
            lat.append((time.perf_counter() - t0) * 1000.0)
            msa = next((s for s in ack.split(b"\r") if s.startswith(b"MSA")), b"MSA|??")
            code = msa.split(b"|")[1].decode()
            if code != "AA":
                bad.append(code)
    finally:
        writer.close()


async def main():
    host, port, conns, duration = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    prefix = sys.argv[5] if len(sys.argv) > 5 else f"L{int(time.time())}"
    counter, lat, bad = [0], [], []
    start = time.monotonic()
    deadline = start + duration
    await asyncio.gather(*(sender(host, port, f"{prefix}c{i}", counter, deadline, lat, bad) for i in range(conns)))
    elapsed = time.monotonic() - start
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] if lat else float("nan")
    print(f"messages {len(lat)} in {elapsed:.1f} s: {len(lat) / elapsed:.1f} msg/s; "
          f"p50 {pct(0.50):.2f} ms p99 {pct(0.99):.2f} ms; not AA: {len(bad)}")
    if bad:
        sys.exit(f"{len(bad)} ACKs were not AA, e.g. {bad[0]}")


if __name__ == "__main__":
    asyncio.run(main())
