/*
 * ingest.h — the one header of ingest/ that other folders include: loom telemetry
 * payloads (the MQTT side) and their checks.
 *
 * MQTT topic:  fofal/<tenant>/looms/<loom>/telemetry, QoS 1.
 * Payload (JSON, at most FOFAL_TELEMETRY_MAX_BYTES):
 *   {"msg_id": "<unique per sensor message>", "ts": "<RFC 3339>",
 *    "picks": <pick counter, integer ≥ 0>, "ppm": <speed, picks per minute, 0..2000>,
 *    "state": "running" | "stopped",
 *    "stop_cause": "warp_break" | "weft_break" | "mechanical" | "electrical" | "other"   (when stopped),
 *    "temperature": <°C, -20..80, optional>, "humidity": <% RH, 0..100, optional>}
 * The JSON Schema is schemas/telemetry/loom_sample.json.
 *
 * A message may also carry several samples of its loom as a JSON array (a batch, below).
 *
 * Hall sensors: fofal/<tenant>/halls/<hall>/env, QoS 1, payload
 *   {"msg_id": "...", "ts": "<RFC 3339>", "temperature": <°C, -20..80>, "humidity": <% RH, 0..100>}
 * (at least one of the two readings); schemas/telemetry/hall_env.json. On
 * fofal.telemetry.raw it is the CloudEvent fofal.telemetry.hall_env.v1, keyed and
 * subjected by hall.
 */
#ifndef FOFAL_INGEST_H
#define FOFAL_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "events.h"

#define FOFAL_TELEMETRY_MAX_BYTES 4096
#define FOFAL_TELEMETRY_SUBSCRIPTION "fofal/+/looms/+/telemetry"
#define FOFAL_HALL_SUBSCRIPTION "fofal/+/halls/+/env"

/* A batch: one MQTT message may carry a JSON array of samples of its loom (or hall)
 * instead of one object: a loom controller that samples several times a second sends
 * them together. 1..FOFAL_TELEMETRY_BATCH_MAX elements, at most
 * FOFAL_TELEMETRY_BATCH_MAX_BYTES in all, each element a payload as above (own cap, own
 * msg_id). Each element becomes its own record on fofal.telemetry.raw, in order; a bad
 * element goes to the DLQ alone ("sample 3 of 20: ppm: 0..2000"), a bad array whole.
 * schemas/telemetry/loom_batch.json. */
#define FOFAL_TELEMETRY_BATCH_MAX 256
#define FOFAL_TELEMETRY_BATCH_MAX_BYTES 65536

/* Where one sample lies in a payload. */
typedef struct {
  size_t off, len;
} fofal_telemetry_span_t;

/* Splits a payload into its samples. Anything but an array (after white space) is one
 * sample, the whole payload, left to fofal_telemetry_check. An array gives its elements'
 * spans (spans has room for FOFAL_TELEMETRY_BATCH_MAX), in order, without checking them.
 * Returns the count (>= 1), or FOFAL_ETOOBIG / FOFAL_EPARSE (negative) with the reason in errbuf
 * for an array over the caps, empty, with an empty element, unbalanced or followed by
 * anything. */
int fofal_telemetry_split(const char *payload, size_t len, fofal_telemetry_span_t *spans, char *errbuf, size_t errlen);

/* What an MQTT topic carries. */
enum { FOFAL_TELEMETRY_LOOM = 1, FOFAL_TELEMETRY_HALL = 2 };
#define FOFAL_TELEMETRY_LOOM_TYPE "fofal.telemetry.loom_sample.v1"
#define FOFAL_TELEMETRY_HALL_TYPE "fofal.telemetry.hall_env.v1"

/* Parses an MQTT topic "fofal/<tenant>/looms/<loom>/telemetry" into tenant and loom
 * (each 1..63 chars of [A-Za-z0-9._-]). 0 or FOFAL_EINVAL. */
int fofal_telemetry_topic(const char *topic, size_t len, char tenant[64], char loom[64]);

/* Checks a payload. 0 with *data a new JSON object, or FOFAL_EPARSE / FOFAL_ETOOBIG /
 * FOFAL_EINVAL with the reason in errbuf. */
int fofal_telemetry_parse(const char *payload, size_t len, json_t **data, char *errbuf, size_t errlen);

/* The CloudEvent written to fofal.telemetry.raw for a checked sample (new string). */
char *fofal_telemetry_event(const char *tenant, const char *loom, const json_t *data);

/* Either topic: tenant, the loom or hall name, and *kind (FOFAL_TELEMETRY_LOOM or _HALL).
 * 0 or FOFAL_EINVAL. */
int fofal_telemetry_route(const char *topic, size_t len, char tenant[64], char name[64], int *kind);
/* fofal_telemetry_parse for a loom sample, or the hall payload check. Same contract. */
int fofal_telemetry_parse_kind(int kind, const char *payload, size_t len, json_t **data, char *errbuf, size_t errlen);
/* The CloudEvent for a checked loom sample or hall reading (new string). */
char *fofal_telemetry_event_kind(int kind, const char *tenant, const char *name, const json_t *data);
/* fofal-ingest's hot path: what it needs of a checked sample, without a JSON tree. */
typedef struct {
  char msg_id[64]; /* 1..63 chars of [A-Za-z0-9._-] */
  int64_t time_us; /* the sample's ts */
} fofal_telemetry_sample_t;
/* The largest CloudEvent fofal_telemetry_encode writes, with its NUL. */
#define FOFAL_TELEMETRY_EVENT_MAX (FOFAL_TELEMETRY_MAX_BYTES + 512)
/* Checks a payload of the given kind like fofal_telemetry_parse_kind (the same payloads
 * are accepted, with the same reasons for a refusal) and fills *s; builds no JSON tree for
 * the usual shape of a sample (telemetry.c says which). Same return codes. */
int fofal_telemetry_check(int kind, const char *payload, size_t len, fofal_telemetry_sample_t *s, char *errbuf,
                          size_t errlen);
/* Writes into out (outlen >= FOFAL_TELEMETRY_EVENT_MAX) the CloudEvent of a checked
 * payload: built around the payload's own bytes (len of them), with a name-based id of
 * tenant/name/msg_id (the same for a redelivered sample). Returns its length (the text is
 * NUL-terminated), or 0 if an argument is out of bounds. */
size_t fofal_telemetry_encode(int kind, const char *tenant, const char *name, const fofal_telemetry_sample_t *s,
                              const char *payload, size_t len, char *out, size_t outlen);

/* The stop causes a loom sample may give, in the order machine states count them. */
#define FOFAL_STOP_CAUSES 5
extern const char *const fofal_stop_causes[FOFAL_STOP_CAUSES];

/* A sample's values, as fofal-machines uses them. */
typedef struct {
  char msg_id[64];
  int64_t time_us;
  long long picks;   /* loom */
  double ppm;        /* loom */
  int running;       /* loom: 1 running, 0 stopped */
  const char *cause; /* loom: the stop_cause given, or NULL */
  int has_temperature, has_humidity;
  double temperature, humidity;
} fofal_telemetry_values_t;

/* Reads a record of fofal.telemetry.raw without a JSON tree when it has the shape
 * fofal_telemetry_encode writes (its attributes, a v1 type, a sample the scanner accepts):
 * 0 with *kind, tenant, subject and *v filled (v->cause points to a static string). 1 when
 * unsure: the caller decodes the record the general way (fofal_event_decode). */
int fofal_telemetry_read_event(const char *buf, size_t len, int *kind, char tenant[64], char subject[64],
                               fofal_telemetry_values_t *v);

/* ------------------------------------------------------------ the spool
 * spool.c: fofal-ingest's local spool of received messages (its file header says what it
 * guarantees). Sequence numbers start at 1. */

typedef struct fofal_spool fofal_spool_t;
typedef void (*fofal_spool_fn)(void *arg, uint64_t seq, const char *topic, size_t tlen, const char *payload,
                               size_t plen);
/* Creates dir if need be and takes it (one process at a time, else FOFAL_EIO); calls fn
 * for every record not yet in Kafka (*replayed of them, in order); opens a new segment
 * whose first record will be *next_seq. */
int fofal_spool_open(fofal_spool_t **out, const char *dir, fofal_spool_fn fn, void *arg, long long *replayed,
                     uint64_t *next_seq, char *errbuf, size_t errlen);
/* Appends a message (one write): 0, FOFAL_ETOOBIG or FOFAL_EIO. */
int fofal_spool_append(fofal_spool_t *s, uint64_t seq, const char *topic, size_t tlen, const char *payload,
                       size_t plen);
/* Puts what was appended on disk (fdatasync; appends go on meanwhile). 0 or FOFAL_EIO. */
int fofal_spool_sync(fofal_spool_t *s);
/* Records that every message up to seq is in Kafka, and removes the segments wholly at or
 * below it. 0 or FOFAL_EIO. */
int fofal_spool_done(fofal_spool_t *s, uint64_t seq);
void fofal_spool_close(fofal_spool_t *s);

/* ------------------------------------------------------------ machine states
 * machines.c: telemetry → machine-state events (the logic of fofal-machines; its file
 * header says how dedup, late samples, hysteresis, breakdowns and shift tallies work). */

#define FOFAL_MACHINES_RECENT 64  /* msg_ids remembered per loom for dedup */

typedef struct {
  int hysteresis_ms;        /* a flip is confirmed after this much sample time ... */
  int confirm_samples;      /* ... or this many consecutive samples */
  int breakdown_after_s;    /* a stop longer than this is a breakdown */
  int tally_s;              /* loom_activity at least this often (sample time) */
  int gap_s;                /* a silence longer than this is not credited */
  int registered_only;      /* a loom sample of a loom the production module never
                             * registered is refused (FOFAL_ENOENT), so made-up loom names
                             * cannot grow the map (issue 22) */
} fofal_machines_cfg_t;

typedef struct fofal_machines fofal_machines_t;
fofal_machines_t *fofal_machines_new(const fofal_machines_cfg_t *cfg);
void fofal_machines_free(fofal_machines_t *m);
/* Forgets every loom, hall and tenant setting (before restoring snapshots). */
void fofal_machines_clear(fofal_machines_t *m);
/* Feeds one checked loom sample (the data of a fofal.telemetry.loom_sample.v1). Appends to
 * `out` the events it causes: {"kind":"event","type","tenant","subject","seq","time","data"}
 * objects. 0 or FOFAL_EINVAL. */
int fofal_machines_sample(fofal_machines_t *m, const char *tenant, const char *loom, const json_t *data, json_t *out);
/* The same for a hall reading (fofal.telemetry.hall_env.v1 data). */
int fofal_machines_hall(fofal_machines_t *m, const char *tenant, const char *hall, const json_t *data, json_t *out);
/* Both from the values of a sample (fofal_telemetry_read_event); always 0. */
int fofal_machines_sample_values(fofal_machines_t *m, const char *tenant, const char *loom,
                                 const fofal_telemetry_values_t *v, json_t *out);
int fofal_machines_hall_values(fofal_machines_t *m, const char *tenant, const char *hall,
                               const fofal_telemetry_values_t *v, json_t *out);
/* Feeds one record of fofal.telemetry.raw (a telemetry CloudEvent, len bytes): decodes it
 * and applies it as fofal_machines_sample or _hall. Fills tenant, name and *is_hall for the
 * caller's bookkeeping. 0, or FOFAL_EPARSE / FOFAL_EINVAL for a record that is not a
 * telemetry event, or FOFAL_ENOENT (cfg.registered_only) for a sample of a loom that was
 * never registered (then nothing changed). */
int fofal_machines_record(fofal_machines_t *m, const char *value, size_t len, json_t *out, char tenant[64],
                          char name[64], int *is_hall);
/* A loom's (or hall's) whole state as JSON (new), or NULL if unknown; and back.
 * fofal_machines_restore also takes the records of fofal_machines_setting_snapshot. */
json_t *fofal_machines_snapshot(fofal_machines_t *m, const char *tenant, const char *name, int is_hall);
int fofal_machines_restore(fofal_machines_t *m, const json_t *snapshot);

/* What the tallies need from the hr and production modules, per tenant: its shift model
 * (the data of hr's shift_model_defined; NULL or never set: the built-in 3×8 of
 * fofal_shift_at) and each loom's registered nominal speed (loom_registered's nominal_ppm;
 * 0 or never set: unknown, and the tallies carry no theoretical picks). Borrowed model,
 * copied. */
void fofal_machines_set_shift_model(fofal_machines_t *m, const char *tenant, const json_t *model);
void fofal_machines_set_nominal_ppm(fofal_machines_t *m, const char *tenant, const char *loom, double ppm);
/* Feeds one record of fofal.hr.events or fofal.production.events (len bytes). When it
 * sets a tenant's shift model (hr's) or a loom's nominal speed (production's): 1, with the key of the setting's record on
 * fofal.machines.state into key ("<tenant>/~shift_model", "<tenant>/~ppm:<loom>"). 0 for
 * any other record (nothing changed). */
int fofal_machines_setting_record(fofal_machines_t *m, const char *value, size_t len, char key[160]);
/* The record of a setting by its key (new), or NULL if unknown: {"setting":..., "tenant",
 * "by"...}; `by` names the writer (fofal-machines' instance) so that a reader can skip its
 * own records. */
json_t *fofal_machines_setting_snapshot(fofal_machines_t *m, const char *key, const char *by);

/* ------------------------------------------------------------ broker authentication
 * broker_auth.c: Mosquitto's password and ACL files from the identity module's gateway
 * events (the logic of fofal-mqtt-auth; its file header says what the files allow). */

typedef struct fofal_broker_auth fofal_broker_auth_t;
fofal_broker_auth_t *fofal_broker_auth_new(void);
void fofal_broker_auth_free(fofal_broker_auth_t *a); /* NULL: no-op */
/* Feeds one record of fofal.identity.events (len bytes): 1 when it enrolled or revoked a
 * gateway (the files change), 0 for anything else. */
int fofal_broker_auth_record(fofal_broker_auth_t *a, const char *value, size_t len);
/* Gateways enrolled and not revoked. */
size_t fofal_broker_auth_count(const fofal_broker_auth_t *a);
/* The password_file / acl_file text (new, free()): `base` (borrowed, may be NULL: the
 * static users) first, then one entry per gateway. */
char *fofal_broker_auth_passwd(const fofal_broker_auth_t *a, const char *base);
char *fofal_broker_auth_acl(const fofal_broker_auth_t *a, const char *base);

#endif
