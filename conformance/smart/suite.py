#!/usr/bin/env python3
"""The SMART App Launch 2.0.0 conformance suite's runner
(conformance/smart/README.md). Started by run.sh, which sets up the gateway
and passes what it made in SMART_* environment variables.

Each check is a `test_*` function of one of MODULES, taking the shared
context (`Ctx`), run in file order; its docstring's first line says what it
checks and cites the section of the specification it comes from. A check
fails on any exception. The last line is "N passed, N failed".

  suite.py [-k SUBSTRING]...   only the checks whose name contains one
"""

import argparse
import importlib
import logging
import os
import sys
import time
import traceback
from functools import cached_property

import harness

# fhirclient warns about every id_token it is given ("ignoring"); the suite checks them itself.
logging.getLogger("fhirclient").setLevel(logging.ERROR)

MODULES = ["test_discovery", "test_launch", "test_pkce", "test_refresh",
           "test_introspection", "test_backend", "test_scopes"]


class Ctx:
    """What the checks share: the environment, one Chromium and the
    redirect URI's listener (started on first use), and cached launches."""

    def __init__(self):
        self.env = harness.Env()
        self.cache = {}
        self._browser = None
        self._callback = None

    @cached_property
    def callback(self):
        from browser import Callback
        self._callback = Callback(self.env.callback_port)
        return self._callback

    @cached_property
    def browser(self):
        from browser import Browser
        self._browser = Browser(self.env.artifacts)
        return self._browser

    def once(self, key, make):
        """`make()` the first time; later calls get the same value, or the same exception."""
        if key not in self.cache:
            try:
                self.cache[key] = (True, make())
            except Exception as e:  # noqa: BLE001 (replayed to each dependent check)
                self.cache[key] = (False, e)
        ok, value = self.cache[key]
        if not ok:
            raise harness.Failure(f"(set-up '{key}' failed) {value}")
        return value

    def close(self):
        if self._browser is not None:
            self._browser.close()
        if self._callback is not None:
            self._callback.close()


def collect(filters):
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    tests = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, fn in vars(module).items():
            if attr.startswith("test_") and callable(fn) and getattr(fn, "__module__", "") == name:
                if not filters or any(f in attr for f in filters):
                    tests.append((name, attr, fn))
    tests.sort(key=lambda t: (MODULES.index(t[0]), t[2].__code__.co_firstlineno))
    return tests


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-k", action="append", default=[], help="run only the checks whose name contains this")
    args = p.parse_args()
    tests = collect(args.k)
    ctx = Ctx()
    passed, failed, lines = 0, [], []
    started = time.time()
    try:
        for module, name, fn in tests:
            doc = (fn.__doc__ or "").strip().splitlines()
            title = doc[0] if doc else name
            t0 = time.time()
            try:
                fn(ctx)
                passed += 1
                line = f"ok    {module}::{name}  ({time.time() - t0:.1f}s)  {title}"
            except Exception as e:  # noqa: BLE001 (a failed check, reported and counted)
                failed.append(name)
                detail = str(e) if isinstance(e, AssertionError) else "".join(
                    traceback.format_exception_only(type(e), e)).strip()
                line = f"FAIL  {module}::{name}  {title}\n      -> {detail}"
                if not isinstance(e, AssertionError):
                    lines.append(traceback.format_exc())
            print(line, flush=True)
            lines.append(line)
    finally:
        ctx.close()
    summary = f"{passed} passed, {len(failed)} failed"
    lines.append(f"{summary} in {time.time() - started:.0f}s")
    os.makedirs(ctx.env.artifacts, exist_ok=True)
    with open(os.path.join(ctx.env.artifacts, "results.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if failed:
        print("failed: " + ", ".join(failed))
    since = float(os.environ.get("SMART_STARTED", started))
    print(f"smart: {len(tests)} checks in {time.time() - started:.0f}s ({time.time() - since:.0f}s with the set-up)")
    print(summary)
    return 1 if failed or not tests else 0


if __name__ == "__main__":
    sys.exit(main())
