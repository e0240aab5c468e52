/*
 * events.h — the platform every FOFAL process stands on: the one error list, the
 * allocation wrapper, structured logging, the settings table, UUID v7 and time
 * stamps, the CloudEvents envelope, topic names, and the Kafka adapter.
 *
 * This is the only header of events/ that other folders include. Everything here is
 * thread-safe unless a declaration says otherwise. Library functions never log: they
 * return a negative FOFAL_E* code and, where a caller passes one, write the detail
 * into an `errbuf`.
 */
#ifndef FOFAL_EVENTS_H
#define FOFAL_EVENTS_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* ---------------------------------------------------------------- errors */

/* X(name, message). Codes are the negated position in this list. */
#define FOFAL_ERRNO_MAP(X)                                                   \
  X(EINVAL, "invalid argument")                                              \
  X(ENOENT, "not found")                                                     \
  X(EEXIST, "already exists")                                                \
  X(ECONFLICT, "version conflict")                                           \
  X(EREJECTED, "rejected by a business rule")                                \
  X(ETOOBIG, "too large")                                                    \
  X(ETOODEEP, "nested too deeply")                                           \
  X(EPARSE, "malformed input")                                               \
  X(ESCHEMA, "does not match its schema")                                    \
  X(EIO, "input/output error")                                               \
  X(ETIMEDOUT, "timed out")                                                  \
  X(EUNAVAIL, "a dependency is unavailable")                                 \
  X(EKAFKA, "Kafka error")                                                   \
  X(EFENCED, "fenced by a newer instance")                                   \
  X(EABORT, "transaction must be aborted and retried")                       \
  X(EPG, "PostgreSQL error")                                                 \
  X(EREDIS, "Redis error")                                                   \
  X(ECONFIG, "invalid configuration")                                        \
  X(EFORBIDDEN, "forbidden")                                                 \
  X(EAUTH, "not authenticated")

enum {
  FOFAL_OK = 0,
  FOFAL__ERR_BASE = 0,
#define X(name, msg) FOFAL__IDX_##name,
  FOFAL_ERRNO_MAP(X)
#undef X
};
#define X(name, msg) FOFAL_##name = -FOFAL__IDX_##name,
enum { FOFAL_ERRNO_MAP(X) };
#undef X

/* A static string for `err` (0 or a FOFAL_E* code); never NULL. */
const char *fofal_strerror(int err);
/* The symbolic name, e.g. "ECONFLICT"; never NULL. */
const char *fofal_err_name(int err);

/* ------------------------------------------------------------ allocation */

/* Each aborts the process on out-of-memory: callers never check for NULL. */
void *fofal_malloc(size_t n);
void *fofal_calloc(size_t n, size_t size);
void *fofal_realloc(void *p, size_t n);
char *fofal_strdup(const char *s);           /* NULL in, NULL out */
char *fofal_strndup(const char *s, size_t n);
/* A new string formatted like printf; caller frees. */
char *fofal_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------------ JSON text (json.c) */

/* json_dumps(j, flags) with every real printed the shortest way that reads back to the
 * same double (0.85, not 0.84999999999999998). Every JSON that leaves a process (HTTP
 * bodies, events, pushes, rows) is written with it. New string (free()), NULL when j is
 * NULL or jansson refused it. */
char *fofal_json_dumps(const json_t *j, size_t flags);
/* The shortest text of v that strtod reads back as v, with a '.' or an exponent (as JSON
 * reals are written). Its length. */
int fofal_json_real_format(double v, char out[32]);
/* The characters (code points) of `len` bytes of UTF-8; an invalid byte counts as one. */
size_t fofal_utf8_chars(const char *s, size_t len);
/* A copy of s with each byte that is not part of valid UTF-8 replaced by U+FFFD, so that
 * text echoed from a request can always go into JSON. New string; NULL in, NULL out. */
char *fofal_utf8_scrub(const char *s);
/* Appends s as a JSON string, quoted and escaped as jansson writes it (compact, UTF-8 kept,
 * '/' kept, other control characters as \u00XX), to the text *buf of length *len and room
 * *cap (grown as needed). FOFAL_EINVAL, and nothing appended, when s is not valid UTF-8. */
int fofal_json_quote(char **buf, size_t *len, size_t *cap, const char *s);
/* Appends s to the text *buf of length *len and room *cap (grown as needed; *buf may start
 * NULL with *cap 0). */
void fofal_text_append(char **buf, size_t *len, size_t *cap, const char *s);

/* Bounded snprintf into errbuf (NULL or 0-length errbuf is allowed); returns `err`. */
int fofal_err(char *errbuf, size_t errlen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---------------------------------------------------------------- logging */

typedef enum { FOFAL_LOG_DEBUG, FOFAL_LOG_INFO, FOFAL_LOG_WARN, FOFAL_LOG_ERROR } fofal_log_level_t;
extern fofal_log_level_t fofal_log_min;
/* One JSON line on stderr: {"ts":…,"level":…,"proc":…,"msg":…}. Call through FOFAL_LOG,
 * which checks the level before anything is formatted. Never pass secrets. */
void fofal_log_write(fofal_log_level_t lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fofal_log_init(const char *proc, const char *level /* NULL = info */);
#define FOFAL_LOG(lvl, ...)                                                  \
  do {                                                                       \
    if ((lvl) >= fofal_log_min) fofal_log_write((lvl), __VA_ARGS__);         \
  } while (0)
#define LOG_DEBUG(...) FOFAL_LOG(FOFAL_LOG_DEBUG, __VA_ARGS__)
#define LOG_INFO(...) FOFAL_LOG(FOFAL_LOG_INFO, __VA_ARGS__)
#define LOG_WARN(...) FOFAL_LOG(FOFAL_LOG_WARN, __VA_ARGS__)
#define LOG_ERROR(...) FOFAL_LOG(FOFAL_LOG_ERROR, __VA_ARGS__)

/* --------------------------------------------------------------- settings */

/* One table per process: every setting with its type, bounds, default and doc. Values come,
 * in rising priority, from the defaults, a KEY=VALUE file (--config FILE or
 * $FOFAL_CONFIG), and the environment (the KEY itself, e.g. FOFAL_KAFKA_BROKERS). */
typedef enum { FOFAL_SET_STR, FOFAL_SET_INT, FOFAL_SET_BOOL } fofal_setting_type_t;
typedef struct {
  const char *key;          /* e.g. "FOFAL_HTTP_PORT" */
  fofal_setting_type_t type;
  const char *dflt;         /* textual default; NULL = required for STR, "" allowed */
  long long min, max;       /* bounds for INT */
  const char *doc;
  void *value;              /* char ** (new, freed by fofal_settings_free), long long *, or int * */
} fofal_setting_t;

/* Loads the table. Handles --help (prints usage + the table, returns 1), --config FILE and
 * `--key=value` for any key in lower-case-with-dashes without its FOFAL_ prefix
 * (FOFAL_HTTP_PORT ↔ --http-port). Returns 0, 1 for "help printed, exit 0", or
 * FOFAL_ECONFIG with the reason in errbuf. */
int fofal_settings_load(fofal_setting_t *tab, size_t n, int argc, char **argv, const char *usage,
                        char *errbuf, size_t errlen);
void fofal_settings_free(fofal_setting_t *tab, size_t n);

/* Stop flags. A flag that one thread (or a signal handler) sets and another watches is an
 * atomic_int, never a volatile int: volatile orders nothing between threads. A stop flag
 * publishes nothing but itself, so relaxed order is enough for both sides; whatever the
 * stopper wrote before stopping reaches the watcher through pthread_join or a mutex, not
 * through the flag. The handlers of SIGINT/SIGTERM store to fofal_stop: that is
 * async-signal-safe only because atomic_int is lock-free here, which the build asserts. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "stop flags are set from signal handlers: atomic_int must be lock-free");
/* Non-zero once `stop` (may be NULL: never) was set. */
static inline int fofal_stopped(const atomic_int *stop) {
  return stop && atomic_load_explicit(stop, memory_order_relaxed);
}
/* Sets `stop`; async-signal-safe. */
static inline void fofal_stop_set(atomic_int *stop) { atomic_store_explicit(stop, 1, memory_order_relaxed); }

/* Set to 1 by SIGINT or SIGTERM once fofal_process_start() ran; long loops watch it. */
extern atomic_int fofal_stop;
/* The start of every process's main(): loads the settings table (handling --help), starts
 * logging as `proc` at the level *log_level holds, makes SIGINT/SIGTERM set fofal_stop and
 * ignores SIGPIPE. Returns -1 to go on, or the status main() should return now: 0 after
 * --help, 2 after a settings error (already reported on stderr). */
int fofal_process_start(const char *proc, fofal_setting_t *tab, size_t n, int argc, char **argv, const char *usage,
                        char *const *log_level);

/* --------------------------------------------------------- ids and time */

#define FOFAL_UUID_LEN 36
/* A new UUID v7 (RFC 9562: 48-bit ms time, random rest) as lower-case text in out[37]. */
void fofal_uuid7(char out[FOFAL_UUID_LEN + 1]);
/* A name-based UUID (version 8): the same (ns, name) always gives the same id. Used where a
 * decision must be repeatable, e.g. a label id derived from its command id. out[37]. */
void fofal_uuid_named(const char *ns, const char *name, char out[FOFAL_UUID_LEN + 1]);
/* 1 if `s` is a canonical UUID text (any version), else 0. */
int fofal_uuid_valid(const char *s);
/* Wall clock in microseconds since the epoch. */
int64_t fofal_now_us(void);
/* Monotonic clock in microseconds. */
int64_t fofal_mono_us(void);
/* Gathering a batch of Kafka records (the decider, the reactor, the projector, fofal-machines).
 * A batch closes when nothing follows within FOFAL_BATCH_GAP_MS of the last record, or
 * FOFAL_BATCH_MAX_WAIT_MS after its first: under load records keep coming and batches stay
 * large, while a lone record (a breakdown's sample) is not held back waiting for company. */
#define FOFAL_BATCH_GAP_MS 2
#define FOFAL_BATCH_MAX_WAIT_MS 20
/* While a batch is empty, how long one consume waits before its loop looks at its stop flag. */
#define FOFAL_BATCH_IDLE_MS 100
/* How long the next consume of a batch may wait, in ms. `deadline_us` (fofal_mono_us) is 0
 * while the batch is empty: FOFAL_BATCH_IDLE_MS. Otherwise what is left until the deadline,
 * at most gap_ms (<= 0: no cap), and 0 once the deadline has passed: close the batch. */
int fofal_batch_wait_ms(int64_t deadline_us, int gap_ms);
/* RFC 3339 UTC with microseconds, e.g. 2026-11-24T08:15:02.123456Z, into out[32]. */
void fofal_time_format(int64_t us, char out[32]);
/* Parses RFC 3339 (any offset, optional fraction); 0 or FOFAL_EPARSE. */
int fofal_time_parse(const char *s, int64_t *us);

/* ---------------------------------------------------------------- envelope */

#define FOFAL_EVENT_MAX_BYTES (256 * 1024)

/* A CloudEvents 1.0 event as FOFAL writes it (DESIGN.md "Event envelope"). Strings are
 * owned by the struct (fofal_event_clear frees them); `data` is a new reference. */
typedef struct {
  char *id;             /* UUID v7 */
  char *source;         /* "/fofal/<module>" */
  char *type;           /* "fofal.<module>.<name>.v<N>" */
  char *subject;        /* aggregate id */
  int64_t time_us;
  char *tenant;
  int64_t seq;          /* aggregate version after this event */
  char *actor;
  char *command_id;
  char *correlation_id;
  json_t *data;
} fofal_event_t;

void fofal_event_clear(fofal_event_t *ev);
/* Serialises to structured-mode JSON (a new string, caller frees). */
char *fofal_event_encode(const fofal_event_t *ev);
/* Parses structured-mode JSON of at most FOFAL_EVENT_MAX_BYTES into *ev (cleared first),
 * upcasting known older versions of the type. 0, FOFAL_EPARSE, FOFAL_ETOOBIG or
 * FOFAL_EINVAL (a required attribute missing or of the wrong type), detail in errbuf. */
int fofal_event_decode(fofal_event_t *ev, const char *buf, size_t len, char *errbuf, size_t errlen);
/* The module of an event type: "fofal.production.order_created.v1" → "production" into
 * out. 0 or FOFAL_EINVAL. */
int fofal_event_type_module(const char *type, char *out, size_t outlen);

/* An upcaster turns version `from` of `type_base` ("fofal.production.order_created") into
 * version from+1, editing *data in place (borrowed; may be replaced: the old reference is
 * stolen, the new one returned in *data). Registered once at start-up, before threads. */
typedef int (*fofal_upcaster_fn)(json_t **data);
void fofal_upcaster_register(const char *type_base, int from, fofal_upcaster_fn fn);

/* ------------------------------------------------ personal data (crypto.c)
 * Field-level encryption of personal data in events with per-person keys wrapped under a
 * master key; erasing a person's key erases their fields everywhere (crypto-shredding).
 * See crypto.c for the format. */
#define FOFAL_PD_KEY_BYTES 32
#define FOFAL_PD_ERASED "erased"
/* Initialises libsodium once, before threads. 0 or FOFAL_EIO. */
int fofal_pd_init(void);
/* The master key from 64 hex characters. 0 or FOFAL_EINVAL. */
int fofal_pd_master_parse(const char *hex, unsigned char master[FOFAL_PD_KEY_BYTES]);
/* A new random data key for (tenant, person), wrapped under master: base64url text (new),
 * what identity_keys.person_keys stores. */
char *fofal_pd_key_new(const unsigned char master[FOFAL_PD_KEY_BYTES], const char *tenant, const char *person);
/* Unwraps a stored key of (tenant, person) into key. 0 or FOFAL_EINVAL (wrong master,
 * tampered, or the wrapped key of another person). */
int fofal_pd_key_unwrap(const unsigned char master[FOFAL_PD_KEY_BYTES], const char *tenant, const char *person,
                        const char *wrapped, unsigned char key[FOFAL_PD_KEY_BYTES]);
/* Seals the JSON `value` (borrowed) of `field` for person: a new {"$enc","p","ct"} object. */
json_t *fofal_pd_seal(const unsigned char key[FOFAL_PD_KEY_BYTES], const char *tenant, const char *person,
                      const char *field, const json_t *value);
/* 1 if v is a sealed value. */
int fofal_pd_is_sealed(const json_t *v);
/* Opens a sealed value of `field` (new reference): the plain value, the string "erased"
 * when key is NULL (the person's key was deleted), or NULL when it does not open (wrong
 * key, tenant, person or field; tampered). */
json_t *fofal_pd_open(const unsigned char *key, const char *tenant, const char *field, const json_t *sealed);
/* The data key of a person: 0 and key, or FOFAL_ENOENT once erased. */
typedef int (*fofal_pd_key_fn)(void *opaque, const char *person, unsigned char key[FOFAL_PD_KEY_BYTES]);
/* Replaces every sealed top-level field of the object `data` (borrowed, edited) by its
 * plain value, or "erased". Returns how many were opened, or FOFAL_EINVAL. */
int fofal_pd_open_all(json_t *data, const char *tenant, fofal_pd_key_fn key_of, void *opaque);

/* A secret kept at rest in PostgreSQL (a TOTP secret), sealed under the master key with
 * associated data "<purpose>\n<tenant>\n<id>": FOFAL_PD_SECRET_PREFIX "<base64url>" (new). Open gives the
 * plain secret (new; wipe and free it), a value stored before sealing as it is, or NULL
 * when it does not open (another key, another row). */
#define FOFAL_PD_SECRET_PREFIX "pd1."
char *fofal_pd_secret_seal(const unsigned char master[FOFAL_PD_KEY_BYTES], const char *purpose, const char *tenant,
                           const char *id, const char *plain);
char *fofal_pd_secret_open(const unsigned char master[FOFAL_PD_KEY_BYTES], const char *purpose, const char *tenant,
                           const char *id, const char *stored);

/* The fingerprint of a request that may hold personal data in clear (the idempotency
 * check stores it with the command's result, kept in Kafka): BLAKE2b-256 of `text` keyed
 * with a key derived from master, as hex. It tells equal texts apart from different ones
 * and, without the master key, reveals nothing of them (no guessing a phone number from
 * its hash). out[FOFAL_PD_FINGERPRINT_LEN + 1]. */
#define FOFAL_PD_FINGERPRINT_LEN 64
void fofal_pd_fingerprint(const unsigned char master[FOFAL_PD_KEY_BYTES], const char *text,
                          char out[FOFAL_PD_FINGERPRINT_LEN + 1]);

/* ------------------------------------------------------------- topics */

#define FOFAL_TOPIC_COMMANDS "fofal.commands"
#define FOFAL_TOPIC_RESULTS "fofal.commands.results"
#define FOFAL_TOPIC_STATE "fofal.decider.state"
#define FOFAL_TOPIC_COMMANDS_DLQ "fofal.commands.dlq"
#define FOFAL_TOPIC_TELEMETRY "fofal.telemetry.raw"
#define FOFAL_TOPIC_TELEMETRY_DLQ "fofal.telemetry.raw.dlq"
/* fofal-machines' per-loom state (compacted), written in its transactions. */
#define FOFAL_TOPIC_MACHINES_STATE "fofal.machines.state"
/* What a reaction between modules could not carry out (commands.h, "reactions"): kept like
 * events (retention.ms=-1), since each record is a trigger nobody answered yet. */
#define FOFAL_TOPIC_REACTIONS_DLQ "fofal.reactions.dlq"

/* The modules that own an event topic fofal.<module>.events, NULL-terminated, sorted by
 * name: generated by the build (<build>/modules/events.gen.c) from the module folders
 * present (commands/<m>/, projections/<m>/, api/<m>/, schemas/<m>/events/). */
extern const char *const fofal_modules[];
/* "fofal.<module>.events" into out; 0 or FOFAL_EINVAL for an unknown module. */
int fofal_topic_events(const char *module, char *out, size_t outlen);


/* ------------------------------------------------------------- Kafka adapter
 * Every librdkafka call of the project is in events/kafka.c. A fofal_kafka_t is one
 * client (producer, consumer or admin use); it is used from one thread at a time unless
 * a function says otherwise (librdkafka itself is thread-safe, our bookkeeping is not). */

typedef struct fofal_kafka fofal_kafka_t;

/* How every client of the process authenticates to Kafka (README, Security): SASL with
 * SCRAM-SHA-512 as the process's own user, over TLS when the protocol says so. Each
 * process's settings table holds these rows (FOFAL_KAFKA_SECURITY_SETTINGS), which
 * fofal_process_start() hands to fofal_kafka_security_set() (the fofal CLI calls it
 * itself); a program that never does (the tests, the benchmarks) gets them from the
 * environment, read once when it creates its first client. */
typedef struct {
  char *protocol; /* security.protocol; "": sasl_plaintext when user is set, else plaintext */
  char *user;     /* SASL/SCRAM-SHA-512 user; "": no SASL */
  char *password; /* never logged, never in an error */
  char *ssl_ca;   /* ssl.ca.location (sasl_ssl, ssl); "": the system's CAs */
  /* Not security, but shared by every client alike: fetch.wait.max.ms of a tailing consumer
   * (0: the default, 200). A consumer asking for partition EOF always waits 10 ms. */
  long long fetch_wait_ms;
} fofal_kafka_security_t;

#define FOFAL_KAFKA_SECURITY_SETTINGS(s)                                                                           \
  {"FOFAL_KAFKA_SECURITY_PROTOCOL", FOFAL_SET_STR, "", 0, 0,                                                        \
   "Kafka security.protocol: plaintext, sasl_plaintext, sasl_ssl or ssl; empty: sasl_plaintext when "              \
   "FOFAL_KAFKA_USER is set, else plaintext.",                                                                      \
   &(s).protocol},                                                                                                  \
      {"FOFAL_KAFKA_USER", FOFAL_SET_STR, "", 0, 0,                                                                 \
       "Kafka SASL/SCRAM-SHA-512 user of this process (README, Security); empty: no SASL.", &(s).user},             \
      {"FOFAL_KAFKA_PASSWORD", FOFAL_SET_STR, "", 0, 0, "Password of FOFAL_KAFKA_USER. Never logged.",             \
       &(s).password},                                                                                              \
      {"FOFAL_KAFKA_SSL_CA", FOFAL_SET_STR, "", 0, 0,                                                               \
       "PEM file of the CA of the brokers' certificates (sasl_ssl, ssl); empty: the system's CAs.", &(s).ssl_ca}, \
      {"FOFAL_KAFKA_FETCH_WAIT_MS", FOFAL_SET_INT, "200", 1, 5000,                                                 \
       "How long Kafka may hold a consumer's empty fetch (fetch.wait.max.ms). It answers as soon as there is "      \
       "data, so a longer wait costs no latency; it spares the broker the idle fetches (at 10 ms an idle stack "     \
       "kept Kafka at 0.6 cores). Readers to a topic's end keep 10 ms.",                                             \
       &(s).fetch_wait_ms}

/* Sets the security of every Kafka client created from now on (the strings are copied).
 * Call it from main before any thread creates a client. FOFAL_ECONFIG for an unknown
 * protocol or a user without a password. */
int fofal_kafka_security_set(const fofal_kafka_security_t *s, char *errbuf, size_t errlen);

typedef struct {
  const char *name;
  const char *value;
} fofal_kheader_t;

/* The Kafka headers of every CloudEvent record FOFAL writes (events, telemetry samples):
 * the Kafka protocol binding's structured mode, DESIGN.md "Event envelope". The value is
 * the JSON event and the only header is content-type: application/cloudevents+json. No
 * ce_* header: a CloudEvents SDK that finds one reads the record as binary mode, takes
 * the whole envelope for the data and loses the attributes that are only in the value.
 * Sets *headers to a static array (borrowed, never freed) and returns its length. */
#define FOFAL_EVENT_CONTENT_TYPE "application/cloudevents+json"
int fofal_event_kafka_headers(const fofal_kheader_t **headers);

/* A consumed message. Pointers are borrowed from the underlying librdkafka message and
 * valid until fofal_kafka_msg_release(). */
typedef struct {
  const char *topic;
  int32_t partition;
  int64_t offset;
  int64_t timestamp_ms;
  const char *key;
  size_t key_len;
  const char *value;
  size_t len;
  int eof;              /* 1: end of partition reached (no payload) */
  void *priv;
} fofal_kmsg_t;

/* Delivery report for one produced message: err is 0 or FOFAL_EKAFKA. Called from
 * fofal_kafka_poll()/flush() on the calling thread. */
typedef void (*fofal_kafka_dr_fn)(void *opaque, int err, int32_t partition, int64_t offset);

/* Rebalance: `assign` 1 for newly assigned partitions of `topic`, 0 for revoked ones.
 * Runs inside fofal_kafka_consume(). The adapter applies the (un)assignment itself after
 * the callback returns; the callback may call fofal_kafka_consumer_set_offsets() during an
 * assignment to choose start offsets. */
typedef void (*fofal_kafka_rebalance_fn)(void *opaque, int assign, const char *topic,
                                         const int32_t *partitions, int n);

typedef struct {
  const char *brokers;
  const char *client_id;
  const char *transactional_id;  /* producer: NULL = idempotent, non-transactional */
  int linger_ms;                 /* producer: batching delay, default 2 */
  int message_timeout_ms;        /* producer: give up delivering after this, default 30000 */
  int metadata_only;             /* producer: never produces (metadata and admin requests):
                                    not idempotent, so its user needs no right to write */
  const char *group_id;          /* consumer: NULL = manual assignment only */
  int read_committed;            /* consumer */
  int partition_eof;             /* consumer: report end of partition */
  fofal_kafka_rebalance_fn rebalance;
  void *opaque;
} fofal_kafka_opts_t;

int fofal_kafka_producer_new(fofal_kafka_t **out, const fofal_kafka_opts_t *o, char *errbuf, size_t errlen);
int fofal_kafka_consumer_new(fofal_kafka_t **out, const fofal_kafka_opts_t *o, char *errbuf, size_t errlen);
/* Closes a consumer (leaving its group) or flushes a producer for up to 5 s; NULL no-op. */
void fofal_kafka_free(fofal_kafka_t *k);
/* The client's value of a librdkafka setting (e.g. "fetch.wait.max.ms") into out: 0, or
 * FOFAL_EINVAL for an unknown name or a value longer than outlen. */
int fofal_kafka_conf_get(fofal_kafka_t *k, const char *name, char *out, size_t outlen);

/* Queues a message. partition -1 chooses by key (murmur2, as Java clients do). `headers`
 * may be NULL; all buffers are copied. FOFAL_EUNAVAIL when the local queue is full,
 * FOFAL_EKAFKA otherwise. */
int fofal_kafka_produce(fofal_kafka_t *k, const char *topic, int32_t partition, const char *key,
                        size_t key_len, const void *value, size_t len, const fofal_kheader_t *headers,
                        int n_headers, fofal_kafka_dr_fn dr, void *opaque, char *errbuf, size_t errlen);
/* Serves delivery reports; returns how many were served. Thread-safe. */
int fofal_kafka_poll(fofal_kafka_t *k, int timeout_ms);
/* Waits until every queued message is delivered or failed. 0 or FOFAL_ETIMEDOUT. */
int fofal_kafka_flush(fofal_kafka_t *k, int timeout_ms);
/* Messages produced but not yet delivered. */
int fofal_kafka_outq_len(fofal_kafka_t *k);

/* Transactions (a producer with transactional_id). Errors: FOFAL_EABORT (abort, rewind,
 * retry), FOFAL_EFENCED (fatal: another instance owns the id; exit), FOFAL_ETIMEDOUT,
 * FOFAL_EKAFKA. */
/* fofal_kafka_txn_init and fofal_kafka_txn_abort wait up to timeout_ms per try; a transient
 * failure (the coordinator not answering in time, still loading, restarting) is logged and
 * tried again with growing pauses until it succeeds, fails for good, or `stop` (may be
 * NULL: never) is set. */
int fofal_kafka_txn_init(fofal_kafka_t *k, int timeout_ms, const atomic_int *stop, char *errbuf, size_t errlen);
int fofal_kafka_txn_begin(fofal_kafka_t *k, char *errbuf, size_t errlen);
/* Adds the consumer's current positions (its group metadata) to the transaction, then
 * commits it. */
int fofal_kafka_txn_commit(fofal_kafka_t *k, fofal_kafka_t *consumer, int timeout_ms, char *errbuf,
                           size_t errlen);
int fofal_kafka_txn_abort(fofal_kafka_t *k, int timeout_ms, const atomic_int *stop, char *errbuf, size_t errlen);

int fofal_kafka_subscribe(fofal_kafka_t *k, const char *const *topics, int n, char *errbuf, size_t errlen);
/* Assigns (replacing any assignment) the given partitions of `topic` at the given offsets
 * (FOFAL_OFFSET_BEGINNING, FOFAL_OFFSET_END, FOFAL_OFFSET_STORED or an offset). */
#define FOFAL_OFFSET_BEGINNING (-2)
#define FOFAL_OFFSET_END (-1)
#define FOFAL_OFFSET_STORED (-1000)
int fofal_kafka_assign(fofal_kafka_t *k, const char *topic, const int32_t *partitions,
                       const int64_t *offsets, int n, char *errbuf, size_t errlen);
/* Inside a rebalance callback: the start offset of a newly assigned partition. */
void fofal_kafka_consumer_set_offset(fofal_kafka_t *k, int32_t partition, int64_t offset);
/* 1 and *msg filled, 0 when nothing arrived within timeout_ms, or a negative error
 * (FOFAL_EFENCED on a fatal consumer error). Release each message. */
int fofal_kafka_consume(fofal_kafka_t *k, int timeout_ms, fofal_kmsg_t *msg);
void fofal_kafka_msg_release(fofal_kmsg_t *msg);
/* Value of header `name` of msg (borrowed, NUL-terminated copy in buf) or NULL. */
const char *fofal_kafka_msg_header(const fofal_kmsg_t *msg, const char *name, char *buf, size_t buflen);
/* Seeks every assigned partition of a group consumer back to its committed offset (after an
 * aborted transaction). */
int fofal_kafka_rewind_to_committed(fofal_kafka_t *k, int timeout_ms, char *errbuf, size_t errlen);
/* Low and high watermarks of a partition (high = next offset to be written; for a
 * read_committed reader of a transactional topic the last message may be a marker). */
int fofal_kafka_watermarks(fofal_kafka_t *k, const char *topic, int32_t partition, int64_t *lo,
                           int64_t *hi, int timeout_ms, char *errbuf, size_t errlen);
/* First offset whose timestamp is >= ts_ms (or the high watermark). */
int fofal_kafka_offset_for_time(fofal_kafka_t *k, const char *topic, int32_t partition, int64_t ts_ms,
                                int64_t *offset, int timeout_ms, char *errbuf, size_t errlen);
/* The partition of a tenant's records on the command, state, result and event topics:
 * FNV-1a 32 of the tenant name modulo nparts. All of a tenant's commands are decided, and
 * all of its events are projected, in one ordered stream: rules that span aggregates (a
 * loom and its beams) see a consistent state, and one position token covers a command's
 * events. The key of every record stays the aggregate id. A mill's rate fits one partition
 * many times over; tenants spread over partitions. Partition counts are fixed once topics
 * exist (changing them would move tenants). */
int32_t fofal_tenant_partition(const char *tenant, int nparts);

/* Number of partitions of topic, or a negative error: FOFAL_ENOENT if the broker does
 * not know it, FOFAL_EFORBIDDEN if this client may not describe it. One request. */
int fofal_kafka_partition_count(fofal_kafka_t *k, const char *topic, int timeout_ms, char *errbuf, size_t errlen);
/* The same, asked again while the answer is FOFAL_ENOENT or FOFAL_EFORBIDDEN, for at most
 * wait_ms: what a process checks at start, right after set-up made its topics and ACLs. */
int fofal_kafka_partition_count_wait(fofal_kafka_t *k, const char *topic, int wait_ms, char *errbuf, size_t errlen);

/* ----------------------------------------------------------- topic admin */

typedef enum { FOFAL_TOPIC_EVENTS, FOFAL_TOPIC_COMPACTED, FOFAL_TOPIC_BOUNDED } fofal_topic_kind_t;
typedef struct {
  char name[128];
  fofal_topic_kind_t kind;
  int partitions;
  long long retention_ms; /* BOUNDED only */
} fofal_topic_spec_t;

/* The project's topics with `partitions` partitions each, into out (capacity cap);
 * returns the count. */
int fofal_topics_all(fofal_topic_spec_t *out, int cap, int partitions);
/* A config `fofal topics create` sets on a new topic. */
typedef struct {
  const char *name; /* a Kafka topic config, e.g. "cleanup.policy" */
  char value[24];
} fofal_topic_config_t;
#define FOFAL_TOPIC_CONFIGS_MAX 4
/* The configs a new topic of spec's kind is created with (cleanup.policy first), into out;
 * returns the count. The one place these values live: fofal topics create sets them and
 * the AsyncAPI document (api/asyncapi.c) publishes them. */
int fofal_topic_configs(const fofal_topic_spec_t *spec, fofal_topic_config_t out[FOFAL_TOPIC_CONFIGS_MAX]);
/* Creates missing topics and checks existing ones. Refuses (FOFAL_ECONFIG) an events topic
 * whose retention.ms is not -1 or whose cleanup.policy is not delete, and a compacted
 * topic that is not compacted. `report` (may be NULL) receives one line per topic. */
int fofal_topics_ensure(fofal_kafka_t *k, const fofal_topic_spec_t *specs, int n, int create,
                        void (*report)(void *opaque, const char *line), void *opaque, char *errbuf,
                        size_t errlen);

/* ------------------------------------------------------------- ACLs
 * What each process's Kafka user may do with topics and consumer groups (README,
 * Security): `fofal topics create` grants it (ops/kafka_acls.c says what); the broker's
 * authorizer denies everything else. (Transactional ids are granted by ops/stack: this
 * librdkafka has no resource type for them.) */
typedef enum { FOFAL_ACL_TOPIC, FOFAL_ACL_GROUP } fofal_kafka_acl_resource_t;
typedef enum { FOFAL_ACL_READ, FOFAL_ACL_WRITE, FOFAL_ACL_DESCRIBE, FOFAL_ACL_DESCRIBE_CONFIGS } fofal_kafka_acl_op_t;
typedef struct {
  const char *user;                    /* the principal User:<user> */
  fofal_kafka_acl_resource_t resource;
  char name[128];                      /* topic or group (or its prefix) */
  int prefixed;                        /* 1: every name that starts with `name` */
  fofal_kafka_acl_op_t op;             /* allowed from any host */
} fofal_kafka_acl_t;
/* Creates the ACLs (ALLOW; an existing one is left as it is). Needs a user allowed to
 * alter the cluster. FOFAL_EKAFKA with the broker's reason (e.g. no authorizer). */
int fofal_kafka_acls_create(fofal_kafka_t *k, const fofal_kafka_acl_t *acls, int n, char *errbuf, size_t errlen);

/* ------------------------------------------------------------- string map
 * An open-addressing hash map from NUL-terminated string keys (copied) to pointers
 * (owned by the caller unless a free function is given). Not thread-safe. */
typedef struct fofal_map fofal_map_t;
/* `free_value` (may be NULL) is called on values that are replaced, deleted or freed. */
fofal_map_t *fofal_map_new(void (*free_value)(void *));
void fofal_map_free(fofal_map_t *m);
void *fofal_map_get(const fofal_map_t *m, const char *key);
/* Inserts or replaces; the map takes ownership of `value`. */
void fofal_map_put(fofal_map_t *m, const char *key, void *value);
/* Removes and returns the value WITHOUT freeing it (the caller owns it again), or NULL. */
void *fofal_map_take(fofal_map_t *m, const char *key);
size_t fofal_map_size(const fofal_map_t *m);
/* Bytes the map itself holds (table and keys), for memory accounting. */
size_t fofal_map_bytes(const fofal_map_t *m);
/* Calls fn for every entry; fn must not modify the map. */
void fofal_map_each(const fofal_map_t *m, void (*fn)(void *opaque, const char *key, void *value), void *opaque);

/* The consumer's next fetch position in a partition (past control records), or -1. */
int64_t fofal_kafka_position(fofal_kafka_t *k, const char *topic, int32_t partition);

/* What every process does before it starts work: checks that all the project's topics
 * exist and that no event topic could lose events. 0, or FOFAL_ENOENT / FOFAL_ECONFIG /
 * FOFAL_EUNAVAIL with the reason in errbuf. */
int fofal_topics_require(const char *brokers, char *errbuf, size_t errlen);
/* Sets one config of a topic (operators' tool and tests: e.g. to prove that processes
 * refuse a finite retention). 0 or FOFAL_EKAFKA. */
int fofal_kafka_topic_set_config(fofal_kafka_t *k, const char *topic, const char *name, const char *value,
                                 char *errbuf, size_t errlen);

/* Committed offsets of the consumer's group for these partitions (waits for pending
 * transactions to settle), into offsets[] (FOFAL_OFFSET_BEGINNING where none). */
int fofal_kafka_committed(fofal_kafka_t *k, const char *topic, const int32_t *partitions, int n, int64_t *offsets,
                          int timeout_ms, char *errbuf, size_t errlen);

/* Records as they are, for `fofal backup` and `fofal restore` (ops/backup.c): every header
 * of a consumed message in order (idx from 0; name and value borrowed like the message's;
 * value NULL for a header without one), 0 or -1 past the last. */
int fofal_kafka_msg_header_at(const fofal_kmsg_t *msg, size_t idx, const char **name, const void **value,
                              size_t *len);
typedef struct {
  const char *name;
  size_t name_len;
  const void *value; /* NULL: a header without a value */
  size_t len;
} fofal_kheader_raw_t;
typedef struct {
  const char *key; /* NULL: no key */
  size_t key_len;
  const void *value; /* NULL: a tombstone */
  size_t len;
  int64_t timestamp_ms;
  const fofal_kheader_raw_t *headers;
  size_t n_headers;
} fofal_krecord_t;
/* Queues one record with its key, value, headers and timestamp as given (NULL key and
 * value stay NULL) to one partition; buffers are copied; dr (may be NULL) as for
 * fofal_kafka_produce. FOFAL_EUNAVAIL (queue full) or FOFAL_EKAFKA. */
int fofal_kafka_produce_record(fofal_kafka_t *k, const char *topic, int32_t partition, const fofal_krecord_t *r,
                               fofal_kafka_dr_fn dr, void *opaque, char *errbuf, size_t errlen);
/* Commits these offsets for the consumer's group (a consumer created with group_id that
 * never subscribed: the group must have no live member). 0 or FOFAL_EKAFKA. */
int fofal_kafka_commit_offsets(fofal_kafka_t *k, const char *topic, const int32_t *partitions, const int64_t *offsets,
                               int n, char *errbuf, size_t errlen);

#endif
