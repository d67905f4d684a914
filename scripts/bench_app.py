"""Start-up time and idle memory of a Tauri app and everything it spawns (WebKit's web and
network processes). Usage: bench_app.py BASELINE APP [APP...] RUNS: several apps (say, the
app before and after a change) are measured side by side, interleaved, in one run. Each app prints "ready" when its
page has called its first command; memory is read 10 s later from /proc (PSS from
smaps_rollup, RSS from status) over the app's process tree."""
import os, statistics, subprocess, sys, tempfile, time


def tree(pid):
    out, todo = [], [pid]
    children = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(p))
            except OSError:
                pass
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def memory(pid):
    pss = rss = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
        except OSError:
            pass
    return pss / 1024, rss / 1024


def run(binary):
    home = tempfile.mkdtemp()
    env = dict(os.environ, KEYSAFE_BENCH_READY="1", KEYSAFE_HOME=home)
    t0 = time.perf_counter()
    p = subprocess.Popen([binary], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    line = p.stdout.readline()
    started = time.perf_counter() - t0
    if "ready" not in line:
        p.kill()
        raise SystemExit(f"{binary} did not report ready: {line!r}")
    time.sleep(10)
    pss, rss = memory(p.pid)
    p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
    return started * 1000, pss, rss


def main():
    base, apps, runs = sys.argv[1], sys.argv[2:-1], int(sys.argv[-1])
    every = [base, *apps]
    results = {b: [] for b in every}
    for b in every:
        run(b)  # warm the page cache: "cold" here means a fresh process
    for _ in range(runs):
        for b in every:
            results[b].append(run(b))
    med = {b: [statistics.median(x[i] for x in r) for i in range(3)] for b, r in results.items()}
    size = {b: os.path.getsize(b) / 1e6 for b in results}
    name = lambda b: os.path.relpath(b) if len(apps) > 1 else os.path.basename(b)
    print(f"{'':40} {'start (ms)':>11} {'PSS (MiB)':>10} {'RSS (MiB)':>10} {'binary (MB)':>12}")
    for b in every:
        s, pss, rss = med[b]
        print(f"{name(b):40} {s:11.0f} {pss:10.0f} {rss:10.0f} {size[b]:12.2f}")
    for app in apps:
        s = med[app][0] / med[base][0]
        m = med[app][1] / med[base][1]
        r = med[app][2] / med[base][2]
        print(f"{name(app)}: start {s:.2f}x (target <= 1.2), PSS {m:.2f}x, RSS {r:.2f}x (target <= 1.3), binary {size[app]:.2f} MB (target <= 15)")
    print(f"medians of {runs} runs each, interleaved")

main()
