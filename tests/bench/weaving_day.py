#!/usr/bin/env python3
"""tests/bench/weaving_day.py: a simulated day of the weaving floor against fofal-api.

24 looms x 3 shifts (A, B, C of 8 hours), played at PACE times real speed (default 10):
  - each loom's weaver declares a roll about every hour (POST production.order.declare_output),
    and the phone fetches the new label as ZPL to print it (GET .../labels/{id}/label.zpl
    with the 201's ?position=, so it waits for the projection), one time in three also as
    a QR PNG (GET .../labels/{id}/qr.png);
  - cutters scan each roll some minutes later (GET .../labels/{id});
  - the 8 weavers of the shift refresh their dashboard every 2 minutes
    (GET .../views/weaver), 3 mechanics their board every minute (GET .../views/mechanic),
    a planner the planner view every 5 minutes during shifts A and B;
  - about two intervention requests per loom and day, taken by a mechanic a few minutes
    later, started, and finished 20 to 60 minutes after (four POSTs each).
Times are simulated minutes; the schedule is fixed by --seed. Requests are sent by a pool
of worker threads (HTTP/1.1 keep-alive, one connection each) at their scheduled wall time
(open loop: a slow answer does not delay the next request); latency is measured from the
scheduled time to the complete answer.

Before the day, it builds its own floor in a fresh tenant through the command API (the
24 looms, their beams, weavers on the current shift, an order per loom). Declarations fall
in the real current shift (the simulated shifts decide who acts, not the clock).

Prints JSON lines: one per endpoint {"bench":"weaving","endpoint",...,"p50_ms","p99_ms"},
and a summary {"bench":"weaving_day",...}. Progress on stderr.

usage: weaving_day.py --api URL --cli PATH [--config FILE] [--pace P] [--sim-hours H] [--workers N] [--seed S]
"""
import argparse
import datetime as dt
import heapq
import http.client
import json
import random
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

UTC_OFFSET = dt.timedelta(hours=1)


def say(msg):
    print(f"weaving: {msg}", file=sys.stderr, flush=True)


class Client:
    """One keep-alive HTTP/1.1 connection (reconnects when the server closes it)."""

    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.host, self.port, self.conn = u.hostname, u.port or 80, None

    def request(self, method, path, token, body=None, headers=None):
        h = {"Authorization": "Bearer " + token}
        if body is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                payload = r.read()
                if r.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, payload
            except (http.client.HTTPException, OSError):
                if self.conn:
                    self.conn.close()
                self.conn = None
                if attempt:
                    return 0, b""
        return 0, b""


class Floor:
    def __init__(self, api, cli, tenant, config=None):
        self.api, self.cli, self.tenant, self.tokens, self.config = api, cli, tenant, {}, config
        self.client = Client(api)

    def token(self, subject, role):
        if (subject, role) not in self.tokens:
            cfg = ["--config", self.config] if self.config else []
            out = subprocess.run([self.cli, "token", *cfg, "--tenant", self.tenant, "--badge", subject, "--role", role,
                                  "--ttl", "43200"], check=True, capture_output=True, text=True)
            self.tokens[(subject, role)] = out.stdout.strip()
        return self.tokens[(subject, role)]

    def batch(self, who, cmds):
        for i in range(0, len(cmds), 100):
            part = [{"type": t, "idempotency_key": k, "data": d} for t, k, d in cmds[i:i + 100]]
            for attempt in range(30):
                st, body = self.client.request("POST", "/api/v1/commands", self.token(*who), {"commands": part})
                res = json.loads(body) if st == 200 else None
                if res and all(r.get("status") == 201 for r in res["results"]):
                    break
                bad = [r for r in (res or {}).get("results", []) if r.get("status") not in (201, 202, 503)]
                if bad:
                    sys.exit(f"weaving: setup command refused: {json.dumps(bad[0])[:600]}")
                time.sleep(1)
            else:
                sys.exit(f"weaving: setup batch not accepted: {st} {body[:400]!r}")


def current_shifts():
    local = dt.datetime.now(dt.timezone.utc) + UTC_OFFSET
    h = local.hour
    day = local.date() if h >= 6 else local.date() - dt.timedelta(days=1)
    code = "A" if 6 <= h < 14 else "B" if 14 <= h < 22 else "C"
    nxt = {"A": (day, "B"), "B": (day, "C"), "C": (day + dt.timedelta(days=1), "A")}[code]
    return [f"{day}/{code}", f"{nxt[0]}/{nxt[1]}"]


def build_floor(f, tag):
    say(f"building the floor of tenant {f.tenant}")
    admin = ("bench-admin", "admin")
    cmds = [("catalog.article.define", f"{tag}-art", {"article": "FT-200", "name": "Fouta 100x200", "weave": "flat",
                                                         "width_cm": 100, "length_cm": 200, "picks_per_cm": 18})]
    for i in range(1, 25):
        l = f"L{i:02d}"
        cmds += [("production.loom.register", f"{tag}-loom-{l}", {"loom": l, "hall": "H1" if i <= 12 else "H2",
                                                                  "nominal_ppm": 450, "weave": "flat"}),
                 ("production.beam.warp", f"{tag}-warp-{l}", {"beam": f"B-{l}", "kind": "ground", "yarn_lots": ["LOT-1"],
                                                              "ends": 4000, "length_m": 100000}),
                 ("production.beam.size", f"{tag}-size-{l}", {"beam": f"B-{l}"}),
                 ("production.beam.draw_in", f"{tag}-draw-{l}", {"beam": f"B-{l}"}),
                 ("production.loom.mount_beam", f"{tag}-mount-{l}", {"loom": l, "beam": f"B-{l}"}),
                 ("production.loom.check_first_piece", f"{tag}-fp-{l}", {"loom": l, "result": "pass"})]
    for k in range(1, 25):
        cmds.append(("hr.employee.register", f"{tag}-w{k}", {"badge": f"W{100 + k}", "name": f"W{100 + k}", "job": "weaver"}))
    for k in range(1, 7):
        cmds.append(("hr.employee.register", f"{tag}-m{k}", {"badge": f"M{k:02d}", "name": f"M{k:02d}", "job": "mechanic"}))
    for k in range(1, 25):
        first = ((k - 1) % 8) * 3 + 1
        for s in current_shifts():
            cmds.append(("hr.employee.assign_shift", f"{tag}-as-{k}-{s.replace('/', '-')}",
                         {"badge": f"W{100 + k}", "shift": s, "looms": [f"L{first + j:02d}" for j in range(3)]}))
    orders = {}
    for i in range(1, 25):
        oid = str(uuid.uuid4())
        orders[f"L{i:02d}"] = oid
        cmds += [("production.order.create", f"{tag}-oc-{i}", {"order_id": oid, "article": "FT-200", "quantity": 100000}),
                 ("production.order.release", f"{tag}-or-{i}", {"order_id": oid}),
                 ("production.order.start", f"{tag}-os-{i}", {"order_id": oid, "loom": f"L{i:02d}"})]
    f.batch(admin, cmds)
    return orders


def schedule(sim_hours, seed):
    """The day's actions: (sim_minute, seq, kind, args)."""
    rnd = random.Random(seed)
    ev, seq = [], 0

    def add(t, kind, **args):
        nonlocal seq
        if t < sim_hours * 60:
            ev.append((t, seq, kind, args))
            seq += 1

    for s, code in enumerate("ABC"):
        t0 = s * 480
        for k in range(8):  # the shift's weavers
            weaver = f"W{100 + s * 8 + k + 1}"
            for t in range(t0 + rnd.randint(0, 119) % 2, t0 + 480, 2):
                add(t + rnd.random(), "weaver_view", badge=weaver)
            for j in range(3):
                loom = f"L{k * 3 + j + 1:02d}"
                t = t0 + rnd.uniform(30, 70)
                while t < t0 + 480:
                    add(t, "declare", loom=loom, weaver=weaver, scan_after=rnd.uniform(5, 40), png=rnd.random() < 1 / 3)
                    t += rnd.uniform(45, 75)
        for m in range(3):
            for t in range(t0, t0 + 480):
                add(t + rnd.random(), "mechanic_view", mechanic=f"M{s * 2 % 6 + m % 2 + 1:02d}")
        if code in "AB":
            for t in range(t0, t0 + 480, 5):
                add(t + rnd.random(), "planner_view")
    for i in range(1, 25):
        for _ in range(2):
            t = rnd.uniform(0, 1440 - 90)
            add(t, "intervention", loom=f"L{i:02d}", accept=rnd.uniform(2, 10), work=rnd.uniform(20, 60),
                mechanic=f"M{rnd.randint(1, 6):02d}")
    ev.sort()
    return ev


class Stats:
    def __init__(self):
        self.lock, self.lat, self.err = threading.Lock(), {}, {}

    def add(self, endpoint, ms, ok):
        with self.lock:
            self.lat.setdefault(endpoint, []).append(ms)
            if not ok:
                self.err[endpoint] = self.err.get(endpoint, 0) + 1


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--api", required=True)
    ap.add_argument("--cli", required=True, help="the fofal CLI, to sign tokens")
    ap.add_argument("--config", help="settings file for the CLI (the stack's stack.env)")
    ap.add_argument("--pace", type=float, default=10.0, help="times real speed (default 10: a day in 2.4 hours)")
    ap.add_argument("--sim-hours", type=float, default=24.0, help="simulated hours to play (default 24)")
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    tenant = "bench-" + uuid.uuid4().hex[:8]
    f = Floor(a.api, a.cli, tenant, a.config)
    orders = build_floor(f, tenant)
    plan = schedule(a.sim_hours, a.seed)
    say(f"{len(plan)} scheduled actions over {a.sim_hours:g} simulated hours at {a.pace:g}x: "
        f"{a.sim_hours * 3600 / a.pace / 60:.1f} minutes")
    stats = Stats()
    heap, lock, cond = [], threading.Lock(), threading.Condition()
    start = time.monotonic() + 1.0
    for t, seq, kind, args in plan:
        heap.append((start + t * 60 / a.pace, seq, kind, args))
    heapq.heapify(heap)
    seqc = [len(plan)]
    labels = []
    open_done = threading.Event()

    def push(at, kind, args):
        with cond:
            seqc[0] += 1
            heapq.heappush(heap, (at, seqc[0], kind, args))
            cond.notify()

    def timed(client, endpoint, sched, method, path, token, body=None, want=(200,)):
        st, payload = client.request(method, path, token, body,
                                     {"Idempotency-Key": uuid.uuid4().hex} if method == "POST" else None)
        ms = (time.monotonic() - sched) * 1000
        stats.add(endpoint, ms, st in want)
        return st, payload

    def timed_stocked(client, endpoint, sched, path, token):
        """A label read as the phone makes it right after declaring: the unit enters stock
        by reaction (module inventory), so 409 label_pending is asked again; one sample."""
        for _ in range(50):
            st, payload = client.request("GET", path, token, None, None)
            if st != 409:
                break
            time.sleep(0.2)
        stats.add(endpoint, (time.monotonic() - sched) * 1000, st == 200)
        return st, payload

    def cmd(client, endpoint, sched, who, ctype, data):
        st, payload = timed(client, endpoint, sched, "POST", "/api/v1/commands/" + ctype, f.token(*who), data, (201,))
        try:
            return json.loads(payload) if st == 201 else None
        except ValueError:
            return None

    def worker():
        client = Client(a.api)
        while True:
            with cond:
                while True:
                    if not heap:
                        if open_done.is_set():
                            return
                        cond.wait(0.2)
                        continue
                    at = heap[0][0]
                    now = time.monotonic()
                    if at <= now:
                        at, _, kind, args = heapq.heappop(heap)
                        break
                    cond.wait(min(at - now, 0.2))
            if kind == "declare":
                res = cmd(client, "declare_output", at, (args["weaver"], "weaver"), "production.order.declare_output",
                          {"order_id": orders[args["loom"]], "quantity": 30, "weaver": args["weaver"]})
                label = next((e["issued"]["label_id"] for e in (res or {}).get("events", [])
                              if e.get("issued", {}).get("label_id")), None)
                if label:
                    labels.append(label)
                    tok = f.token(args["weaver"], "weaver")
                    # The phone prints at once: it reads its own write (?position= of the 201).
                    q = "?position=" + urllib.parse.quote(res.get("position", ""), safe="")
                    timed_stocked(client, "label_zpl", time.monotonic(), f"/api/v1/inventory/labels/{label}/label.zpl{q}", tok)
                    if args["png"]:
                        timed(client, "label_qr_png", time.monotonic(), "GET", f"/api/v1/inventory/labels/{label}/qr.png{q}", tok)
                    push(time.monotonic() + args["scan_after"] * 60 / a.pace, "scan", {"label": label})
            elif kind == "scan":
                timed(client, "label_scan", at, "GET", f"/api/v1/inventory/labels/{args['label']}", f.token("C01", "cutter"))
            elif kind == "weaver_view":
                timed(client, "weaver_view", at, "GET", f"/api/v1/production/views/weaver?badge={args['badge']}",
                      f.token(args["badge"], "weaver"))
            elif kind == "mechanic_view":
                timed(client, "mechanic_view", at, "GET", "/api/v1/maintenance/views/mechanic?within_hours=8",
                      f.token(args["mechanic"], "mechanic"))
            elif kind == "planner_view":
                timed(client, "planner_view", at, "GET", "/api/v1/production/views/planner", f.token("P01", "planner"))
            elif kind == "intervention":
                iid = str(uuid.uuid4())
                res = cmd(client, "intervention_request", at, ("W101", "weaver"), "maintenance.intervention.request",
                          {"intervention_id": iid, "loom": args["loom"], "cause": "weft_break"})
                if res:
                    push(at + args["accept"] * 60 / a.pace, "int_accept", dict(args, id=iid))
            elif kind == "int_accept":
                if cmd(client, "intervention_accept", at, (args["mechanic"], "mechanic"), "maintenance.intervention.accept",
                       {"intervention_id": args["id"], "mechanic": args["mechanic"]}) and \
                        cmd(client, "intervention_start", time.monotonic(), (args["mechanic"], "mechanic"),
                            "maintenance.intervention.start", {"intervention_id": args["id"]}):
                    push(time.monotonic() + args["work"] * 60 / a.pace, "int_finish", args)
            elif kind == "int_finish":
                cmd(client, "intervention_finish", at, (args["mechanic"], "mechanic"), "maintenance.intervention.finish",
                    {"intervention_id": args["id"], "cause": "weft_break", "parts": [{"part": "pince", "quantity": 1}]})

    # Sign every token before the clock starts.
    for k in range(1, 25):
        f.token(f"W{100 + k}", "weaver")
    for k in range(1, 7):
        f.token(f"M{k:02d}", "mechanic")
    f.token("C01", "cutter")
    f.token("P01", "planner")
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(a.workers)]
    for th in threads:
        th.start()
    end = start + a.sim_hours * 3600 / a.pace
    last = 0
    while time.monotonic() < end + 120:
        time.sleep(1)
        with cond:
            left = len(heap)
        if time.monotonic() > end and left == 0:
            break
        if time.monotonic() - last > 30:
            last = time.monotonic()
            done = sum(len(v) for v in stats.lat.values())
            say(f"{done} requests answered, {left} actions pending, "
                f"{max(0.0, (end - time.monotonic()) / 60):.1f} minutes of the day left")
    open_done.set()
    with cond:
        cond.notify_all()
    for th in threads:
        th.join(timeout=120)
    total = 0
    for ep in sorted(stats.lat):
        xs = stats.lat[ep]
        total += len(xs)
        print(json.dumps({"bench": "weaving", "endpoint": ep, "count": len(xs), "errors": stats.err.get(ep, 0),
                          "p50_ms": round(pct(xs, 50), 2), "p99_ms": round(pct(xs, 99), 2),
                          "max_ms": round(max(xs), 2)}), flush=True)
    wall = time.monotonic() - start
    print(json.dumps({"bench": "weaving_day", "pace": a.pace, "sim_hours": a.sim_hours, "looms": 24, "shifts": 3,
                      "requests": total, "errors": sum(stats.err.values()), "labels": len(labels),
                      "wall_s": round(wall, 1), "rate_per_s": round(total / wall, 1)}), flush=True)


if __name__ == "__main__":
    main()
