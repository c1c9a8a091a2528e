#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The agent's shared library as the dynamic loader sees it.

--check exports: its dynamic symbols are exactly its hooks, the functions
agent/hooks.c marks HOOK: nothing of the format library or of its own
internals leaks into the program's namespace.

--check bindings: it calls none of its own hooks. Inside the library, a
call to an exported name goes through the PLT and the loader binds it to
the first definition, the agent's own hook (a close() in the trace writer
would land in the agent's close hook, an execv() in its execve hook): no
relocation of the library may name a symbol it exports, and a run under
LD_DEBUG=bindings shows no binding from the agent to itself.

Arguments: --check exports|bindings --agent PATH --hooks PATH (agent/hooks.c).
Exit status: 0 pass, 1 fail (reason on stderr).
"""
import argparse
import os
import re
import sys

from mtest import check, log, run, show

RELOC_TYPES = ("R_X86_64_JUMP_SLOT", "R_X86_64_GLOB_DAT", "R_X86_64_64")


def hooks_in_source(path):
    """The names agent/hooks.c defines with HOOK."""
    with open(path) as f:
        names = set(re.findall(r"^HOOK\b[^(;]*?\b(\w+)\s*\(", f.read(), re.M))
    # a list too short means the pattern no longer matches the source, not a small agent
    check(len(names) >= 20 and {"mmap", "close", "execve"} <= names,
          f"cannot read the hooks of {path}: found {sorted(names)}")
    return names


def exports(agent):
    cp = run(["nm", "-D", "--defined-only", agent])
    check(cp.returncode == 0, f"nm: {show(cp)}")
    return {line.split()[-1].split("@")[0] for line in cp.stdout.splitlines() if line.strip()}


def check_exports(args):
    want, got = hooks_in_source(args.hooks), exports(args.agent)
    check(got == want, f"exported but not a hook: {sorted(got - want)}; "
          f"a hook not exported: {sorted(want - got)}")
    log(f"exports: the {len(got)} hooks of hooks.c, nothing else")


def relocated_symbols(agent):
    cp = run(["readelf", "-W", "--relocs", agent])
    check(cp.returncode == 0, f"readelf: {show(cp)}")
    names = set()
    for line in cp.stdout.splitlines():
        f = line.split()
        if len(f) >= 5 and f[2] in RELOC_TYPES:
            names.add(f[4].split("@")[0])
    check("memcpy" in names, "no relocation against memcpy: cannot read readelf's output")
    return names


def check_bindings(args):
    own = exports(args.agent)
    check("close" in own, f"close is not among the agent's exports: {sorted(own)}")
    self_refs = relocated_symbols(args.agent) & own
    check(not self_refs, f"the agent calls its own hooks through its PLT/GOT: {sorted(self_refs)}")
    log("relocations: none names one of the agent's own symbols")
    # every binding is made at load time (-z now): a short run shows them all
    env = dict(os.environ, LD_PRELOAD=args.agent, LD_DEBUG="bindings", MADVTRACE_QUIET="1")
    cp = run(["/bin/true"], env=env)
    check(cp.returncode == 0, f"/bin/true under the agent: {show(cp)}")
    name = re.escape(args.agent.rsplit("/", 1)[-1])
    from_agent = [l for l in cp.stderr.splitlines()
                  if re.search(rf"binding file \S*{name} \[\d+\] to ", l)]
    check(any("`memcpy'" in l for l in from_agent),
          f"LD_DEBUG=bindings showed no binding of the agent: {cp.stderr[-2000:]!r}")
    to_self = [l.strip() for l in from_agent
               if re.search(rf" to \S*{name} \[\d+\]: ", l)]
    check(not to_self, "the agent binds to itself: " + "; ".join(to_self))
    log(f"LD_DEBUG=bindings: {len(from_agent)} bindings of the agent, none to itself")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", choices=("exports", "bindings"), required=True)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--hooks", required=True)
    args = ap.parse_args()
    try:
        (check_exports if args.check == "exports" else check_bindings)(args)
    except Exception as e:  # mtest's failures and anything unexpected alike
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
