#!/usr/bin/env python3
"""ops/lib/demo_mill.py: the demo mill, loaded through the real command API (ops/demo runs it).

A towel mill (tenant "demo") with 2 halls and 24 looms: L01..L12 in hall H1 weave flat
foutas on rapier looms, L13..L24 in hall H2 (L19..L24 terry, with ground and pile beams).
40 employees: 24 weavers (W101..W124, eight a shift, three looms each, shifts A/B/C of
the 3x8 model at UTC+1), 8 mechanics (M01..M08), 3 cutters, 2 quality inspectors, 2
planners and a manager. Six articles; a warp beam per warp, warped, sized, drawn in and
mounted; the first-piece check of each loom; one production order per loom (two on L06,
whose first was completed and closed), and a week of woven rolls: one roll per loom and
shift at 13:30 into the shift (and a part roll for the current shift), each declared by
the weaver of that shift with its time (woven_at), so its label shows where it was woven
(each roll enters stock, module inventory, by reaction, under the label id its
declaration assigned).
Beams of L03, L09 and L17 run out within hours; L12 got a new beam and waits for its
first-piece check; intervention requests are open on L02, L08 and L15 (L08's accepted)
and finished ones are in the history of L04, L10 and L20; two labels were reprinted.
HR: a piece rate per article (foutas per piece, terry per metre, in millimes) set before
the week's rolls, so every roll accrues its weaver's pay by reaction; the current shift's
weavers clocked in at the gate; two absences of the month; last month's pay closed.
Accounting: an opening entry, and the pay posted by reaction (640 wages / 425 wages due).
Stores (stores()): a yarn store, a finished-goods store and quarantine; the yarn lots the
beams of L01-L03 were warped from, received and issued to them; three rolls moved to the
finished-goods store, packed into two cartons on one pallet, which then moves as a whole
to the shipping dock; a pick list of yarn for an order (one line picked); the yarn's
conversions (cones, metres); an open count of the yarn store.
Quality (quality_demo): three rolls cut into graded lots, two 4-point inspections (1st and
2nd choice), a rejected roll in quarantine, an approved one, two non-conformities (one with
an action past due).
Weather (weather_demo): the mill's site KH1 at Ksar Hellal (Monastir governorate, Tunisia),
whose forecast fofal-weather fetches (from the stack's fake Open-Meteo) and shows beside
the halls' climate: GET /api/v1/weather/forecast.

Every command has a fixed Idempotency-Key (names and dates), so running it again the same
day changes nothing (a key sent again with data that has moved on since, such as the
current shift's part roll, is refused with idempotency_key_reused: the first run's
stands). Each command is signed by who would send it: the weaver's own badge for
declarations, a mechanic for beams, a planner for orders.

usage: demo_mill.py API_URL FOFAL_CLI   (FOFAL_JWT_SECRET etc. in the environment)
"""
import datetime as dt
import json
import math
import subprocess
import sys
import time
import struct
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib

TENANT = "demo"
UTC_OFFSET = dt.timedelta(hours=1)
SHIFTS = [("A", 6), ("B", 14), ("C", 22)]
NS = uuid.UUID("5d0c9a8e-2f44-4b8e-9a39-6f6d3e1c0a11")  # the demo's own namespace for ids
EFFICIENCY = 0.85

ARTICLES = [
    # code, name, weave, width, piece length (cm), g/m2, picks/cm
    ("FOUTA-NID-ABEILLE-100x200", "Fouta nid d'abeille 100x200", "flat", 100, 200, 260, 18),
    ("FOUTA-CHEVRON-90x170", "Fouta chevron 90x170", "flat", 90, 170, 240, 16),
    ("FOUTA-RAYEE-100x180", "Fouta rayée 100x180", "flat", 100, 180, 220, 15),
    ("FOUTA-KILIM-100x200", "Fouta kilim 100x200", "flat", 100, 200, 300, 20),
    ("EPONGE-50x100", "Serviette éponge 50x100", "terry", 50, 100, 450, 17),
    ("EPONGE-70x140", "Drap de bain éponge 70x140", "terry", 70, 140, 500, 17),
]
ART = {a[0]: a for a in ARTICLES}


def ident(*parts):
    return str(uuid.uuid5(NS, "/".join(str(p) for p in parts)))


class Api:
    def __init__(self, url, cli):
        self.url, self.cli, self.tokens, self.sent = url.rstrip("/"), cli, {}, 0

    def token(self, subject, role):
        key = (subject, role)
        if key not in self.tokens:
            out = subprocess.run([self.cli, "token", "--tenant", TENANT, "--badge", subject, "--role", role, "--ttl", "3600"],
                                 check=True, capture_output=True, text=True)
            self.tokens[key] = out.stdout.strip()
        return self.tokens[key]

    def get(self, who, path):
        """GET path as `who` (subject, role): the JSON answer, or None."""
        req = urllib.request.Request(self.url + path, headers={"Authorization": "Bearer " + self.token(*who)})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.load(r)
        except (urllib.error.URLError, ValueError):
            return None

    def upload(self, who, kind, target, ctype, body, name):
        """POST /api/v1/files/upload as `who`: the answer (sha256, position …)."""
        q = urllib.parse.urlencode({"kind": kind, "id": target, "name": name})
        req = urllib.request.Request(f"{self.url}/api/v1/files/upload?{q}", data=body, method="POST",
                                     headers={"Authorization": "Bearer " + self.token(*who), "Content-Type": ctype})
        for attempt in range(30):
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    return json.load(r)
            except urllib.error.HTTPError as e:
                if e.code == 503 and attempt < 29:
                    time.sleep(1)
                    continue
                sys.exit(f"demo: the upload of {name} was refused ({e.code}): {e.read().decode(errors='replace')[:300]}")

    def get_bytes(self, who, path):
        req = urllib.request.Request(self.url + path, headers={"Authorization": "Bearer " + self.token(*who)})
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.read()

    def batch(self, who, cmds):
        """Sends commands (type, key, data) as `who` (subject, role), 100 at a time, in order;
        every one must be accepted. Returns the results."""
        results = []
        for i in range(0, len(cmds), 100):
            part = [{"type": t, "idempotency_key": k, "data": d} for t, k, d in cmds[i:i + 100]]
            for attempt in range(30):
                req = urllib.request.Request(self.url + "/api/v1/commands", data=json.dumps({"commands": part}).encode(),
                                             headers={"Authorization": "Bearer " + self.token(*who),
                                                      "Content-Type": "application/json"}, method="POST")
                try:
                    with urllib.request.urlopen(req, timeout=120) as r:
                        body = json.load(r)
                except urllib.error.HTTPError as e:
                    if e.code == 503 and attempt < 29:
                        time.sleep(1)
                        continue
                    sys.exit(f"demo: the API refused a batch ({e.code}): {e.read().decode(errors='replace')[:500]}")
                # Not decided within the API's wait (202) or Kafka busy (503): the same batch
                # again, which is safe: every command keeps its Idempotency-Key.
                if any(r.get("status") in (202, 503) for r in body["results"]) and attempt < 29:
                    time.sleep(1)
                    continue
                break
            for cmd, res in zip(part, body["results"]):
                # A run earlier the same day sent this key with what was true then (a part
                # roll since grown, a beam's length): what it recorded stands.
                if res.get("status") == 422 and res.get("body", {}).get("code") == "idempotency_key_reused":
                    continue
                if res.get("status") != 201:
                    sys.exit(f"demo: {cmd['type']} {cmd['idempotency_key']} was not accepted: {json.dumps(res)[:500]}")
            results += [r.get("body", {}) for r in body["results"]]
            self.sent += len(part)
        return results


def png(w, h, seed):
    """A small generated PNG (no copied image): a towel-like stripe pattern with a dark stain."""
    rows = []
    for y in range(h):
        row = bytearray([0])
        for x in range(w):
            band = ((x // 12 + seed) % 3)
            r, g, b = [(235, 225, 200), (200, 60, 50), (240, 240, 235)][band]
            if (x - w // 2) ** 2 + (y - h // 2) ** 2 < (h // 6) ** 2:  # the defect
                r, g, b = 70, 55, 30
            row += bytes((r, g, b))
        rows.append(bytes(row))
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


def local_now():
    return dt.datetime.now(dt.timezone.utc) + UTC_OFFSET


def shift_start_utc(day, hour):
    """UTC start of the shift starting at local `hour` on local date `day`."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.timezone.utc) - UTC_OFFSET


def rfc3339(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    api = Api(sys.argv[1], sys.argv[2])
    now_utc = dt.datetime.now(dt.timezone.utc)
    today = local_now().date()
    days = [today - dt.timedelta(days=d) for d in range(6, -1, -1)]
    admin, planner, mech, quality, hr = ("A01", "admin"), ("P01", "planner"), ("M01", "mechanic"), ("Q01", "quality"), ("H01", "hr")

    # The mill: shift model, articles, looms, people.
    setup = [("hr.shift_model.define", "demo-shift-model",
              {"model": "default", "utc_offset_min": 60,
               "shifts": [{"code": c, "start": f"{h:02d}:00", "hours": 8} for c, h in SHIFTS]})]
    for code, name, weave, width, length, gsm, ppc in ARTICLES:
        setup.append(("catalog.article.define", f"demo-article-{code}",
                      {"article": code, "name": name, "weave": weave, "width_cm": width, "length_cm": length, "gsm": gsm,
                       "picks_per_cm": ppc, "warp_yarn": "Ne 20/2 coton peigné", "weft_yarn": "Ne 16/1 coton",
                       **({"pile_yarn": "Ne 16/2 coton"} if weave == "terry" else {})}))
    looms = []
    for i in range(1, 25):
        terry = i >= 19
        hall = "H1" if i <= 12 else "H2"
        article = ("EPONGE-50x100" if i % 2 else "EPONGE-70x140") if terry else [a[0] for a in ARTICLES[:4]][i % 4]
        ppm = 380 if terry else (450 if hall == "H1" else 520)
        looms.append({"code": f"L{i:02d}", "i": i, "hall": hall, "terry": terry, "article": article, "ppm": ppm})
        setup.append(("production.loom.register", f"demo-loom-L{i:02d}",
                      {"loom": f"L{i:02d}", "hall": hall, "type": "air-jet" if hall == "H2" else "rapier",
                       "width_cm": 220 if terry else 190, "nominal_ppm": ppm, "weave": "terry" if terry else "flat"}))
    api.batch(admin, setup)
    people = [(f"W{100 + k}", "weaver") for k in range(1, 25)] + [(f"M{k:02d}", "mechanic") for k in range(1, 9)]
    people += [(f"C{k:02d}", "cutter") for k in range(1, 4)] + [("Q01", "quality"), ("Q02", "quality")]
    people += [("P01", "planner"), ("P02", "planner"), ("D01", "manager")]
    names = ["Amira", "Sami", "Nadia", "Hedi", "Leila", "Karim", "Sonia", "Anis", "Mouna", "Walid", "Ines", "Fethi",
             "Rim", "Bilel", "Salma", "Nizar", "Olfa", "Tarek", "Hela", "Mehdi", "Asma", "Riadh", "Yosra", "Lotfi",
             "Hamza", "Chokri", "Imed", "Zied", "Slim", "Moez", "Habib", "Faouzi", "Rania", "Dorra", "Kamel", "Samia",
             "Mourad", "Jalel", "Sarra", "Nabil"]
    # Phone and salary are personal data: fofal-api seals them before Kafka; HR reads them
    # back opened on GET /api/v1/hr/employees/{badge}.
    base_pay = {"weaver": 980, "mechanic": 1250, "cutter": 900, "quality": 1100, "planner": 1600, "manager": 2900}
    api.batch(hr, [("hr.employee.register", f"demo-emp-{b}",
                    {"badge": b, "name": names[n], "job": job, "phone": f"+216 98 {100 + n:03d} {200 + 7 * n:03d}",
                     "salary": base_pay[job] + 10 * (n % 5)})
                   for n, (b, job) in enumerate(people)])
    demo_hr_rates(api, hr, days)
    notify_demo(api)

    # Who weaves what: weavers 1-8 on shift A, 9-16 on B, 17-24 on C; three looms each.
    def weaver_of(loom_i, code):
        g = "ABC".index(code)
        return f"W{100 + g * 8 + (loom_i - 1) // 3 + 1}"

    # The shifts of the week that have started, and the next one (for the live views).
    shifts = []
    for day in days + [today + dt.timedelta(days=1)]:
        for code, hour in SHIFTS:
            start = shift_start_utc(day, hour)
            if start <= now_utc + dt.timedelta(hours=8):
                shifts.append((day, code, start))
    assign = []
    for day, code, start in shifts:
        for k in range(8):
            badge = f"W{100 + 'ABC'.index(code) * 8 + k + 1}"
            assign.append(("hr.employee.assign_shift", f"demo-assign-{badge}-{day}-{code}",
                           {"badge": badge, "shift": f"{day}/{code}", "looms": [f"L{3 * k + j:02d}" for j in (1, 2, 3)]}))
    api.batch(planner, assign)

    # The rolls of the week, per loom: (woven_at, weaver, pieces, metres).
    def m_per_hour(loom):
        return loom["ppm"] * 60 * EFFICIENCY / (ART[loom["article"]][6] * 100)

    rolls = {}
    for loom in looms:
        piece_m = ART[loom["article"]][4] / 100
        out = []
        for day, code, start in shifts:
            hours = 7.5
            at = start + dt.timedelta(hours=hours)
            if at > now_utc - dt.timedelta(minutes=1):
                hours = 3.0  # the current shift: a part roll, once three hours are woven
                at = start + dt.timedelta(hours=hours)
                if at > now_utc - dt.timedelta(minutes=1):
                    continue
            eff = 0.8 + ((loom["i"] * 7 + "ABC".index(code) * 3 + day.toordinal()) % 15) / 100
            pieces = max(1, int(m_per_hour(loom) / EFFICIENCY * eff * hours / piece_m))
            out.append((at, day, code, weaver_of(loom["i"], code), pieces, pieces * piece_m))
        rolls[loom["code"]] = out

    # Beams: enough warp for the week, and what is left after it (a few run out soon).
    beams = []
    for loom in looms:
        woven = sum(r[5] for r in rolls[loom["code"]])
        left = 25 + loom["i"] * 2 if loom["i"] in (3, 9, 17) else 600 + (loom["i"] * 137) % 2400
        beams.append((f"B-{loom['code']}-G", "ground", loom, math.ceil(woven * 1.08 + left), 8))
        if loom["terry"]:
            beams.append((f"B-{loom['code']}-P", "pile", loom, math.ceil(woven * 5.0 + left * 5), 400))
    cmds = []
    for code, kind, loom, length, take_up in beams:
        cmds += [("production.beam.warp", f"demo-warp-{code}",
                  {"beam": code, "kind": kind, "article": loom["article"], "yarn_lots": [f"LOT-{2600 + loom['i']}"],
                   "ends": 4200 if kind == "ground" else 2100, "length_m": length, "take_up_pct": take_up}),
                 ("production.beam.size", f"demo-size-{code}", {"beam": code, "recipe": "PVA-amidon 12 %"}),
                 ("production.beam.draw_in", f"demo-draw-{code}", {"beam": code, "method": "knotted" if loom["i"] % 3 else "drawn_in"}),
                 ("production.loom.mount_beam", f"demo-mount-{code}", {"loom": loom["code"], "beam": code, "position": kind})]
    for loom in looms:
        cmds.append(("production.loom.set_up", f"demo-setup-{loom['code']}", {"loom": loom["code"], "article": loom["article"]}))
    api.batch(mech, cmds)
    api.batch(quality, [("production.loom.check_first_piece", f"demo-fp-{l['code']}",
                         {"loom": l["code"], "result": "pass", "inspector": "Q01"}) for l in looms])

    # Orders: one per loom for the week (L06: a first one completed and closed mid-week).
    def order_cmds(oid, key, loom, qty, due):
        return [("production.order.create", f"demo-order-{key}",
                 {"order_id": oid, "article": loom["article"], "quantity": qty, "due_date": str(due)}),
                ("production.order.plan", f"demo-plan-{key}", {"order_id": oid, "loom": loom["code"]}),
                ("production.order.release", f"demo-release-{key}", {"order_id": oid}),
                ("production.order.start", f"demo-start-{key}", {"order_id": oid, "loom": loom["code"]})]

    orders, cmds = {}, []
    for loom in looms:
        total = sum(r[4] for r in rolls[loom["code"]])
        progress = 0.55 + (loom["i"] * 13 % 40) / 100
        due = today + dt.timedelta(days=(loom["i"] % 9) + 2) if loom["i"] not in (5, 14) else today - dt.timedelta(days=1)
        if loom["i"] == 6:
            first = [r for r in rolls[loom["code"]] if r[1] < days[3]]
            oid = ident("order", loom["code"], 1)
            cmds += order_cmds(oid, f"{loom['code']}-1", loom, max(1, sum(r[4] for r in first)), days[3])
            orders[loom["code"]] = [(oid, first)]
            rest = [r for r in rolls[loom["code"]] if r[1] >= days[3]]
            orders[loom["code"]].append((ident("order", loom["code"], 2), rest))
            continue
        oid = ident("order", loom["code"], 1)
        cmds += order_cmds(oid, f"{loom['code']}-1", loom, max(10, int(total / progress)), due)
        orders[loom["code"]] = [(oid, rolls[loom["code"]])]
    api.batch(planner, cmds)

    # The week's rolls, each declared by its weaver (one batch per weaver, in time order).
    by_weaver = {}
    for loom in looms:
        for n, (oid, rl) in enumerate(orders[loom["code"]]):
            if loom["i"] == 6 and n == 1:
                continue  # declared after the first order is closed
            for at, day, code, weaver, pieces, metres in rl:
                by_weaver.setdefault(weaver, []).append((at, ("production.order.declare_output", f"demo-roll-{loom['code']}-{day}-{code}",
                                                              {"order_id": oid, "quantity": pieces, "weaver": weaver, "woven_at": rfc3339(at)})))
    labels = []
    for weaver, items in sorted(by_weaver.items()):
        res = api.batch((weaver, "weaver"), [c for _, c in sorted(items, key=lambda x: x[0])])
        labels += [e["issued"]["label_id"] for r in res for e in r.get("events", []) if e.get("issued", {}).get("label_id")]

    # L06: the first order is complete and closed; the second starts on the same loom.
    l06 = next(l for l in looms if l["code"] == "L06")
    (o1, _), (o2, rest) = orders["L06"]
    api.batch(planner, [("production.order.complete", "demo-complete-L06-1", {"order_id": o1}),
                        ("production.order.close", "demo-close-L06-1", {"order_id": o1, "note": "shipped"})]
              + order_cmds(o2, "L06-2", l06, max(10, int(sum(r[4] for r in rest) / 0.7)), today + dt.timedelta(days=4)))
    for weaver in sorted({r[3] for r in rest}):
        api.batch((weaver, "weaver"), [("production.order.declare_output", f"demo-roll-L06-{day}-{code}",
                                        {"order_id": o2, "quantity": pieces, "weaver": w, "woven_at": rfc3339(at)})
                                       for at, day, code, w, pieces, metres in rest if w == weaver])

    # L12: its beam came off for another warp; the new beam waits for its first-piece check.
    api.batch(mech, [("production.loom.doff_beam", "demo-doff-L12", {"loom": "L12", "position": "ground", "reason": "warp change"}),
                     ("production.beam.warp", "demo-warp-B-L12-G2", {"beam": "B-L12-G2", "kind": "ground", "article": "FOUTA-KILIM-100x200",
                                                                    "yarn_lots": ["LOT-2712"], "ends": 4200, "length_m": 3200}),
                     ("production.beam.size", "demo-size-B-L12-G2", {"beam": "B-L12-G2"}),
                     ("production.beam.draw_in", "demo-draw-B-L12-G2", {"beam": "B-L12-G2", "method": "knotted"}),
                     ("production.loom.mount_beam", "demo-mount-B-L12-G2", {"loom": "L12", "beam": "B-L12-G2"})])

    # Interventions: finished ones in the looms' history, and open requests.
    done = [("L04", "weft_break", "M02", [{"part": "pince de lancement", "quantity": 1}], 35),
            ("L10", "mechanical", "M03", [{"part": "courroie", "quantity": 1}, {"part": "roulement 6204", "quantity": 2}], 95),
            ("L20", "warp_break", "M04", [], 20)]
    for loom, cause, m, parts, minutes in done:
        iid = ident("intervention", loom, cause)
        w = weaver_of(int(loom[1:]), "A")
        api.batch((w, "weaver"), [("maintenance.intervention.request", f"demo-int-{loom}", {"intervention_id": iid, "loom": loom,
                                                                                           "cause": cause, "requested_by": w})])
        api.batch((m, "mechanic"), [("maintenance.intervention.accept", f"demo-int-acc-{loom}", {"intervention_id": iid, "mechanic": m}),
                                    ("maintenance.intervention.start", f"demo-int-start-{loom}", {"intervention_id": iid}),
                                    ("maintenance.intervention.finish", f"demo-int-fin-{loom}",
                                     {"intervention_id": iid, "cause": cause, "parts": parts, "duration_min": minutes,
                                      "notes": "réglé et testé"})])
    for loom, cause, note in [("L02", "weft_break", "casse trame répétée"), ("L08", "electrical", "moteur chauffe"),
                              ("L15", "mechanical", "bruit au battant")]:
        iid = ident("intervention", loom, cause)
        w = weaver_of(int(loom[1:]), "A")
        api.batch((w, "weaver"), [("maintenance.intervention.request", f"demo-int-{loom}",
                                   {"intervention_id": iid, "loom": loom, "cause": cause, "note": note, "requested_by": w})])
    api.batch(("M05", "mechanic"), [("maintenance.intervention.accept", "demo-int-acc-L08",
                                     {"intervention_id": ident("intervention", "L08", "electrical"), "mechanic": "M05"})])
    if len(labels) >= 2:
        # The rolls enter stock by reaction (inventory.unit_on_declaration): wait until the
        # two to reprint are there (the label route answers 409 label_pending until then).
        for n in range(2):
            for _ in range(120):
                if api.get(("C01", "cutter"), f"/api/v1/inventory/labels/{labels[n * 7]}"):
                    break
                time.sleep(1)
        api.batch(("C01", "cutter"), [("inventory.label.reprint", f"demo-reprint-{n}", {"label_id": labels[n * 7], "reason": r, "printer": "ZQ520-H1"})
                                      for n, r in enumerate(["étiquette déchirée", "illisible après lavage"])])
    if not labels:
        # A run after an earlier one: the declarations are there already; a label of L01's
        # first order, as anyone finds one (orders/{id}/declarations).
        page = api.get(("P01", "planner"), f"/api/v1/production/orders/{orders['L01'][0][0]}/declarations?limit=1") or {}
        labels = [i["label_id"] for i in page.get("items", []) if i.get("label_id")]
    demo_hr_attendance(api, hr, today, now_utc)
    demo_accounting(api)
    stores(api, labels, days)
    flows_settings(api)
    cut = quality_demo(api, labels, today)
    for _ in range(30 if cut else 0):
        slip = api.get(("C01", "cutter"), demo_payslip(today)) or {}
        if sum(p.get("lines", 0) for p in slip.get("pieces", [])) >= cut:
            time.sleep(3)  # each cut's 2nd-choice line too (a late one would be paid next month)
            slip = api.get(("C01", "cutter"), demo_payslip(today)) or slip
            # The cutting room's month is closed: one posting 428 -> 425 of its gross.
            api.batch(hr, [("hr.pay_period.close", f"demo-pay-close-{CUT_SITE}-{slip['period']}",
                            {"period": slip["period"], "site": CUT_SITE})])
            print(f"demo: C01's payslip of {slip['period']} (site {CUT_SITE}, closed): " + ", ".join(
                f"{p['quantity']} {p['article']} {p.get('grade') or 'base'} at {p['rate_minor']}" for p in slip["pieces"])
                  + f"; gross {slip['gross_minor'] / 1000:.3f} TND")
            break
        time.sleep(1)
    print(f"demo: {api.sent} commands; 24 looms in 2 halls, 40 employees, {len(ARTICLES)} articles, {len(beams) + 1} beams, "
          f"{sum(len(v) for v in rolls.values())} rolls over {len(days)} days; a label to scan: {labels[0] if labels else '-'}; {cut} rolls cut, 2 inspected, 1 in quarantine, 2 NCs, 3 photos")
    purchasing_demo(api)
    subcontracting_demo(api, labels[:1] + labels[7:8])
    projects_demo(api)
    sales_demo(api)
    control_demo(api)
    weather_demo(api)


def flows_settings(api):
    """What inventory's reactions need (commands/inventory/flows.c): the store a purchase
    receipt's yarn enters (MP-A) and quarantine (QUAR), so the demo's cuts, its rejected
    roll, its yarn receipt and its dispatches move stock; and the ordered yarn FIL-CO-20-1 in
    the catalog, so its receipt becomes a yarn lot."""
    api.batch(("A01", "admin"), [
        ("inventory.settings.set", "demo-inv-settings", {"settings": "default", "receiving_location": "MP-A",
                                                          "quarantine_location": "QUAR"}),
        ("catalog.item.define", "demo-item-FIL-CO-20-1", {"item": "FIL-CO-20-1", "kind": "yarn", "name": "Coton Ne 20/1",
                                                          "unit": "g", "yarn_count": "Ne 20/1", "material": "coton",
                                                          "colour": "écru"})])


def quality_demo(api, labels, today):
    """Cutting and quality (module quality): an article's threshold, three rolls cut into
    graded lots by a cutter, 4-point inspections (one 1st choice, one 2nd), one rejected
    roll in quarantine, an approved one, and two non-conformities, one with an action past
    due. Needs the first run's fresh labels (rolls in stock); a later run skips it."""
    if len(labels) < 6:
        return 0
    rolls = []
    for label in labels[1:6]:
        unit = None
        for _ in range(120):  # in stock by reaction: 409 label_pending until then
            unit = api.get(("C01", "cutter"), f"/api/v1/inventory/labels/{label}")
            if unit:
                break
            time.sleep(1)
        rolls.append((label, (unit or {}).get("quantity", 1), ((unit or {}).get("article") or {}).get("article")))
    q, cutter, manager = ("Q01", "quality"), ("C01", "cutter"), ("D01", "manager")
    api.batch(q, [("quality.threshold.set", "demo-q-threshold", {"article": "FOUTA-NID-ABEILLE-100x200", "max_points_per_100m2": 28})])
    cuts = []
    for n, (label, qty, _) in enumerate(rolls[:3]):
        down = min(2, qty - 1) if qty > 1 else 0
        cut = {"roll": label, "first_choice": qty - down, "second_choice": down // 2 + down % 2, "waste_pieces": down // 2,
               "waste_mm": 400 + 50 * n}
        if down:
            cut["defects"] = [{"cause": ["tache_huile", "duite_cassee", "lisiere"][n], "pieces": down}]
        cuts.append(("quality.roll.cut", f"demo-q-cut-{n}", cut))
    api.batch(cutter, cuts)
    # Roll 4 is clean (1st choice); roll 5 has weft bars and a hole (2nd choice), and is rejected.
    clean, bad = rolls[3][0], rolls[4][0]
    dirty = [{"at_mm": 1000 * m + 200, "size_mm": 160 + 40 * (m % 3), "kind": "barre_trame"} for m in range(0, 30, 2)]
    dirty.append({"at_mm": 12500, "size_mm": 8, "hole": True, "kind": "trou"})
    insp_bad = ident("inspection", bad)
    api.batch(q, [("quality.inspection.record", "demo-q-insp-clean",
                   {"inspection_id": ident("inspection", clean), "lot": clean, "lot_kind": "roll", "length_mm": 40000,
                    "width_mm": 1000, "defects": [{"at_mm": 5300, "size_mm": 50, "kind": "flotte"}]}),
                  ("quality.inspection.record", "demo-q-insp-bad",
                   {"inspection_id": insp_bad, "lot": bad, "lot_kind": "roll", "length_mm": 40000, "width_mm": 1000,
                    "defects": dirty}),
                  ("quality.lot.reject", "demo-q-reject", {"lot": bad, "lot_kind": "roll", "reason": "barres de trame sur 30 m"})])
    api.batch(manager, [("quality.lot.approve", "demo-q-approve", {"lot": clean, "lot_kind": "roll"})])
    nc1, nc2 = ident("nc", "barres"), ident("nc", "lisiere")
    yesterday, next_week = str(today - dt.timedelta(days=1)), str(today + dt.timedelta(days=7))
    api.batch(q, [("quality.nc.open", "demo-q-nc1", {"nc_id": nc1, "title": "Barres de trame", "source": "inspection",
                                                      "inspection_id": insp_bad, "lots": [bad], "looms": ["L02"]}),
                  ("quality.nc.analyse", "demo-q-nc1-an", {"nc_id": nc1, "cause": "frein de trame usé", "category": "machine"}),
                  ("quality.nc.act", "demo-q-nc1-act", {"nc_id": nc1, "kind": "corrective", "description": "changer le frein de trame",
                                                         "owner": "M02", "due": yesterday}),
                  ("quality.nc.open", "demo-q-nc2", {"nc_id": nc2, "title": "Lisières irrégulières", "source": "cut",
                                                      "lots": [rolls[2][0]], "people": ["C01"]}),
                  ("quality.nc.analyse", "demo-q-nc2-an", {"nc_id": nc2, "cause": "tension de lisière", "category": "method"}),
                  ("quality.nc.act", "demo-q-nc2-act", {"nc_id": nc2, "kind": "preventive", "description": "contrôle tension à chaque poste",
                                                         "owner": "M03", "due": next_week})])
    # Photos (module files): generated images, no copied ones. A cutter's photo of the oil
    # stain on the first cut; its phone thumbnail (a JPEG the API makes) as the evidence of
    # the first NC; a photo of the irregular selvedge on the second NC.
    stain = api.upload(cutter, "cut", rolls[0][0], "image/png", png(320, 240, 0), "tache-huile.png")
    thumb = api.get_bytes(cutter, f"/api/v1/files/{stain['sha256']}?thumb=1&position={stain['position']}")
    api.upload(q, "nc", nc1, "image/jpeg", thumb, "barres-trame.jpg")
    api.upload(q, "nc", nc2, "image/png", png(200, 150, 1), "lisiere.png")
    return len(cuts)


def notify_demo(api):
    """Notifications (module notify): who is reached how, and the rules fofal-notifier
    follows — before the week's events, so the breakdowns of the looms, the stock alerts,
    the non-conformities, the overdue action and the purchase requests that follow reach
    the SMTP sink and the fake SMS gateway of ./ops/run (var/dev/notify/). Mechanic M03
    opted out of SMS."""
    boss = ("D01", "manager")
    contacts = [("M01", "mechanic", "fr"), ("M02", "mechanic", "fr"), ("M03", "mechanic", "en"),
                ("S01", "storekeeper_mp", "fr"), ("Q01", "quality", "fr"), ("Q02", "quality", "en"),
                ("D01", "manager", "fr"), ("P01", "planner", "fr")]
    cmds = [("notify.settings.set", "demo-notify-settings",
             {"settings": "default", "tenant_name": "Tissage du Sahel (démo)", "lang": "fr"})]
    for n, (badge, role, lang) in enumerate(contacts):
        cmds.append(("notify.contact.set", f"demo-contact-{badge}",
                     {"badge": badge, "email": f"{badge.lower()}@tissage-sahel.example", "lang": lang, "roles": [role],
                      **({"phone": f"+216 20 100 {n:03d}"} if role == "mechanic" else {})}))
    rules = [("breakdown-sms", "fofal.machines.breakdown_declared.v1", "sms", ["mechanic"]),
             ("stock-email", "fofal.inventory.stock_below_minimum.v1", "email", ["storekeeper_mp"]),
             ("nc-email", "fofal.quality.nc_opened.v1", "email", ["quality"]),
             ("lot-rejected-email", "fofal.quality.lot_rejected.v1", "email", ["quality"]),
             ("purchase-approvers-email", "fofal.purchasing.request_submitted.v1", "email", ["manager", "planner"]),
             # Also to the person concerned: the overdue action's owner (M02 in the demo's NC),
             # a locked badge's holder.
             ("overdue-action-email", "fofal.quality.action_overdue.v1", "email", ["quality"], True),
             ("lockout-email", "fofal.identity.locked_out.v1", "email", [], True)]
    for rule, event, channel, roles, *owner in rules:
        cmds.append(("notify.rule.set", f"demo-rule-{rule}",
                     {"rule_id": rule, "event_type": event, "channel": channel, "roles": roles,
                      **({"owner": True} if owner else {})}))
    api.batch(boss, cmds)
    api.batch(("M03", "mechanic"), [("notify.optout.set", "demo-optout-M03",
                                     {"badge": "M03", "channel": "sms", "opted_out": True})])
    print(f"demo: notify: {len(rules)} rules, {len(contacts)} contacts (M03 opted out of SMS)")


def purchasing_demo(api):
    """Purchasing (module purchasing): two suppliers, approval limits, a request in each
    state (one waiting for a second approval, a mechanic's spare part for L02's
    intervention), and a yarn order, late, partly received (exact thousandths of a kg)."""
    boss, planner, store = ("D01", "manager"), ("P01", "planner"), ("S01", "storekeeper_mp")
    today = local_now().date()
    api.batch(boss, [
        ("purchasing.supplier.register", "demo-sup-sahel", {"supplier": "F-FILSAHEL", "name": "Filature du Sahel",
                                                            "currency": "TND", "payment_terms_days": 60,
                                                            "vat_id": "1234567/A/M/000", "contact": "ventes@filsahel.tn"}),
        ("purchasing.supplier.register", "demo-sup-meca", {"supplier": "F-MECATEX", "name": "Mécatex pièces",
                                                           "currency": "EUR", "payment_terms_days": 30}),
        ("purchasing.settings.set", "demo-pur-settings", {"settings": "default", "over_receipt_tolerance_pct": 2,
                                                          "approval_limits": {"planner": 200000, "storekeeper_mp": 50000}}),
    ])
    need = str(today + dt.timedelta(days=10))
    req = {k: ident("purchase-request", k) for k in ("scissors", "yarn-co", "yarn-pes", "bearing", "table")}

    def ask(key, item, qty_milli, unit, price, reason, **more):
        d = {"request_id": req[key], "quantity_milli": qty_milli, "unit": unit, "need_by": need, "reason": reason,
             "estimated_unit_price": price, **more}
        d["item" if item.startswith("FIL-") else "description"] = item
        return ("purchasing.request.submit", f"demo-pr-{key}", d)

    api.batch(("C01", "cutter"), [ask("scissors", "ciseaux de coupe", 6000, "piece", 15000, "lames émoussées")])
    api.batch(("C02", "cutter"), [ask("table", "table de coupe 3 m", 1000, "piece", 1200000, "deuxième poste de coupe")])
    api.batch(store, [ask("yarn-co", "FIL-CO-20-1", 1200000, "kg", 9500, "stock de trame bas"),
                      ask("yarn-pes", "FIL-PES-150D", 300000, "kg", 7200, "bordures des foutas rayées")])
    api.batch(("M03", "mechanic"), [ask("bearing", "roulement 6204-2RS", 4000, "piece", 8500, "bruit au battant",
                                        intervention_id=ident("intervention", "L02", "weft_break"))])
    api.batch(boss, [("purchasing.request.approve", "demo-pr-ok-yarn-co", {"request_id": req["yarn-co"]}),
                     ("purchasing.request.approve", "demo-pr-ok-bearing", {"request_id": req["bearing"]}),
                     ("purchasing.request.reject", "demo-pr-no-table", {"request_id": req["table"],
                                                                        "reason": "budget 2027"})])
    # 300 kg x 7.200 TND is above the planner's 200 TND: it waits for a second approval.
    api.batch(planner, [("purchasing.request.approve", "demo-pr-ok-yarn-pes", {"request_id": req["yarn-pes"]})])
    order = ident("purchase-order", "yarn-co")
    api.batch(planner, [("purchasing.order.issue", "demo-po-yarn-co", {
        "order_id": order, "supplier": "F-FILSAHEL", "requests": [req["yarn-co"]],
        "lines": [{"line": 1, "item": "FIL-CO-20-1", "quantity_milli": 1200000, "unit": "kg", "unit_price": 9300,
                   "expected_date": str(today - dt.timedelta(days=2))}]})])
    api.batch(store, [("purchasing.order.receive", "demo-po-yarn-co-r1", {
        "order_id": order, "receipt_id": ident("purchase-receipt", "yarn-co", 1), "delivery_note": "BL-2026-1187",
        "lines": [{"line": 1, "quantity_milli": 800000, "refused_milli": 12500, "refusal_reason": "cônes mouillés",
                   "supplier_lot": "SAH-2611-07"}]})])
    print("demo: purchasing: 2 suppliers, 5 requests (submitted, awaiting a second approval, approved, rejected, "
          "ordered), order F-FILSAHEL late and partly received (800 of 1,200 kg)")


def weather_demo(api):
    """Weather (module weather): the mill's coordinates, set by the manager; fofal-weather
    then fetches its forecast (README, Weather)."""
    api.batch(("D01", "manager"), [("weather.site.set", "demo-weather-site",
                                    {"site": "KH1", "name": "Ksar Hellal (Monastir)", "latitude": 35.6431,
                                     "longitude": 10.8908, "timezone": "Africa/Tunis"})])


def subcontracting_demo(api, lots):
    """Subcontracting (module subcontracting): two subcontractors; a roll out to the
    embroiderer, overdue, and one back from the dyer partly (with rejects), each at a price
    per piece: the dyer's return costs its good and rejected pieces, and the order the roll
    was woven for shows them as its subcontracting line (control)."""
    st = ("ST01", "storekeeper_st")
    today = local_now().date()
    api.batch(st, [
        ("subcontracting.subcontractor.register", "demo-st-brode", {"subcontractor": "ST-BRODE", "name": "Broderie du Cap Bon",
                                                                    "operations": ["embroidery", "hemming"], "site": "Nabeul"}),
        ("subcontracting.subcontractor.register", "demo-st-teint", {"subcontractor": "ST-TEINT", "name": "Teinturerie de Ksar Hellal",
                                                                    "operations": ["dyeing", "finishing"], "site": "Ksar Hellal"}),
    ])
    returned = None
    for n, (label, sub, op, back, price) in enumerate(zip(lots, ["ST-BRODE", "ST-TEINT"], ["embroidery", "dyeing"], [-3, 5],
                                                          [1200, 450])):
        unit = api.get(st, f"/api/v1/inventory/labels/{label}") or {}
        qty = int(unit.get("quantity") or 1) * 1000
        dsp = ident("dispatch", label)
        api.batch(st, [("subcontracting.dispatch.send", f"demo-dsp-{n}", {
            "dispatch_id": dsp, "subcontractor": sub, "operation": op, "expected_return": str(today + dt.timedelta(days=back)),
            "unit_price": price, "lots": [{"label_id": label, "quantity_milli": qty}]})])
        if n == 1 and qty >= 3000:
            api.batch(st, [("subcontracting.dispatch.return", "demo-dsp-ret-1", {
                "dispatch_id": dsp, "return_id": ident("dispatch-return", label, 1),
                "lines": [{"label_id": label, "good_milli": qty // 2 - 1000, "rejected_milli": 1000,
                           "defects": ["teinte irrégulière"]}]})])
            returned = (dsp, (unit.get("order") or {}).get("order_id"), qty // 2, price)
    print(f"demo: subcontracting: 2 subcontractors, {len(lots)} roll(s) out (one overdue at ST-BRODE)")
    if returned and returned[1]:
        dsp, order, charged, price = returned
        c = {}
        for _ in range(30):  # control's reaction takes the priced return
            c = api.get(("D01", "manager"), f"/api/v1/control/orders/{order}/cost") or {}
            if (c.get("subcontracting") or {}).get("cost_minor"):
                break
            time.sleep(1)
        print(f"demo: subcontracting: {charged / 1000:g} pieces dyed back (good + rejected) at {price / 1000:.3f} TND: order "
              f"{order}'s subcontracting line {(c.get('subcontracting') or {}).get('cost_minor', 0) / 1000:.3f} TND: "
              f"/api/v1/control/orders/{order}/cost, /api/v1/subcontracting/dispatches/{dsp}")


def projects_demo(api):
    """Projects (module projects): the OEKO-TEX audit and the installation of two new looms,
    with tasks (one past due, for its owner M02), hours booked by the people who worked,
    costs booked by the accountant and a purchase order's receipt booked by reaction."""
    manager, accountant = ("D01", "manager"), ("A01", "accountant")
    today = local_now().date()
    day = lambda n: str(today + dt.timedelta(days=n))
    api.batch(manager, [
        ("projects.project.create", "demo-prj-oeko", {"project": "OEKO-2027", "name": "Certification OEKO-TEX 2027",
                                                      "kind": "audit", "owner": "Q01", "start": day(-40), "due": day(50),
                                                      "budget_minor": 12000000}),
        ("projects.project.add_task", "demo-prj-oeko-t1", {"project": "OEKO-2027", "task": "chimie",
                                                           "title": "Inventaire des colorants et auxiliaires",
                                                           "owner": "Q02", "due": day(-5)}),
        ("projects.project.add_task", "demo-prj-oeko-t2", {"project": "OEKO-2027", "task": "echantillons",
                                                           "title": "Échantillons au laboratoire", "owner": "Q01",
                                                           "due": day(20)}),
        ("projects.project.create", "demo-prj-l25", {"project": "INSTALL-L25-L26", "name": "Installation des métiers L25 et L26",
                                                     "kind": "installation", "owner": "M01", "start": day(-20), "due": day(25),
                                                     "budget_minor": 45000000}),
        ("projects.project.add_task", "demo-prj-l25-t1", {"project": "INSTALL-L25-L26", "task": "socles",
                                                          "title": "Socles et ancrages", "owner": "M02", "due": day(-2)}),
        ("projects.project.add_task", "demo-prj-l25-t2", {"project": "INSTALL-L25-L26", "task": "raccordement",
                                                          "title": "Raccordement électrique et air", "owner": "M03",
                                                          "due": day(10)}),
        ("projects.project.set_task_state", "demo-prj-l25-t2-doing", {"project": "INSTALL-L25-L26", "task": "raccordement",
                                                                      "state": "doing"}),
        ("projects.project.set_task_state", "demo-prj-oeko-t2-done", {"project": "OEKO-2027", "task": "echantillons",
                                                                      "state": "done"}),
    ])
    for badge, role, project, task, minutes in [("M02", "mechanic", "INSTALL-L25-L26", "socles", 420),
                                                ("M03", "mechanic", "INSTALL-L25-L26", "raccordement", 300),
                                                ("Q01", "quality", "OEKO-2027", "echantillons", 180)]:
        api.batch((badge, role), [("projects.project.book_hours", f"demo-prj-hours-{badge}-{today}",
                                   {"project": project, "task": task, "date": day(0), "minutes": minutes})])
    api.batch(accountant, [
        ("projects.project.book_cost", "demo-prj-cost-1", {"project": "INSTALL-L25-L26", "date": day(-10),
                                                           "amount_minor": 18500000, "source": "supplier_invoice",
                                                           "reference": "FF-2026-0412", "note": "ciment, chevilles, câbles"}),
        ("projects.project.book_cost", "demo-prj-cost-2", {"project": "OEKO-2027", "date": day(-3), "amount_minor": 2400000,
                                                           "source": "purchase_order", "reference": "PO-LAB-07",
                                                           "note": "analyses de laboratoire"}),
    ])
    # A purchase for the installation (issue 18): its receipt books its cost to the project
    # by reaction (projects.cost_on_receipt), 120 m of cable at 12.500 TND a metre.
    po = ident("purchase-order", "cable-l25")
    api.batch(manager, [
        ("purchasing.supplier.register", "demo-sup-elec", {"supplier": "F-ELEC", "name": "Électricité du Sahel",
                                                           "currency": "TND"}),
        ("purchasing.order.issue", "demo-po-cable-l25", {
            "order_id": po, "supplier": "F-ELEC", "project": "INSTALL-L25-L26",
            "lines": [{"line": 1, "description": "câble 5G6", "quantity_milli": 120000, "unit": "m", "unit_price": 12500,
                       "expected_date": day(-3)}]}),
    ])
    api.batch(("S01", "storekeeper_mp"), [("purchasing.order.receive", "demo-po-cable-l25-r1", {
        "order_id": po, "receipt_id": ident("purchase-receipt", "cable-l25", 1), "lines": [{"line": 1, "quantity_milli": 120000}]})])
    print("demo: projects: OEKO-2027 and INSTALL-L25-L26 with tasks (two past due), hours and costs (the cable's receipt "
          "by reaction)")


def control_demo(api):
    """Management control (module control): this year's budget of wages (640, posted from
    piece-rate pay by reaction) for the weaving room, and of sales (701), per month; machine
    rates, this month's overheads and a standard cost; the actual cost of L01's order with
    its machine and overhead lines and its variances."""
    accountant = ("A01", "accountant")
    today = local_now().date()
    year = str(today.year)
    lines = [("TISSAGE", "640", 9000000), ("ENTRETIEN", "615", 2500000), ("VENTES", "701", 180000000)]
    api.batch(accountant, [("control.budget.set", f"demo-budget-{year}-{acc}-{m:02d}",
                            {"year": year, "cost_centre": centre, "account": acc, "month": f"{year}-{m:02d}",
                             "amount_minor": amount})
                           for centre, acc, amount in lines for m in range(1, 13)])
    w = {}
    for _ in range(30):  # until the projection has the lines just set
        b = api.get(("D01", "manager"), f"/api/v1/control/budgets/{year}?month={today:%Y-%m}") or {}
        w = next((l for l in b.get("lines", []) if l.get("account") == "640"), {})
        if w.get("budget_minor"):
            break
        time.sleep(1)
    print(f"demo: control: budget {year} ({len(lines) * 12} lines); wages this month {w.get('actual_minor', 0) / 1000:.3f} "
          f"of {w.get('budget_minor', 0) / 1000:.3f} TND budgeted")
    # Actual cost (issue 18), from the events alone: 200 kg of the yarn received on the
    # purchase order (9.300 TND/kg) go onto L01's ground beam beside LOT-2601 (received by
    # hand, with no price: its grams show as unpriced); the order on L01 costs the yarn its
    # declarations consumed and the pay accrued for it.
    rc_lot = "RC-" + ident("purchase-receipt", "yarn-co", 1).replace("-", "")[:12] + "-1"
    for _ in range(30):  # the receipt's lot enters stock by reaction
        if api.get(("S01", "storekeeper_mp"), f"/api/v1/inventory/lots/{rc_lot}"):
            api.batch(("S01", "storekeeper_mp"), [("inventory.lot.issue", "demo-control-issue-L01",
                                                   {"lot": rc_lot, "weight_g": 200000, "beam": "B-L01-G"})])
            break
        time.sleep(1)
    # Machine time, overheads and a standard cost (issue 18): rates per loom type (L01 its
    # own) from the first of the month the week of rolls starts in, this month's energy by
    # machine hours and general overheads by pieces, L01's article's standard per piece.
    first = (today - dt.timedelta(days=7)).replace(day=1).isoformat()
    month = f"{today:%Y-%m}"
    api.batch(accountant, [
        ("control.machine_rate.set", f"demo-rate-rapier-{first}",
         {"code": "rapier", "rate_minor_per_hour": 14500, "valid_from": first}),
        ("control.machine_rate.set", f"demo-rate-air-jet-{first}",
         {"code": "air-jet", "rate_minor_per_hour": 18000, "valid_from": first}),
        ("control.machine_rate.set", f"demo-rate-L01-{first}",
         {"of": "loom", "code": "L01", "rate_minor_per_hour": 16000, "valid_from": first,
          "note": "L01: the newest rapier, dearer to keep"}),
        ("control.overhead.set", f"demo-overhead-energy-{month}",
         {"month": month, "pool": "ENERGY", "key": "machine_hours", "amount_minor": 2500000}),
        ("control.overhead.set", f"demo-overhead-general-{month}",
         {"month": month, "key": "pieces", "amount_minor": 12000000}),
        ("control.standard_cost.set", f"demo-standard-{month}",
         {"article": "FOUTA-CHEVRON-90x170", "per": "piece", "yarn_minor": 2800, "labour_minor": 450,
          "machine_minor": 300, "overhead_minor": 600}),
    ])
    order = ident("order", "L01", 1)
    c = {}
    for _ in range(30):  # until the reaction's facts and the settings are projected
        c = api.get(("D01", "manager"), f"/api/v1/control/orders/{order}/cost") or {}
        if c.get("yarn", {}).get("cost_minor") and c.get("labour", {}).get("cost_minor") and c.get("standard"):
            break
        time.sleep(1)
    y = c.get("yarn", {})
    print(f"demo: control: order {order} (L01) cost {c.get('total_minor', 0) / 1000:.3f} TND: yarn "
          f"{y.get('cost_minor', 0) / 1000:.3f} ({y.get('weight_g', 0) / 1000:.1f} kg, {y.get('unpriced_g', 0) / 1000:.1f} "
          f"kg unpriced), labour {c.get('labour', {}).get('cost_minor', 0) / 1000:.3f}, machine "
          f"{c.get('machine', {}).get('cost_minor', 0) / 1000:.3f} ({c.get('machine', {}).get('run_s', 0) / 3600:.1f} h), "
          f"overhead {c.get('overhead', {}).get('cost_minor', 0) / 1000:.3f}; against its standard "
          f"{(c.get('standard') or {}).get('variance_minor', 0) / 1000:+.3f}: /api/v1/control/orders/{order}/cost")
    yl = (api.get(("D01", "manager"), "/api/v1/control/yields?by=article") or {}).get("groups", [])
    cut = [g for g in yl if g.get("first_choice_share") is not None]
    print(f"demo: control: yields of {len(yl)} articles ({len(cut)} with cut rolls): /api/v1/control/yields?by=article,"
          f"month&format=csv; losses per loom: /api/v1/control/losses")
    reports_demo(api)


def reports_demo(api):
    """This month's reports (production, OEE, costs), asked for by the manager as CSV and
    PDF and stored in file storage, unless a run earlier this month asked already; last
    month's come by themselves (fofal-api at month end, a minute after it starts)."""
    month = f"{dt.datetime.now(dt.timezone.utc):%Y-%m}"
    have = (api.get(("D01", "manager"), f"/api/v1/control/reports?month={month}") or {}).get("reports", [])
    asked = {r["kind"] for r in have if r.get("source") == "request"}
    pdf = None
    for kind in ("production", "oee", "costs"):
        if kind in asked:
            continue
        req = urllib.request.Request(api.url + "/api/v1/control/reports", method="POST",
                                     data=json.dumps({"kind": kind, "month": month}).encode(),
                                     headers={"Authorization": "Bearer " + api.token("D01", "manager"),
                                              "Content-Type": "application/json"})
        for attempt in range(30):
            try:
                with urllib.request.urlopen(req, timeout=120) as r:
                    rep = json.load(r)
                    pdf = pdf or rep["links"]["pdf"]
                break
            except urllib.error.HTTPError as e:
                if e.code == 503 and attempt < 29:
                    time.sleep(1)
                    continue
                sys.exit(f"demo: the {kind} report was refused ({e.code}): {e.read().decode(errors='replace')[:300]}")
    have = (api.get(("D01", "manager"), f"/api/v1/control/reports?month={month}") or {}).get("reports", [])
    pdf = pdf or next((r["links"]["pdf"] for r in have if r.get("kind") == "production"), "")
    print(f"demo: control: {len(have)} reports of {month} (production, oee, costs; CSV and PDF): "
          f"/api/v1/control/reports?month={month}, e.g. {pdf}")


# ---------------------------------------------------------------- hr: pay and attendance
# Piece rates (module hr) before the week's declarations, so each roll accrues its weaver's
# pay by reaction (hr.pay_on_declaration): foutas per piece, terry per metre, in millimes,
# from the first day of the month the week starts in.
PIECE_RATES = {"FOUTA-NID-ABEILLE-100x200": ("piece", 450), "FOUTA-CHEVRON-90x170": ("piece", 380),
               "FOUTA-RAYEE-100x180": ("piece", 350), "FOUTA-KILIM-100x200": ("piece", 520),
               "EPONGE-50x100": ("metre", 210), "EPONGE-70x140": ("metre", 260)}


# Rates by grade and role (issue 17): the weaver's premium per 1st-choice piece at the cut,
# and the cutter's rate per piece, more for a 1st-choice piece (2nd choice: the base).
WEAVER_FIRST_PREMIUM, CUTTER_BASE, CUTTER_FIRST = 40, 60, 90
CUT_SITE = "COUPE"


def demo_hr_rates(api, hr, days):
    since = days[0].replace(day=1)
    api.batch(hr, [("hr.piece_rate.set", f"demo-rate-{code}-{since}",
                    {"article": code, "unit": unit, "rate_minor": rate, "valid_from": str(since)})
                   for code, (unit, rate) in PIECE_RATES.items()])
    graded = []
    for code in PIECE_RATES:
        for role, grade, rate in (("weaver", "first", WEAVER_FIRST_PREMIUM), ("cutter", None, CUTTER_BASE),
                                  ("cutter", "first", CUTTER_FIRST)):
            body = {"article": code, "role": role, "unit": "piece", "rate_minor": rate, "valid_from": str(since)}
            if grade:
                body["grade"] = grade
            graded.append(("hr.piece_rate.set", f"demo-rate-{code}-{role}-{grade or 'base'}-{since}", body))
    # The cutting room is a pay site of its own (its month is closed once the cuts are paid).
    graded.append(("hr.employee.update", "demo-emp-C01-site", {"badge": "C01", "site": CUT_SITE}))
    api.batch(hr, graded)


def demo_payslip(today):
    """The cutter's payslip of this month: the three demo cuts paid by grade (reactions
    hr.cutter_pay_on_cut, hr.weaver_grade_pay_on_cut); last month's pay period is closed
    (demo_hr_attendance) and posted as one entry (accounting.entry_on_pay_period)."""
    return f"/api/v1/hr/employees/C01/payslip?period={today.strftime('%Y-%m')}"


# Attendance: the current shift's weavers clock in at the gate (as themselves: the time is
# the API's, so only now can be clocked), and two absences of the month.
def demo_hr_attendance(api, hr, today, now_utc):
    code, hour = next(((c, h) for c, h in reversed(SHIFTS) if shift_start_utc(today, h) <= now_utc), None) or ("C", 22)
    first = 100 + "ABC".index(code) * 8 + 1
    for badge in [f"W{first + k}" for k in range(8)]:
        api.batch((badge, "weaver"), [("hr.employee.clock_in", f"demo-clock-in-{badge}-{today}-{code}",
                                       {"badge": badge, "device": "GATE-H1"})])
    month = today.replace(day=1)
    api.batch(hr, [("hr.employee.record_absence", f"demo-absence-W105-{month}",
                    {"badge": "W105", "from": str(month + dt.timedelta(days=26)), "to": str(month + dt.timedelta(days=27)),
                     "reason": "sick"}),
                   ("hr.employee.record_absence", f"demo-absence-W113-{month}",
                    {"badge": "W113", "from": str(month + dt.timedelta(days=20)), "reason": "annual_leave"})])
    # Last month's pay is closed (a late declaration of its days is paid this month).
    last = (month - dt.timedelta(days=1)).strftime("%Y-%m")
    api.batch(hr, [("hr.pay_period.close", f"demo-pay-close-{last}", {"period": last})])
    # The pay accrued by reaction, as the weaver's phone shows it.
    for _ in range(30):
        pay = api.get(("W101", "weaver"), f"/api/v1/hr/employees/W101/pay?from={today - dt.timedelta(days=6)}&to={today}")
        if pay and pay.get("lines"):
            print(f"demo: W101 earned {pay['gross_minor'] / 1000:.3f} TND piece-rate this week ({len(pay['lines'])} rolls)")
            break
        time.sleep(1)


# The ledger (module accounting): the company its statements name (a made-up tax id), an
# opening entry by the accountant; the week's pay is posted by reaction
# (accounting.entry_on_pay), 640 wages to 428 wages accrued; a closed pay period by
# accounting.entry_on_pay_period, 428 to 425 wages due.
def demo_accounting(api):
    accountant = ("A01", "accountant")
    api.batch(accountant, [("accounting.company.set", "demo-company",
                            {"company": "default", "name": "Tissage de démonstration SARL",
                             "tax_id": "0000000/A/M/000"}),
                           ("accounting.entry.post", "demo-entry-opening",
                            {"entry_id": ident("entry", "opening"), "date": "2026-01-01", "memo": "capital paid in",
                             "lines": [{"account": "532", "debit_minor": 250000000},
                                       {"account": "101", "credit_minor": 250000000}]})])
    tb = api.get(accountant, "/api/v1/accounting/trial-balance") or {}
    print(f"demo: trial balance {tb.get('debit_minor', 0) / 1000:.3f} = {tb.get('credit_minor', 0) / 1000:.3f} TND over "
          f"{len(tb.get('accounts', []))} accounts")


def sscc(serial):
    """An SSCC-18 of the demo's (made-up) GS1 company prefix 6190000: extension 0, serial, check digit."""
    body = f"0619000{serial:010d}"
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def stores(api, labels, days):
    """Inventory (issue 14): locations, two yarns, the yarn lots the beams of L01-L03 were
    warped from (LOT-2601..2603, received a week ago) issued to those beams, a yarn below its
    minimum, rolls moved to the finished-goods store, two cartons on a pallet moved to the
    shipping dock as a whole, a pick list for an order (one line picked), the yarn's cones and
    metres, and an open count of the yarn store."""
    mp, pf, admin = ("S01", "storekeeper_mp"), ("S02", "storekeeper_pf"), ("A01", "admin")
    api.batch(admin, [("inventory.location.define", f"demo-loc-{c}", {"location": c, "kind": k, "name": n})
                      for c, k, n in [("MP-A", "raw", "Magasin fils"), ("PF-1", "finished", "Magasin produits finis"),
                                      ("QUAR", "quarantine", "Quarantaine"), ("PF-QUAI", "finished", "Quai d'expédition")]])
    api.batch(mp, [("catalog.item.define", f"demo-item-{i}", {"item": i, "kind": "yarn", "name": n, "unit": "g",
                                                               "yarn_count": c, "material": "coton", "colour": "écru"})
                   for i, n, c in [("YRN-NE20-2", "Coton peigné Ne 20/2", "Ne 20/2"), ("YRN-NE16-1", "Coton Ne 16/1", "Ne 16/1")]]
              # Its cones (2.5 kg each) and metres (Nm 16.9: 16,900 m a kg): reads show lots in kg, cones and m.
              + [("catalog.item.set_conversions", "demo-item-units-YRN-NE20-2",
                  {"item": "YRN-NE20-2", "conversions": [{"unit": "cone", "qty": 1, "base_qty": 2500},
                                                         {"unit": "m", "qty": 16900, "base_qty": 1000}]})])
    received = rfc3339(shift_start_utc(days[0], 6) - dt.timedelta(hours=2))
    lots = []
    for n in (1, 2, 3):
        lots += [("inventory.lot.receive", f"demo-lot-{2600 + n}",
                  {"lot": f"LOT-{2600 + n}", "item": "YRN-NE20-2", "supplier_lot": f"FIL-{8800 + n}", "weight_g": 400000,
                   "cones": 160, "location": "MP-A", "purchase_order": "PO-2026-114", "occurred_at": received}),
                 ("inventory.lot.issue", f"demo-lot-issue-{2600 + n}",
                  {"lot": f"LOT-{2600 + n}", "weight_g": 310000, "beam": f"B-L{n:02d}-G", "occurred_at": received})]
    api.batch(mp, lots + [("inventory.lot.receive", "demo-lot-2650",
                           {"lot": "LOT-2650", "item": "YRN-NE16-1", "supplier_lot": "FIL-9120", "weight_g": 250000,
                            "cones": 100, "location": "MP-A", "occurred_at": received}),
                          # 250 kg of Ne 16/1 where 300 kg is the minimum: an alert (GET /api/v1/inventory/alerts)
                          ("inventory.location.set_minimum", "demo-min-MP-A-NE16",
                           {"location": "MP-A", "item": "YRN-NE16-1", "minimum": 300000})])
    if len(labels) < 11:
        return  # a run after an earlier one: its rolls are in the store already
    rolls = labels[8:11]  # not the rolls quality (1-5) and subcontracting (0, 7) take
    for label in rolls:
        for _ in range(120):
            if api.get(pf, f"/api/v1/inventory/labels/{label}"):
                break
            time.sleep(1)
    c1, c2, pallet = ident("carton", 1), ident("carton", 2), ident("pallet", 1)
    api.batch(pf, [("inventory.unit.move", f"demo-move-{label}", {"label_id": label, "to": "PF-1"}) for label in rolls]
              + [("inventory.carton.pack", "demo-carton-1", {"carton_id": c1, "units": rolls[:2]}),
                 ("inventory.carton.pack", "demo-carton-2", {"carton_id": c2, "units": rolls[2:]}),
                 ("inventory.pallet.build", "demo-pallet-1", {"pallet_id": pallet, "sscc": sscc(1), "cartons": [c1, c2]}),
                 # The pallet goes to the shipping dock as a whole: its cartons and rolls follow.
                 ("inventory.container.move", "demo-pallet-1-dock", {"container_id": pallet, "to": "PF-QUAI"})])
    # A pick list: yarn for the order of the first packed roll, one line picked (scanned) so far.
    scan = api.get(pf, f"/api/v1/inventory/labels/{rolls[0]}") or {}
    order = (scan.get("order") or {}).get("order_id")
    pick = ident("pick", 1)
    if order:
        api.batch(mp, [("inventory.lot.receive", "demo-lot-2604",
                        {"lot": "LOT-2604", "item": "YRN-NE20-2", "supplier_lot": "FIL-8804", "weight_g": 400000,
                         "cones": 160, "location": "MP-A", "occurred_at": received}),
                       ("inventory.pick.create", "demo-pick-1",
                        {"pick_id": pick, "order_id": order, "lines": [{"lot": "LOT-2604", "weight_g": 120000},
                                                                       {"lot": "LOT-2601", "weight_g": 60000}]}),
                       ("inventory.pick.scan", "demo-pick-1-scan-1", {"pick_id": pick, "lot": "LOT-2604"})])
    count = ident("count", "MP-A", days[-1])
    api.batch(mp, [("inventory.count.open", f"demo-count-{days[-1]}", {"count_id": count, "location": "MP-A"}),
                   ("inventory.count.record", f"demo-count-{days[-1]}-1", {"count_id": count, "holding": "LOT-2601",
                                                                           "quantity": 89500})])
    print(f"demo: stores: pallet {pallet} (SSCC {sscc(1)}, moved to PF-QUAI), open count {count}, pick list {pick}, "
          f"a yarn lot's label at /api/v1/inventory/lots/LOT-2601/label.zpl")




def sales_demo(api):
    """Sales (module sales, issue 17): three customers, an order of the hotel in Hammamet,
    the delivery of the demo pallet with its invoice (FA-<year>-00001: numbered without gaps
    per year) and a part payment at the bank; the invoice and the payment are posted to the
    ledger by reaction (411 / 701 / 4366, 532 / 411); the yarn supplier's invoice of what
    was received, matched three ways, clearing the receipt's 408, and a part payment of it
    (408 / 4366 / 401, 401 / 532); a salesperson's customer and order."""
    acc, boss = ("A01", "accountant"), ("D01", "manager")
    today = local_now().date()
    api.batch(boss, [("sales.customer.register", f"demo-cust-{c}", dict({"customer": c, "name": n, "payment_terms_days": t}, **more))
                     for c, n, t, more in [("C-HAMMAMET", "Hôtel Royal Hammamet", 30, {"vat_id": "1234567A/A/M/000"}),
                                           ("C-SOUSSE", "Spa Sousse Palace", 60, {"vat_id": "7654321B/A/M/000"}),
                                           ("C-LYON", "Linge de Maison SARL", 60, {"currency": "EUR"})]])
    # The salesperson (role salesperson: customers, orders, deliveries; no invoice, payment
    # or ledger) brings a customer of their own and its first order.
    seller = ("V01", "salesperson")
    api.batch(seller, [("sales.customer.register", "demo-cust-C-DJERBA", {
        "customer": "C-DJERBA", "name": "Hôtel Djerba Plaza", "payment_terms_days": 45, "vat_id": "1122334C/A/M/000"})])
    api.batch(seller, [("sales.order.place", "demo-sales-order-2", {
        "order_id": ident("sales-order", 2), "customer": "C-DJERBA", "date": today.isoformat(),
        "reference": "BC-DJ-0009", "lines": [{"article": "EPONGE-50x100", "quantity": 200, "unit_price_minor": 9800}]})])
    pallet = ident("pallet", 1)
    if not api.get(("S02", "storekeeper_pf"), f"/api/v1/inventory/containers/{pallet}"):
        print("demo: sales: 3 customers (no demo pallet to deliver)")
        return
    order, delivery, invoice = ident("sales-order", 1), ident("sales-delivery", 1), ident("sales-invoice", 1)
    day = today.isoformat()
    api.batch(boss, [("sales.order.place", "demo-sales-order-1", {
        "order_id": order, "customer": "C-HAMMAMET", "date": day, "reference": "BC-2026-0147",
        "lines": [{"article": ARTICLES[0][0], "quantity": 120, "unit_price_minor": 14500},
                  {"article": "EPONGE-50x100", "quantity": 60, "unit_price_minor": 9800}]})])
    api.batch(boss, [("sales.delivery.ship", "demo-sales-delivery-1", {
        "delivery_id": delivery, "order_id": order, "date": day, "containers": [pallet],
        "lines": [{"line": 1, "quantity": 120}]})])
    res = api.batch(acc, [("sales.invoice.issue", "demo-sales-invoice-1", {"invoice_id": invoice, "delivery_id": delivery,
                                                                            "date": day})])
    number = next((e.get("issued", {}).get("number") for e in res[0].get("events", []) if e.get("issued")), None)
    api.batch(acc, [("sales.payment.record", "demo-sales-payment-1", {
        "invoice_id": invoice, "payment_id": ident("sales-payment", 1), "direction": "received", "account": "bank",
        "amount_minor": 1000000, "date": day, "reference": "VIR-BIAT-88412"})])
    # The yarn supplier's invoice of the 800 kg received (purchasing_demo): it matches the
    # order and its receipt, so it is posted, clearing what the receipt put into 408
    # (408 / 4366 / 401: 408 back to zero, the yarn in 311); part of it is paid.
    sinv = ident("supplier-invoice", "F-FILSAHEL", "FS-2026-0412")
    api.batch(acc, [("sales.supplier_invoice.record", "demo-sinv-1", {
        "supplier_invoice_id": sinv, "supplier": "F-FILSAHEL", "supplier_number": "FS-2026-0412",
        "order_id": ident("purchase-order", "yarn-co"), "date": day, "due_date": str(today + dt.timedelta(days=60)),
        "lines": [{"line": 1, "quantity_milli": 800000, "unit_price": 9300}]})])
    api.batch(acc, [("sales.supplier_payment.record", "demo-spay-1", {
        "supplier_invoice_id": sinv, "payment_id": ident("supplier-payment", 1), "account": "bank",
        "amount_minor": 5000000, "date": day, "reference": "VIR-BIAT-88519"})])
    print(f"demo: sales: 3 customers, an order, the demo pallet delivered and invoiced ({number or 'invoiced before'}: "
          f"120 × 14.500 TND + 19 % VAT = 2,070.600 TND), 1,000.000 TND received at the bank; F-FILSAHEL's invoice "
          f"FS-2026-0412 of the 800 kg received (8,853.600 TND, matched: 408 cleared) and 5,000.000 TND paid; "
          f"the salesperson's customer C-DJERBA and its order")


if __name__ == "__main__":
    main()
