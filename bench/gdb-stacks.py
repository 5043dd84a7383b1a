# gdb-stacks.py sums a running Go process's goroutine stacks by the
# function each goroutine started in: how many, the bytes of stack they
# hold (stack.hi - stack.lo, the sizes counted) and the bytes in use where
# they wait (stack.hi - sched.sp). Dead goroutines are left out. gdb stops
# the process while it reads runtime.allgs, then lets it go on.
#
#   gdb -q -batch -p PID -ex 'source bench/gdb-stacks.py'
#
# docs/benchmarks.md, "1 000 idle terminals", has what it showed.
import collections

import gdb

G_DEAD = 6  # runtime._Gdead

allgs = gdb.parse_and_eval("'runtime.allgs'")
byfn = collections.defaultdict(lambda: [0, 0, 0, collections.Counter()])
for i in range(int(allgs["len"])):
    g = allgs["array"][i]
    if int(g["atomicstatus"]["value"]) == G_DEAD:
        continue
    lo, hi = int(g["stack"]["lo"]), int(g["stack"]["hi"])
    sp = int(g["sched"]["sp"])
    pc = int(g["startpc"])
    name = gdb.execute("info symbol %d" % pc, to_string=True).split(" in ")[0].split(" + ")[0].strip()
    s = byfn[name]
    s[0] += 1
    s[1] += hi - lo
    s[2] += hi - sp if lo <= sp <= hi else 0
    s[3][hi - lo] += 1
for name, (n, size, used, sizes) in sorted(byfn.items(), key=lambda kv: -kv[1][1]):
    print("%6d goroutines %9d B of stack, %6d each, %5d used each, sizes %s  %s"
          % (n, size, size // n, used // n, dict(sorted(sizes.items())), name))
