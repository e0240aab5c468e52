/*
 * machines.c — loom telemetry → machine states: the pure logic of fofal-machines.
 *
 * Per loom it keeps the confirmed state (running, or stopped with a cause), a pending
 * flip, the last sample time and pick counter, a tally of the current interval, and the
 * msg_ids of its most recent samples. Each sample is, in this order:
 *
 *   1. Deduplicated. A msg_id among the loom's last FOFAL_MACHINES_RECENT ids is a duplicate
 *      (MQTT redelivery after a broker or ingest restart) and changes nothing. A sample
 *      older than every remembered one (with the memory full) is "too late" and dropped
 *      too: that way a duplicate can never slip past the memory and be counted twice. THIS
 *      is where duplicates are removed (fofal-ingest lets them through).
 *   2. Late (its time is not after the loom's last sample): counted as a sample, but it
 *      neither moves time nor flips the state — out-of-order samples never flip a state
 *      backwards.
 *   3. In order: the time since the last sample is credited to the confirmed state (run
 *      time, or stop time under its cause), split at shift boundaries, and so are the picks
 *      the sample's counter added (the counter's increase; a counter that went down was
 *      reset: its new value counts), pro rata to the time on each side: they were woven
 *      over the interval this sample closes, so a sample just past a boundary puts its
 *      picks in the shift they were woven in. A gap longer than gap_s is not credited,
 *      nor its picks (nobody knows what the loom did, and efficiency = picks over time).
 *   4. Hysteresis: a different state becomes the confirmed one only once it was seen in
 *      confirm_samples consecutive samples or for hysteresis_ms of sample time; a single
 *      odd sample is a glitch. The flip is dated at its first sample, and the time since
 *      then moves to the new state.
 *   5. Breakdown: a stop whose cause is mechanical or electrical, or a stop longer than
 *      breakdown_after_s (exactly that long is not yet one), is a breakdown: once per stop,
 *      the event breakdown_declared, whose id field is a name-based UUID of tenant/loom/stop
 *      start (reprocessing yields the same). What other modules do about it is theirs: the
 *      maintenance module's reaction requests an intervention (commands/maintenance/
 *      reactions.c, run by fofal-reactor); fofal-machines sends no command.
 *   6. Tallies: the interval's counters are emitted (loom_activity) at each flip, shift
 *      boundary and every tally_s of sample time; the projection adds them up per shift.
 *
 * Shifts come from the hr module, speeds from the production module. A tally belongs to a
 * shift of the tenant's shift model (hr.shift_model.define; fofal_shift_at, the decider's own
 * function, so that a weaver's shift and a loom's shift are the same "2026-11-28/B"); a
 * tenant without one has the decider's built-in 3×8 from 06:00 at UTC+1. Time outside
 * every shift (a day the mill does not work, a gap between shifts) is tallied under
 * "<local date>/-" until the next shift or local midnight. Where shifts overlap, the
 * first of the model that covers a moment has it. A tally carries the loom's registered
 * nominal speed (production.loom.register's nominal_ppm), and from it the theoretical
 * picks of its run time and the nominal picks of its observed time (run + stop): the
 * read side divides picks by them for performance and efficiency (GLOSSARY.md). A loom
 * whose speed is not known has neither (the ratios read null, rather than an invented
 * speed). fofal-machines feeds both settings from the events where they are decided,
 * fofal.hr.events and fofal.production.events (fofal_machines_setting_record);
 * machines_main.c says how they stay exactly once.
 *
 * Everything is a function of the samples and those settings (no clock), so reprocessing
 * gives the same events. Not thread-safe: one fofal-machines worker owns a map.
 */
#include "commands.h"
#include "ingest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NCAUSE FOFAL_STOP_CAUSES

enum { ST_UNKNOWN = 0, ST_RUNNING = 1, ST_STOPPED = 2 };

typedef struct {
  char tenant[64], name[64];
  int is_hall;
  int64_t seq;               /* events emitted for this loom: the envelope's seq */
  int64_t last_us;           /* last in-order sample */
  long long last_picks;
  double last_ppm;
  int state, cause;          /* confirmed */
  int64_t since_us;
  int breakdown;
  int pend_state, pend_cause, pend_n;
  int64_t pend_since;
  /* tally of the current interval */
  char shift[32];
  int64_t t_from, t_shift_start, t_shift_end;
  unsigned shift_gen;        /* the tenant's model generation the shift was found with */
  int64_t run_us, stop_us[NCAUSE];
  long long stops[NCAUSE], picks, samples, late, dups;
  /* recent msg_ids, a ring */
  char ids[FOFAL_MACHINES_RECENT][64];
  int64_t id_ts[FOFAL_MACHINES_RECENT];
  int nids, ids_head;
} loom_t;

/* A tenant's shift model. */
typedef struct {
  json_t *model; /* owned; NULL: the built-in one */
  unsigned gen;  /* changes with the model, so that looms find their shift again */
} tenant_t;

struct fofal_machines {
  fofal_machines_cfg_t cfg;
  fofal_map_t *looms;   /* "tenant/loom" or "tenant/hall:H" → loom_t */
  fofal_map_t *tenants; /* tenant → tenant_t */
  fofal_map_t *nominal; /* "tenant/loom" → double, the registered ppm */
  unsigned gen;
};

static void tenant_free(void *p) {
  tenant_t *t = p;
  if (!t) return;
  json_decref(t->model);
  free(t);
}

fofal_machines_t *fofal_machines_new(const fofal_machines_cfg_t *cfg) {
  fofal_machines_t *m = fofal_calloc(1, sizeof *m);
  m->cfg = *cfg;
  m->looms = fofal_map_new(free);
  m->tenants = fofal_map_new(tenant_free);
  m->nominal = fofal_map_new(free);
  return m;
}

void fofal_machines_free(fofal_machines_t *m) {
  if (!m) return;
  fofal_map_free(m->looms);
  fofal_map_free(m->tenants);
  fofal_map_free(m->nominal);
  free(m);
}

void fofal_machines_clear(fofal_machines_t *m) {
  fofal_map_free(m->looms);
  fofal_map_free(m->tenants);
  fofal_map_free(m->nominal);
  m->looms = fofal_map_new(free);
  m->tenants = fofal_map_new(tenant_free);
  m->nominal = fofal_map_new(free);
}

static int cause_of(const char *s) {
  for (int i = 0; s && i < NCAUSE; i++)
    if (!strcmp(fofal_stop_causes[i], s)) return i;
  return 4; /* other */
}

static int is_fault(int cause) { return cause == 2 || cause == 3; }

/* ------------------------------------------------------------ shifts and speeds */

void fofal_machines_set_shift_model(fofal_machines_t *m, const char *tenant, const json_t *model) {
  tenant_t *t = fofal_map_get(m->tenants, tenant);
  if (!t) {
    t = fofal_calloc(1, sizeof *t);
    fofal_map_put(m->tenants, tenant, t);
  }
  json_decref(t->model);
  t->model = model && json_is_object(model) ? json_deep_copy(model) : NULL;
  t->gen = ++m->gen;
}

void fofal_machines_set_nominal_ppm(fofal_machines_t *m, const char *tenant, const char *loom, double ppm) {
  char key[160];
  snprintf(key, sizeof key, "%s/%s", tenant, loom);
  double *v = fofal_map_get(m->nominal, key);
  if (!v) {
    v = fofal_calloc(1, sizeof *v);
    fofal_map_put(m->nominal, key, v);
  }
  *v = ppm > 0 && isfinite(ppm) ? ppm : 0;
}

static double nominal_of(const fofal_machines_t *m, const loom_t *l) {
  char key[160];
  snprintf(key, sizeof key, "%s/%s", l->tenant, l->name);
  const double *v = fofal_map_get(m->nominal, key);
  return v ? *v : 0;
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* The shift of a moment under a model (NULL: built-in): its id and bounds. Outside every
 * shift, "<local date>/-" until the next shift that starts that day, or local midnight. */
static void shift_of(const json_t *model, int64_t at, char id[32], int64_t *start, int64_t *end) {
  fofal_shift_t s;
  if (!fofal_shift_at(model, at, &s)) {
    snprintf(id, 32, "%s", s.id);
    *start = s.starts_us;
    *end = s.ends_us;
    return;
  }
  const int64_t minute = 60 * 1000000LL;
  int64_t off = json_integer_value(json_object_get(model, "utc_offset_min"));
  int64_t day = floor_div(floor_div(at, minute) + off, 1440);
  time_t secs = (time_t)(day * 86400);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char date[16], sid[48];
  snprintf(date, sizeof date, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  *start = at;
  *end = ((day + 1) * 1440 - off) * minute;
  size_t i;
  json_t *sh;
  json_array_foreach(json_object_get(model, "shifts"), i, sh) {
    fofal_shift_t next, w;
    snprintf(sid, sizeof sid, "%s/%s", date, json_string_value(json_object_get(sh, "code")) ?: "");
    if (!fofal_shift_span(model, sid, &next) && next.starts_us > at && next.starts_us < *end &&
        !fofal_shift_at(model, next.starts_us, &w))
      *end = next.starts_us;
  }
  snprintf(id, 32, "%s/-", date);
}

/* ------------------------------------------------------------ output */

static json_t *emit(fofal_machines_t *m, loom_t *l, json_t *out, const char *name, int64_t at, json_t *data) {
  (void)m;
  char type[96], ts[32];
  snprintf(type, sizeof type, "fofal.machines.%s.v1", name);
  fofal_time_format(at, ts);
  json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:o}", "kind", "event", "type", type, "tenant", l->tenant, "subject",
                        l->name, "seq", (json_int_t)++l->seq, "time", ts, "data", data);
  json_array_append_new(out, e);
  return e;
}

static void tally_start(fofal_machines_t *m, loom_t *l, int64_t at) {
  const tenant_t *t = fofal_map_get(m->tenants, l->tenant);
  unsigned gen = t ? t->gen : 0;
  if (!l->shift[0] || gen != l->shift_gen || at < l->t_shift_start || at >= l->t_shift_end) {
    shift_of(t ? t->model : NULL, at, l->shift, &l->t_shift_start, &l->t_shift_end);
    l->shift_gen = gen;
  }
  l->t_from = at;
  l->run_us = 0;
  l->picks = l->samples = l->late = l->dups = 0;
  for (int i = 0; i < NCAUSE; i++) l->stop_us[i] = l->stops[i] = 0;
}

static double milli(double x) { return round(x * 1e3) / 1e3; }

static void tally_emit(fofal_machines_t *m, loom_t *l, int64_t to, json_t *out) {
  char from[32], t[32];
  fofal_time_format(l->t_from, from);
  fofal_time_format(to, t);
  json_t *stop_s = json_object(), *stops = json_object();
  double total_stop = 0;
  for (int i = 0; i < NCAUSE; i++) {
    json_object_set_new(stop_s, fofal_stop_causes[i], json_real(milli((double)l->stop_us[i] / 1e6)));
    json_object_set_new(stops, fofal_stop_causes[i], json_integer(l->stops[i]));
    total_stop += (double)l->stop_us[i];
  }
  /* GLOSSARY.md: theoretical picks = nominal ppm × run minutes (performance's divisor);
   * nominal picks = nominal ppm × elapsed minutes, run + stop (efficiency's). */
  double nominal = nominal_of(m, l);
  json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:o,s:o,s:I,s:f,s:f,s:I,s:I,s:I,s:s,s:f}", "loom", l->name, "shift",
                        l->shift, "from", from, "to", t, "run_s", milli((double)l->run_us / 1e6), "stop_s",
                        milli(total_stop / 1e6), "stop_s_by_cause", stop_s, "stops_by_cause", stops, "picks",
                        (json_int_t)l->picks, "theoretical_picks", milli(nominal * (double)l->run_us / 60e6),
                        "nominal_picks", milli(nominal * ((double)l->run_us + total_stop) / 60e6), "samples",
                        (json_int_t)l->samples, "late", (json_int_t)l->late, "duplicates", (json_int_t)l->dups,
                        "state", l->state == ST_RUNNING ? "running" : l->state == ST_STOPPED ? "stopped" : "unknown",
                        "ppm", l->last_ppm);
  if (nominal > 0) json_object_set_new(d, "nominal_ppm", json_real(nominal));
  if (l->state == ST_STOPPED) json_object_set_new(d, "cause", json_string(fofal_stop_causes[l->cause]));
  emit(m, l, out, "loom_activity", to, d);
  tally_start(m, l, to);
}

/* Credits [from, to) and the dp picks counted over it to the confirmed state, splitting
 * both at shift boundaries (the picks pro rata to the time on each side). */
static void credit(fofal_machines_t *m, loom_t *l, int64_t from, int64_t to, long long dp, json_t *out) {
  const int64_t t0 = from;
  long long given = 0;
  while (from < to) {
    if (from >= l->t_shift_end) { /* the tally's shift ended before this interval */
      tally_emit(m, l, from, out);
      continue;
    }
    int64_t end = to < l->t_shift_end ? to : l->t_shift_end;
    int64_t dt = end - from;
    if (l->state == ST_RUNNING) l->run_us += dt;
    else if (l->state == ST_STOPPED) l->stop_us[l->cause] += dt;
    long long upto = end == to ? dp : (long long)((double)dp * (double)(end - t0) / (double)(to - t0));
    l->picks += upto - given;
    given = upto;
    from = end;
    if (from >= l->t_shift_end) tally_emit(m, l, from, out);
  }
}

static void breakdown(fofal_machines_t *m, loom_t *l, int64_t at, const char *reason, json_t *out) {
  char name[256], id[FOFAL_UUID_LEN + 1], since[32];
  l->breakdown = 1;
  /* The breakdown's own id (the read model's key): the same for a reprocessed stop. It keeps
   * the name "command_id" of version 1 of the event, from when fofal-machines sent the
   * intervention request itself; the maintenance module's reaction does that now. */
  snprintf(name, sizeof name, "breakdown/%s/%s/%lld", l->tenant, l->name, (long long)l->since_us);
  fofal_uuid_named("fofal.machines", name, id);
  fofal_time_format(l->since_us, since);
  emit(m, l, out,
       "breakdown_declared", at,
       json_pack("{s:s,s:s,s:s,s:s,s:s}", "loom", l->name, "cause", fofal_stop_causes[l->cause], "since", since, "reason", reason,
                 "command_id", id));
}

static loom_t *get(fofal_machines_t *m, const char *tenant, const char *name, int is_hall) {
  char key[160];
  snprintf(key, sizeof key, "%s/%s%s", tenant, is_hall ? "hall:" : "", name);
  loom_t *l = fofal_map_get(m->looms, key);
  if (!l) {
    l = fofal_calloc(1, sizeof *l);
    snprintf(l->tenant, sizeof l->tenant, "%s", tenant);
    snprintf(l->name, sizeof l->name, "%s", name);
    l->is_hall = is_hall;
    fofal_map_put(m->looms, key, l);
  }
  return l;
}

/* Steps 1–2. Returns 1 when the sample is new and in order, 0 when it was handled. */
static int admit(loom_t *l, const char *msg_id, int64_t ts) {
  for (int i = 0; i < l->nids; i++)
    if (!strcmp(l->ids[i], msg_id)) {
      l->dups++;
      return 0;
    }
  if (l->nids == FOFAL_MACHINES_RECENT) {
    int64_t oldest = l->id_ts[l->ids_head];
    for (int i = 0; i < l->nids; i++)
      if (l->id_ts[i] < oldest) oldest = l->id_ts[i];
    if (ts < oldest) {
      l->dups++; /* too late to tell from a duplicate: dropped */
      return 0;
    }
  }
  int slot = l->nids < FOFAL_MACHINES_RECENT ? l->nids++ : l->ids_head;
  if (l->nids == FOFAL_MACHINES_RECENT && slot == l->ids_head) l->ids_head = (l->ids_head + 1) % FOFAL_MACHINES_RECENT;
  snprintf(l->ids[slot], sizeof l->ids[slot], "%s", msg_id);
  l->id_ts[slot] = ts;
  l->samples++;
  if (l->last_us && ts <= l->last_us) {
    l->late++;
    return 0;
  }
  return 1;
}

/* The values of a sample's data as the JSON entry points read them: msg_id and ts (and, for
 * a loom, state) are required; the rest is taken as it comes (ingest checked it). */
static int values_of(const json_t *data, int is_hall, fofal_telemetry_values_t *v) {
  const char *msg_id = json_string_value(json_object_get(data, "msg_id"));
  const char *ts_s = json_string_value(json_object_get(data, "ts"));
  const char *st = json_string_value(json_object_get(data, "state"));
  memset(v, 0, sizeof *v);
  if (!msg_id || !ts_s || (!is_hall && !st) || fofal_time_parse(ts_s, &v->time_us)) return FOFAL_EINVAL;
  snprintf(v->msg_id, sizeof v->msg_id, "%s", msg_id);
  json_t *t = json_object_get(data, "temperature"), *h = json_object_get(data, "humidity");
  if ((v->has_temperature = t != NULL)) v->temperature = json_number_value(t);
  if ((v->has_humidity = h != NULL)) v->humidity = json_number_value(h);
  if (!is_hall) {
    v->picks = (long long)json_integer_value(json_object_get(data, "picks"));
    v->ppm = json_number_value(json_object_get(data, "ppm"));
    v->running = !strcmp(st, "running");
    v->cause = json_string_value(json_object_get(data, "stop_cause"));
  }
  return 0;
}

int fofal_machines_sample_values(fofal_machines_t *m, const char *tenant, const char *loom,
                                 const fofal_telemetry_values_t *v, json_t *out) {
  const char *msg_id = v->msg_id;
  int64_t ts = v->time_us;
  long long picks = v->picks;
  double ppm = v->ppm;
  int s = v->running ? ST_RUNNING : ST_STOPPED;
  int c = s == ST_STOPPED ? cause_of(v->cause) : 0;
  loom_t *l = get(m, tenant, loom, 0);
  int fresh = l->state == ST_UNKNOWN && l->last_us == 0;
  if (fresh) tally_start(m, l, ts);
  if (!admit(l, msg_id, ts)) return 0;

  /* 3. time and picks */
  if (!fresh) {
    int64_t dt = ts - l->last_us;
    long long dp = picks >= l->last_picks ? picks - l->last_picks : picks;
    if (dt <= (int64_t)m->cfg.gap_s * 1000000) credit(m, l, l->last_us, ts, dp, out);
    else {
      /* Unobserved gap: neither its time nor its picks are credited; the tally restarts
       * at this sample. */
      tally_emit(m, l, l->last_us, out);
      tally_start(m, l, ts);
    }
  }
  l->last_us = ts;
  l->last_picks = picks;
  l->last_ppm = ppm;

  /* 4. state */
  char at[32];
  if (l->state == ST_UNKNOWN) {
    l->state = s;
    l->cause = c;
    l->since_us = ts;
    fofal_time_format(ts, at);
    if (s == ST_RUNNING) emit(m, l, out, "loom_running", ts, json_pack("{s:s,s:s,s:f}", "loom", l->name, "since", at, "ppm", ppm));
    else {
      l->stops[c]++;
      emit(m, l, out, "loom_stopped", ts, json_pack("{s:s,s:s,s:s}", "loom", l->name, "since", at, "cause", fofal_stop_causes[c]));
      if (is_fault(c)) breakdown(m, l, ts, "mechanical or electrical cause", out);
    }
  } else if (s == l->state) {
    l->pend_n = 0;
  } else {
    if (l->pend_n == 0 || l->pend_state != s) {
      l->pend_state = s;
      l->pend_since = ts;
      l->pend_n = 0;
    }
    l->pend_n++;
    l->pend_cause = c;
    if (l->pend_n >= m->cfg.confirm_samples || ts - l->pend_since >= (int64_t)m->cfg.hysteresis_ms * 1000) {
      /* Move the time since the flip's first sample to the new state (within this tally). */
      int64_t from = l->pend_since > l->t_from ? l->pend_since : l->t_from;
      int64_t dt = ts - from;
      if (dt > 0) {
        if (l->state == ST_RUNNING) {
          l->run_us -= dt;
          l->stop_us[c] += dt;
        } else {
          l->stop_us[l->cause] -= dt;
          l->run_us += dt;
        }
      }
      int64_t prev_since = l->since_us;
      int prev_cause = l->cause, was_breakdown = l->breakdown;
      tally_emit(m, l, ts, out);
      l->state = s;
      l->cause = c;
      l->since_us = l->pend_since;
      l->breakdown = 0;
      l->pend_n = 0;
      fofal_time_format(l->since_us, at);
      double prev_s = (double)(l->since_us - prev_since) / 1e6;
      if (s == ST_STOPPED) {
        l->stops[c]++;
        emit(m, l, out, "loom_stopped", ts,
             json_pack("{s:s,s:s,s:s,s:f}", "loom", l->name, "since", at, "cause", fofal_stop_causes[c], "ran_s", prev_s));
        if (is_fault(c)) breakdown(m, l, ts, "mechanical or electrical cause", out);
      } else {
        emit(m, l, out, "loom_running", ts,
             json_pack("{s:s,s:s,s:f,s:f,s:s,s:b}", "loom", l->name, "since", at, "ppm", ppm, "stopped_s", prev_s,
                       "cause", fofal_stop_causes[prev_cause], "after_breakdown", was_breakdown));
      }
    }
  }
  if (l->state == ST_STOPPED && s == ST_STOPPED && l->pend_n == 0) l->cause = l->cause == 4 && c != 4 ? c : l->cause;

  /* 5. long stop */
  if (l->state == ST_STOPPED && !l->breakdown && ts - l->since_us > (int64_t)m->cfg.breakdown_after_s * 1000000)
    breakdown(m, l, ts, "stop longer than the breakdown threshold", out);

  /* 6. periodic tally */
  if (ts - l->t_from >= (int64_t)m->cfg.tally_s * 1000000) tally_emit(m, l, ts, out);
  return 0;
}

int fofal_machines_hall_values(fofal_machines_t *m, const char *tenant, const char *hall,
                               const fofal_telemetry_values_t *v, json_t *out) {
  loom_t *l = get(m, tenant, hall, 1);
  if (!admit(l, v->msg_id, v->time_us)) return 0;
  l->last_us = v->time_us;
  json_t *d = json_pack("{s:s}", "hall", hall);
  if (v->has_temperature) json_object_set_new(d, "temperature", json_real(v->temperature));
  if (v->has_humidity) json_object_set_new(d, "humidity", json_real(v->humidity));
  json_object_set_new(d, "msg_id", json_string(v->msg_id));
  emit(m, l, out, "hall_reading", v->time_us, d);
  return 0;
}

/* ------------------------------------------------------------ entry points */

/* 1 when the production module registered the loom (loom_registered, with or without a
 * speed): fofal_machines_set_nominal_ppm keeps a key for each. */
static int registered(const fofal_machines_t *m, const char *tenant, const char *loom) {
  char key[160];
  snprintf(key, sizeof key, "%s/%s", tenant, loom);
  return fofal_map_get(m->nominal, key) != NULL;
}

static int apply_values(fofal_machines_t *m, const char *tenant, const char *name, int is_hall,
                        const fofal_telemetry_values_t *v, json_t *out) {
  /* Before get(): an unknown name must not create a loom. */
  if (!is_hall && m->cfg.registered_only && !registered(m, tenant, name)) return FOFAL_ENOENT;
  return is_hall ? fofal_machines_hall_values(m, tenant, name, v, out)
                 : fofal_machines_sample_values(m, tenant, name, v, out);
}

static int apply_json(fofal_machines_t *m, const char *tenant, const char *name, int is_hall, const json_t *data,
                      json_t *out) {
  fofal_telemetry_values_t v;
  int rc = values_of(data, is_hall, &v);
  return rc ? rc : apply_values(m, tenant, name, is_hall, &v, out);
}

int fofal_machines_sample(fofal_machines_t *m, const char *tenant, const char *loom, const json_t *data, json_t *out) {
  return apply_json(m, tenant, loom, 0, data, out);
}

int fofal_machines_hall(fofal_machines_t *m, const char *tenant, const char *hall, const json_t *data, json_t *out) {
  return apply_json(m, tenant, hall, 1, data, out);
}

int fofal_machines_record(fofal_machines_t *m, const char *value, size_t len, json_t *out, char tenant[64],
                          char name[64], int *is_hall) {
  /* The records fofal-ingest writes take the scanner (no JSON tree, no allocation); any
   * other shape the general decoder. */
  int kind;
  fofal_telemetry_values_t v;
  if (!fofal_telemetry_read_event(value, len, &kind, tenant, name, &v)) {
    *is_hall = kind == FOFAL_TELEMETRY_HALL;
    return apply_values(m, tenant, name, *is_hall, &v, out);
  }
  fofal_event_t ev;
  char err[256];
  int rc = fofal_event_decode(&ev, value, len, err, sizeof err);
  if (rc) return rc;
  rc = FOFAL_EINVAL;
  if (ev.type && ev.tenant && ev.subject && strlen(ev.tenant) < 64 && strlen(ev.subject) < 64) {
    snprintf(tenant, 64, "%s", ev.tenant);
    snprintf(name, 64, "%s", ev.subject);
    *is_hall = !strcmp(ev.type, FOFAL_TELEMETRY_HALL_TYPE);
    if (*is_hall || !strcmp(ev.type, FOFAL_TELEMETRY_LOOM_TYPE)) rc = apply_json(m, tenant, name, *is_hall, ev.data, out);
  }
  fofal_event_clear(&ev);
  return rc;
}

/* ------------------------------------------------------------ snapshots */

json_t *fofal_machines_snapshot(fofal_machines_t *m, const char *tenant, const char *name, int is_hall) {
  char key[160];
  snprintf(key, sizeof key, "%s/%s%s", tenant, is_hall ? "hall:" : "", name);
  loom_t *l = fofal_map_get(m->looms, key);
  if (!l) return NULL;
  json_t *ids = json_array(), *idts = json_array(), *sus = json_array(), *sts = json_array();
  for (int i = 0; i < l->nids; i++) {
    json_array_append_new(ids, json_string(l->ids[i]));
    json_array_append_new(idts, json_integer(l->id_ts[i]));
  }
  for (int i = 0; i < NCAUSE; i++) {
    json_array_append_new(sus, json_integer(l->stop_us[i]));
    json_array_append_new(sts, json_integer(l->stops[i]));
  }
  return json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:f,s:i,s:i,s:I,s:b,s:i,s:i,s:i,s:I,s:s,s:I,s:I,s:I,s:I,s:o,s:o,s:I,"
                   "s:I,s:I,s:I,s:o,s:o,s:i}",
                   "tenant", l->tenant, "name", l->name, "hall", l->is_hall, "seq", (json_int_t)l->seq, "last_us",
                   (json_int_t)l->last_us, "last_picks", (json_int_t)l->last_picks, "last_ppm", l->last_ppm, "state", l->state, "cause", l->cause, "since", (json_int_t)l->since_us, "breakdown",
                   l->breakdown, "pend_state", l->pend_state, "pend_cause", l->pend_cause, "pend_n", l->pend_n,
                   "pend_since", (json_int_t)l->pend_since, "shift", l->shift, "t_from", (json_int_t)l->t_from, "t_shift_start", (json_int_t)l->t_shift_start,
                   "t_shift_end", (json_int_t)l->t_shift_end, "run_us", (json_int_t)l->run_us, "stop_us", sus, "stops",
                   sts, "picks", (json_int_t)l->picks, "samples", (json_int_t)l->samples, "late", (json_int_t)l->late,
                   "dups", (json_int_t)l->dups, "ids", ids, "id_ts", idts, "ids_head",
                   l->ids_head);
}

static long long geti(const json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }

static int restore_setting(fofal_machines_t *m, const json_t *s);

int fofal_machines_restore(fofal_machines_t *m, const json_t *s) {
  if (json_object_get(s, "setting")) return restore_setting(m, s);
  const char *tenant = json_string_value(json_object_get(s, "tenant")), *name = json_string_value(json_object_get(s, "name"));
  if (!tenant || !name || strlen(tenant) >= 64 || strlen(name) >= 64) return FOFAL_EINVAL;
  loom_t *l = get(m, tenant, name, json_is_true(json_object_get(s, "hall")));
  l->seq = geti(s, "seq");
  l->last_us = geti(s, "last_us");
  l->last_picks = geti(s, "last_picks");
  l->last_ppm = json_number_value(json_object_get(s, "last_ppm"));
  l->state = (int)geti(s, "state");
  l->cause = (int)geti(s, "cause") % NCAUSE;
  l->since_us = geti(s, "since");
  l->breakdown = json_is_true(json_object_get(s, "breakdown"));
  l->pend_state = (int)geti(s, "pend_state");
  l->pend_cause = (int)geti(s, "pend_cause") % NCAUSE;
  l->pend_n = (int)geti(s, "pend_n");
  l->pend_since = geti(s, "pend_since");
  snprintf(l->shift, sizeof l->shift, "%s", json_string_value(json_object_get(s, "shift")) ? json_string_value(json_object_get(s, "shift")) : "");
  l->t_from = geti(s, "t_from");
  l->t_shift_start = geti(s, "t_shift_start");
  l->t_shift_end = geti(s, "t_shift_end");
  l->shift_gen = 0; /* found again under the tenant's model at the next tally */
  l->run_us = geti(s, "run_us");
  for (int i = 0; i < NCAUSE; i++) {
    l->stop_us[i] = (int64_t)json_integer_value(json_array_get(json_object_get(s, "stop_us"), (size_t)i));
    l->stops[i] = (long long)json_integer_value(json_array_get(json_object_get(s, "stops"), (size_t)i));
  }
  l->picks = geti(s, "picks");
  l->samples = geti(s, "samples");
  l->late = geti(s, "late");
  l->dups = geti(s, "dups");
  json_t *ids = json_object_get(s, "ids"), *idts = json_object_get(s, "id_ts");
  l->nids = 0;
  for (size_t i = 0; i < json_array_size(ids) && i < FOFAL_MACHINES_RECENT; i++) {
    snprintf(l->ids[i], sizeof l->ids[i], "%s", json_string_value(json_array_get(ids, i)) ? json_string_value(json_array_get(ids, i)) : "");
    l->id_ts[i] = (int64_t)json_integer_value(json_array_get(idts, i));
    l->nids++;
  }
  l->ids_head = (int)geti(s, "ids_head");
  if (l->ids_head < 0 || l->ids_head >= FOFAL_MACHINES_RECENT) l->ids_head = 0;
  return 0;
}

/* ------------------------------------------------- settings from hr and production */

#define SETTING_MODEL "~shift_model"
#define SETTING_PPM "~ppm:"

static int name_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > 63) return 0;
  for (size_t i = 0; i < n; i++)
    if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", s[i])) return 0;
  return 1;
}

int fofal_machines_setting_record(fofal_machines_t *m, const char *value, size_t len, char key[160]) {
  static const char reg[] = "fofal.production.loom_registered.v1", model[] = "fofal.hr.shift_model_";
  /* Most hr and production events are neither: a look at the bytes spares decoding them. */
  if (!value || (!memmem(value, len, reg, sizeof reg - 1) && !memmem(value, len, model, sizeof model - 1))) return 0;
  fofal_event_t ev;
  char err[256];
  if (fofal_event_decode(&ev, value, len, err, sizeof err)) return 0;
  int rc = 0;
  const char *loom = json_string_value(json_object_get(ev.data, "loom"));
  if (!ev.type || !name_ok(ev.tenant)) {
    /* not ours */
  } else if (!strcmp(ev.type, reg) && name_ok(loom)) {
    fofal_machines_set_nominal_ppm(m, ev.tenant, loom, json_number_value(json_object_get(ev.data, "nominal_ppm")));
    snprintf(key, 160, "%s/" SETTING_PPM "%s", ev.tenant, loom);
    rc = 1;
  } else if (!strncmp(ev.type, model, sizeof model - 1) && json_is_array(json_object_get(ev.data, "shifts"))) {
    /* shift_model_defined replaces the model; shift_model_redefined adds a version from
     * its effective day on, as the decider's state does */
    tenant_t *t = fofal_map_get(m->tenants, ev.tenant);
    json_t *next = fofal_shift_model_next(t ? t->model : NULL, ev.data, strstr(ev.type, "_redefined.") != NULL);
    fofal_machines_set_shift_model(m, ev.tenant, next);
    json_decref(next);
    snprintf(key, 160, "%s/" SETTING_MODEL, ev.tenant);
    rc = 1;
  }
  fofal_event_clear(&ev);
  return rc;
}

json_t *fofal_machines_setting_snapshot(fofal_machines_t *m, const char *key, const char *by) {
  const char *slash = strchr(key, '/');
  char tenant[64];
  if (!slash || slash - key >= 64) return NULL;
  snprintf(tenant, sizeof tenant, "%.*s", (int)(slash - key), key);
  if (!strcmp(slash + 1, SETTING_MODEL)) {
    const tenant_t *t = fofal_map_get(m->tenants, tenant);
    if (!t) return NULL;
    return json_pack("{s:s,s:s,s:O?,s:s}", "setting", "shift_model", "tenant", tenant, "model", t->model, "by", by);
  }
  if (!strncmp(slash + 1, SETTING_PPM, sizeof SETTING_PPM - 1)) {
    char k[160];
    const char *loom = slash + sizeof SETTING_PPM;
    snprintf(k, sizeof k, "%s/%s", tenant, loom);
    const double *ppm = fofal_map_get(m->nominal, k);
    if (!ppm) return NULL;
    return json_pack("{s:s,s:s,s:s,s:f,s:s}", "setting", "nominal_ppm", "tenant", tenant, "loom", loom, "nominal_ppm", *ppm,
                     "by", by);
  }
  return NULL;
}

static int restore_setting(fofal_machines_t *m, const json_t *s) {
  const char *setting = json_string_value(json_object_get(s, "setting"));
  const char *tenant = json_string_value(json_object_get(s, "tenant"));
  if (!setting || !name_ok(tenant)) return FOFAL_EINVAL;
  if (!strcmp(setting, "shift_model")) {
    fofal_machines_set_shift_model(m, tenant, json_object_get(s, "model"));
    return 0;
  }
  const char *loom = json_string_value(json_object_get(s, "loom"));
  if (!strcmp(setting, "nominal_ppm") && name_ok(loom)) {
    fofal_machines_set_nominal_ppm(m, tenant, loom, json_number_value(json_object_get(s, "nominal_ppm")));
    return 0;
  }
  return FOFAL_EINVAL;
}
