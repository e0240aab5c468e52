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
 *      time, or stop time under its cause), split at shift boundaries; a gap longer than
 *      gap_s is not credited (nobody knows what the loom did). Picks are the counter's
 *      increase (a counter that went down was reset: its new value counts).
 *   4. Hysteresis: a different state becomes the confirmed one only once it was seen in
 *      confirm_samples consecutive samples or for hysteresis_ms of sample time; a single
 *      odd sample is a glitch. The flip is dated at its first sample, and the time since
 *      then moves to the new state.
 *   5. Breakdown: a stop whose cause is mechanical or electrical, or a stop longer than
 *      breakdown_after_s, is a breakdown: once per stop, an event and a command
 *      production.intervention.request whose id is a name-based UUID of
 *      tenant/loom/stop start — reprocessing yields the same id, which the decider dedups.
 *   6. Tallies: the interval's counters are emitted (loom_activity) at each flip, shift
 *      boundary and every tally_s of sample time; the projection adds them up per shift.
 *
 * Everything is a function of the samples (no clock), so reprocessing gives the same
 * events. Not thread-safe: one fofal-machines worker owns a map.
 */
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
  double last_ppm, nominal_ppm;
  int state, cause;          /* confirmed */
  int64_t since_us;
  int breakdown;
  int pend_state, pend_cause, pend_n;
  int64_t pend_since;
  /* tally of the current interval */
  char shift[24];
  int64_t t_from, t_shift_end;
  int64_t run_us, stop_us[NCAUSE];
  long long stops[NCAUSE], picks, samples, late, dups;
  double theo_picks;
  /* recent msg_ids, a ring */
  char ids[FOFAL_MACHINES_RECENT][64];
  int64_t id_ts[FOFAL_MACHINES_RECENT];
  int nids, ids_head;
} loom_t;

struct fofal_machines {
  fofal_machines_cfg_t cfg;
  fofal_map_t *looms; /* "tenant/loom" or "tenant/hall:H" → loom_t */
};

fofal_machines_t *fofal_machines_new(const fofal_machines_cfg_t *cfg) {
  fofal_machines_t *m = fofal_calloc(1, sizeof *m);
  m->cfg = *cfg;
  m->looms = fofal_map_new(free);
  return m;
}

void fofal_machines_free(fofal_machines_t *m) {
  if (!m) return;
  fofal_map_free(m->looms);
  free(m);
}

void fofal_machines_clear(fofal_machines_t *m) {
  fofal_map_free(m->looms);
  m->looms = fofal_map_new(free);
}

static int cause_of(const char *s) {
  for (int i = 0; s && i < NCAUSE; i++)
    if (!strcmp(fofal_stop_causes[i], s)) return i;
  return 4; /* other */
}

static int is_fault(int cause) { return cause == 2 || cause == 3; }

/* ------------------------------------------------------------ shifts */

int fofal_shift_of(int64_t us, int utc_offset_min, char out[24], int64_t *start_us, int64_t *end_us) {
  /* 3×8: A 06–14, B 14–22, C 22–06 local; C belongs to the day it starts. */
  const int64_t day = 86400LL * 1000000, hour = 3600LL * 1000000;
  int64_t local = us + (int64_t)utc_offset_min * 60 * 1000000;
  int64_t shifted = local - 6 * hour; /* days now start at 06:00 */
  int64_t d = shifted >= 0 ? shifted / day : -((-shifted + day - 1) / day);
  int64_t within = shifted - d * day;
  int k = (int)(within / (8 * hour));
  time_t secs = (time_t)(d * 86400);
  struct tm tm;
  gmtime_r(&secs, &tm);
  snprintf(out, 24, "%04d-%02d-%02d/%c", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 'A' + k);
  int64_t start_local = d * day + 6 * hour + k * 8 * hour;
  int64_t start = start_local - (int64_t)utc_offset_min * 60 * 1000000;
  if (start_us) *start_us = start;
  if (end_us) *end_us = start + 8 * hour;
  return 0;
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
  int64_t start;
  fofal_shift_of(at, m->cfg.shift_utc_offset_min, l->shift, &start, &l->t_shift_end);
  l->t_from = at;
  l->run_us = 0;
  l->picks = l->samples = l->late = l->dups = 0;
  l->theo_picks = 0;
  for (int i = 0; i < NCAUSE; i++) l->stop_us[i] = l->stops[i] = 0;
}

static void tally_emit(fofal_machines_t *m, loom_t *l, int64_t to, json_t *out) {
  char from[32], t[32];
  fofal_time_format(l->t_from, from);
  fofal_time_format(to, t);
  json_t *stop_s = json_object(), *stops = json_object();
  double total_stop = 0;
  for (int i = 0; i < NCAUSE; i++) {
    json_object_set_new(stop_s, fofal_stop_causes[i], json_real(round((double)l->stop_us[i] / 1e3) / 1e3));
    json_object_set_new(stops, fofal_stop_causes[i], json_integer(l->stops[i]));
    total_stop += (double)l->stop_us[i];
  }
  json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:o,s:o,s:I,s:f,s:I,s:I,s:I,s:s,s:f}", "loom", l->name, "shift",
                        l->shift, "from", from, "to", t, "run_s", round((double)l->run_us / 1e3) / 1e3, "stop_s",
                        round(total_stop / 1e3) / 1e3, "stop_s_by_cause", stop_s, "stops_by_cause", stops, "picks",
                        (json_int_t)l->picks, "theoretical_picks", round(l->theo_picks), "samples",
                        (json_int_t)l->samples, "late", (json_int_t)l->late, "duplicates", (json_int_t)l->dups,
                        "state", l->state == ST_RUNNING ? "running" : l->state == ST_STOPPED ? "stopped" : "unknown",
                        "ppm", l->last_ppm);
  if (l->state == ST_STOPPED) json_object_set_new(d, "cause", json_string(fofal_stop_causes[l->cause]));
  emit(m, l, out, "loom_activity", to, d);
  tally_start(m, l, to);
}

/* Credits [from, to) to the confirmed state, splitting at shift boundaries. */
static void credit(fofal_machines_t *m, loom_t *l, int64_t from, int64_t to, json_t *out) {
  while (from < to) {
    int64_t end = to < l->t_shift_end ? to : l->t_shift_end;
    int64_t dt = end - from;
    if (l->state == ST_RUNNING) {
      l->run_us += dt;
      l->theo_picks += l->nominal_ppm * (double)dt / 60e6;
    } else if (l->state == ST_STOPPED) {
      l->stop_us[l->cause] += dt;
    }
    from = end;
    if (from >= l->t_shift_end) tally_emit(m, l, from, out);
  }
}

static void breakdown(fofal_machines_t *m, loom_t *l, int64_t at, const char *reason, json_t *out) {
  char name[256], id[FOFAL_UUID_LEN + 1], since[32], agg[FOFAL_UUID_LEN + 1];
  l->breakdown = 1;
  snprintf(name, sizeof name, "breakdown/%s/%s/%lld", l->tenant, l->name, (long long)l->since_us);
  fofal_uuid_named("fofal.machines", name, id);
  fofal_uuid_named(l->tenant, id, agg);
  fofal_time_format(l->since_us, since);
  char note[256];
  snprintf(note, sizeof note, "%s stopped since %s (%s): %s", l->name, since, fofal_stop_causes[l->cause], reason);
  emit(m, l, out,
       "breakdown_declared", at,
       json_pack("{s:s,s:s,s:s,s:s,s:s}", "loom", l->name, "cause", fofal_stop_causes[l->cause], "since", since, "reason", reason,
                 "command_id", id));
  json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s}}", "kind", "command", "id", id, "type",
                                       "production.intervention.request", "tenant", l->tenant, "aggregate", agg, "data",
                                       "loom", l->name, "cause", fofal_stop_causes[l->cause], "source", "telemetry", "note", note));
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
    if (dt <= (int64_t)m->cfg.gap_s * 1000000) credit(m, l, l->last_us, ts, out);
    else {
      /* Unobserved gap: not credited; the tally restarts at this sample. */
      tally_emit(m, l, l->last_us, out);
      tally_start(m, l, ts);
    }
    long long dp = picks >= l->last_picks ? picks - l->last_picks : picks;
    l->picks += dp;
  }
  l->last_us = ts;
  l->last_picks = picks;
  l->last_ppm = ppm;
  if (s == ST_RUNNING && ppm > l->nominal_ppm) l->nominal_ppm = ppm;

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
          l->theo_picks -= l->nominal_ppm * (double)dt / 60e6;
          l->stop_us[c] += dt;
        } else {
          l->stop_us[l->cause] -= dt;
          l->run_us += dt;
          l->theo_picks += l->nominal_ppm * (double)dt / 60e6;
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
  if (l->state == ST_STOPPED && !l->breakdown && ts - l->since_us >= (int64_t)m->cfg.breakdown_after_s * 1000000)
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

static int apply_values(fofal_machines_t *m, const char *tenant, const char *name, int is_hall,
                        const fofal_telemetry_values_t *v, json_t *out) {
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
  return json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:f,s:f,s:i,s:i,s:I,s:b,s:i,s:i,s:i,s:I,s:s,s:I,s:I,s:I,s:o,s:o,s:I,s:I,"
                   "s:I,s:I,s:f,s:o,s:o,s:i}",
                   "tenant", l->tenant, "name", l->name, "hall", l->is_hall, "seq", (json_int_t)l->seq, "last_us",
                   (json_int_t)l->last_us, "last_picks", (json_int_t)l->last_picks, "last_ppm", l->last_ppm, "nominal",
                   l->nominal_ppm, "state", l->state, "cause", l->cause, "since", (json_int_t)l->since_us, "breakdown",
                   l->breakdown, "pend_state", l->pend_state, "pend_cause", l->pend_cause, "pend_n", l->pend_n,
                   "pend_since", (json_int_t)l->pend_since, "shift", l->shift, "t_from", (json_int_t)l->t_from,
                   "t_shift_end", (json_int_t)l->t_shift_end, "run_us", (json_int_t)l->run_us, "stop_us", sus, "stops",
                   sts, "picks", (json_int_t)l->picks, "samples", (json_int_t)l->samples, "late", (json_int_t)l->late,
                   "dups", (json_int_t)l->dups, "theo", l->theo_picks, "ids", ids, "id_ts", idts, "ids_head",
                   l->ids_head);
}

static long long geti(const json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }

int fofal_machines_restore(fofal_machines_t *m, const json_t *s) {
  const char *tenant = json_string_value(json_object_get(s, "tenant")), *name = json_string_value(json_object_get(s, "name"));
  if (!tenant || !name) return FOFAL_EINVAL;
  loom_t *l = get(m, tenant, name, json_is_true(json_object_get(s, "hall")));
  l->seq = geti(s, "seq");
  l->last_us = geti(s, "last_us");
  l->last_picks = geti(s, "last_picks");
  l->last_ppm = json_number_value(json_object_get(s, "last_ppm"));
  l->nominal_ppm = json_number_value(json_object_get(s, "nominal"));
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
  l->t_shift_end = geti(s, "t_shift_end");
  l->run_us = geti(s, "run_us");
  for (int i = 0; i < NCAUSE; i++) {
    l->stop_us[i] = (int64_t)json_integer_value(json_array_get(json_object_get(s, "stop_us"), (size_t)i));
    l->stops[i] = (long long)json_integer_value(json_array_get(json_object_get(s, "stops"), (size_t)i));
  }
  l->picks = geti(s, "picks");
  l->samples = geti(s, "samples");
  l->late = geti(s, "late");
  l->dups = geti(s, "dups");
  l->theo_picks = json_number_value(json_object_get(s, "theo"));
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
