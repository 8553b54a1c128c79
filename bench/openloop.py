#!/usr/bin/env python3
"""Open-loop GET load at a fixed rate, for bench/fairness.sh (no wrk2 here).

    bench/openloop.py URL_BASE TARGETS RATE SECONDS [MAX_CONNS]

Request i is due at start + i/RATE whatever happened to the ones before it
(open loop: a slow answer does not delay the next request, unlike wrk); each
is `GET <base>/Patient/<id>` for a random line "<base> <id> <token>" of
TARGETS, on an idle keep-alive connection or a new one (at most MAX_CONNS,
default 64; a request whose idle connection the server has closed is sent
again on a new one). Its latency is measured from when it was due, so time spent
waiting for a connection or for this process to be scheduled counts
(no coordinated omission). Standard library only. Prints one line:
    RESULT sent=.. rate=.. p50=.. p90=.. p99=.. max=.. non200=.. errors=.. late=..
(latencies in ms; late = requests sent more than 5 ms after they were due).
"""
import asyncio
import random
import sys
import time
from urllib.parse import urlsplit


async def read_response(reader):
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    length, chunked, close = 0, False, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode("latin-1").partition(":")
        k, v = k.strip().lower(), v.strip().lower()
        if k == "content-length":
            length = int(v)
        elif k == "transfer-encoding" and "chunked" in v:
            chunked = True
        elif k == "connection" and v == "close":
            close = True
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


async def main():
    base, targets_file, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    max_conns = int(sys.argv[5]) if len(sys.argv) > 5 else 64
    u = urlsplit(base)
    host, port = u.hostname, u.port or 80
    targets = []
    for line in open(targets_file):
        parts = line.split()
        if len(parts) == 3:
            b, i, tok = parts
            targets.append(f"GET {b}/Patient/{i} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                           f"Accept: application/fhir+json\r\nAuthorization: Bearer {tok}\r\n\r\n".encode())
    rng = random.Random(7)
    idle, open_conns = [], [0]
    slots = asyncio.Semaphore(max_conns)
    lat, non200, errors, late, first_error = [], [0], [0], [0], [""]

    async def send(conn, req):
        r, w = conn
        w.write(req)
        await w.drain()
        return await read_response(r)

    async def one(due, req):
        async with slots:
            conn = idle.pop() if idle else None
            try:
                if time.perf_counter() - due > 0.005:
                    late[0] += 1
                try:
                    if conn is None:
                        raise ConnectionError("none idle")
                    status, close = await send(conn, req)
                except (OSError, ConnectionError, asyncio.IncompleteReadError):
                    # None idle, or the server closed an idle one (keep-alive
                    # timeout): a new connection, the time it takes counted.
                    if conn:
                        conn[1].close()
                    conn = await asyncio.open_connection(host, port)
                    open_conns[0] += 1
                    status, close = await send(conn, req)
                lat.append((time.perf_counter() - due) * 1000)
                if status != 200:
                    non200[0] += 1
                if close:
                    conn[1].close()
                else:
                    idle.append(conn)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
                errors[0] += 1
                first_error[0] = first_error[0] or repr(e)[:200]
                if conn:
                    conn[1].close()

    n = int(rate * seconds)
    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(due, targets[rng.randrange(len(targets))])))
    await asyncio.gather(*tasks)
    took = time.perf_counter() - start
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p / 100))] if lat else float("nan")
    print(f"RESULT sent={n} rate={n / took:.1f} p50={pct(50):.2f} p90={pct(90):.2f} p99={pct(99):.2f} "
          f"max={lat[-1] if lat else float('nan'):.2f} non200={non200[0]} errors={errors[0]} late={late[0]} conns={open_conns[0]}")
    if first_error[0]:
        print("FIRST_ERROR " + first_error[0])
    for _, w in idle:
        w.close()


if __name__ == "__main__":
    asyncio.run(main())
