/*
 * commands.h — what a command is, how one is checked, and the deciders.
 *
 * The only header of commands/ that other folders include. A command type is declared
 * once, in a module's table (commands/<m>/, see "modules" below): its name, the property of its data
 * that names the aggregate, its JSON Schema under schemas/<module>/commands/, the roles
 * that may send it, and its decider. A decider is a pure function of (aggregate state,
 * command) → events and the new state, or a rejection: no I/O, no clock, no randomness,
 * so that deciding again after an aborted transaction gives the same answer.
 */
#ifndef FOFAL_COMMANDS_H
#define FOFAL_COMMANDS_H

#include <jansson.h>
#include <stdint.h>

#include "events.h"

#define FOFAL_COMMAND_MAX_BYTES (64 * 1024)   /* one command's JSON, as received */

/* Read access to the other aggregates of the command's tenant, for rules that span
 * aggregates (a declaration checks the loom's mounted beam). The stream processor keeps
 * every aggregate of a tenant in one partition (see fofal_tenant_partition), so what a
 * decider reads here is current and consistent with what it writes. `get` returns the
 * state (borrowed until the decision is done) or NULL when there is no such aggregate of
 * this tenant. Tests build one over a plain JSON object. */
typedef struct fofal_lookup {
  const json_t *(*get)(const struct fofal_lookup *l, const char *aggregate_id);
  void *opaque;
} fofal_lookup_t;

/* A command as the decider sees it. Everything is borrowed from the message it came from. */
typedef struct {
  const char *id;            /* a client's Idempotency-Key scoped to it (fofal_command_scoped_id),
                                or an id made by a FOFAL process (ingest) */
  const char *type;          /* "production.order.create" */
  const char *tenant;
  const char *actor;         /* "u:<token subject>/<role>" from fofal-api, "s:<service>/…" from ours */
  const char *actor_badge;   /* the signed-in person's badge (the token's `badge` claim), NULL: none */
  const char *aggregate;     /* aggregate id (the Kafka key) */
  int64_t expected_version;  /* -1: any */
  int64_t issued_us;         /* when the API accepted it: deciders use it as "now" */
  const char *correlation_id;
  const json_t *data;
  const fofal_lookup_t *lookup; /* NULL: no other aggregate is visible */
  const char *fingerprint;   /* keyed hash of the request as its client sent it; NULL: none */
  const json_t *trigger;     /* a reaction's command: the event it answers (fofal_reaction_trigger);
                                NULL for every other command */
} fofal_cmd_t;

/* The state of another aggregate of the command's tenant (borrowed), or NULL. */
const json_t *fofal_cmd_lookup(const fofal_cmd_t *cmd, const char *aggregate_id);

/* A decision. On success `events` is a new array of {"type": "...", "data": {...}} and
 * `state` the new aggregate state (new reference). A decision may also change other
 * aggregates of the same tenant and module, atomically with its own: `others` maps their
 * ids to {"events": [...], "state": {...}} (see fofal_decision_emit_to). On rejection
 * all are NULL and `code` (a stable snake_case word) and `detail` say why. */
typedef struct {
  json_t *events;
  json_t *state;
  json_t *others;
  char code[64];
  char detail[256];
} fofal_decision_t;

/* (state or NULL for a new aggregate, version) → decision. Returns 0 or FOFAL_EREJECTED. */
typedef int (*fofal_decide_fn)(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out);

typedef struct {
  const char *type;          /* "<module>.<aggregate>.<verb>" */
  const char *aggregate_key; /* property of data holding the aggregate id */
  int creates;               /* 1: the aggregate must not exist yet; 0: it must exist;
                                FOFAL_CREATES_OR_UPDATES: either (the decider tells them apart) */
  const char *summary;       /* one line, for the OpenAPI document */
  fofal_decide_fn decide;
  /* NULL: data[aggregate_key] is a UUID. Otherwise it is a code people type and print
   * ("L03", "B-0042"; FOFAL_CODE_PATTERN) and the aggregate id is
   * fofal_aggregate_ref(tenant, ns, code), so the same code is always the same aggregate. */
  const char *ns;
} fofal_command_def_t;

/* fofal_command_def_t.creates of a command that creates its aggregate or adds to it (a
 * tenant's record of sign-in attempts naming nobody known: identity.realm.record). */
#define FOFAL_CREATES_OR_UPDATES 2

/* Codes of looms, beams, articles, employees: what a badge or a plate shows. */
#define FOFAL_CODE_MAX 64
/* The id of the aggregate named `code` in namespace `ns` ("loom") of `tenant`. out[37]. */
void fofal_aggregate_ref(const char *tenant, const char *ns, const char *code, char out[FOFAL_UUID_LEN + 1]);
/* 1 if `s` is a valid code: 1..64 of [A-Za-z0-9._-], starting with a letter or digit. */
int fofal_code_valid(const char *s);

/* Names people type (issue 23 item 4). A loom "L13" or a badge "W121" is an aggregate whose
 * id is derived (fofal_aggregate_ref) and shown nowhere people look, so wherever an
 * aggregate is named — the audit trail, `fofal replay`, WebSocket subscriptions — a name
 * may be:
 *   a UUID          that aggregate (any case; the id is lower case);
 *   <kind>:<code>   the aggregate of that kind with that code: "loom:L13", "employee:W121";
 *   <code>          every aggregate with that code, whatever its kind, and the code itself
 *                   (fofal-machines names looms and halls by their code).
 * The kinds are the `ns` of the command tables ("article", "loom", "beam", "employee",
 * "shiftmodel"); a kind's plural ("looms") is its segment in a path. */
#define FOFAL_AGGREGATE_NAMES_MAX 64 /* more than every kind of every module and the code itself (test_registry) */
typedef struct {
  const char *kind;              /* static: "loom"; NULL for a UUID or the code itself */
  const char *module;            /* static: "production"; NULL for a UUID or the code itself */
  char id[FOFAL_CODE_MAX + 1];   /* the aggregate id: an event's subject, a record's key */
} fofal_aggregate_name_t;
/* What `name` may denote in `tenant`, kinds restricted to `module` when not NULL, into
 * out[cap] (FOFAL_AGGREGATE_NAMES_MAX is always enough): returns the count (>= 1), or
 * FOFAL_EINVAL when name is none of the forms above or has an unknown kind. Pure. */
int fofal_aggregate_resolve(const char *tenant, const char *module, const char *name, fofal_aggregate_name_t *out,
                            int cap);
/* The kind named `word` — its name ("loom") or, with plural set, its plural ("looms") — of
 * `module` (NULL: any module): a static string, or NULL. */
const char *fofal_aggregate_kind(const char *module, const char *word, int plural);
/* The kinds of `module` (NULL: all) as a static, comma-separated text ("article, loom, …")
 * into out, for messages and docs. */
void fofal_aggregate_kinds_text(const char *module, int plural, char *out, size_t outlen);

/* The command registry: every module's command types with their compiled schemas. Loaded
 * once at start-up from `schemas_dir` (the source tree's schemas/); read-only afterwards
 * and safe to share between threads. */
typedef struct fofal_registry fofal_registry_t;
int fofal_registry_load(fofal_registry_t **out, const char *schemas_dir, char *errbuf, size_t errlen);
void fofal_registry_free(fofal_registry_t *reg);
/* The definition of `type` (borrowed, lives as long as the registry) or NULL. */
const fofal_command_def_t *fofal_registry_find(const fofal_registry_t *reg, const char *type);
/* The raw JSON Schema of a command type (borrowed) or NULL, for docs. */
const json_t *fofal_registry_schema(const fofal_registry_t *reg, const char *type);
/* Calls fn for each command type, in table order. */
void fofal_registry_each(const fofal_registry_t *reg, void (*fn)(void *opaque, const fofal_command_def_t *def), void *opaque);
/* Validates a command's data against its schema. 0 if valid; FOFAL_ESCHEMA with *errors a
 * new array of {"pointer","keyword","message"} (caller decrefs); FOFAL_ETOODEEP. */
int fofal_registry_validate(const fofal_registry_t *reg, const char *type, const json_t *data, json_t **errors);
/* Personal data (issue 6 item 8). A property marked "x-fofal-personal": true in a command
 * schema (a name, phone, national id, bank account, salary …) is validated in clear by the
 * API, which then seals it (events/crypto.c) with the key of the person the command is about
 * — its aggregate — before the command reaches Kafka. In the log it is only ever sealed:
 * the decider validates with the sealed twin of the schema, which requires a sealed value
 * there and refuses a plain one. */
int fofal_registry_validate_sealed(const fofal_registry_t *reg, const char *type, const json_t *data, json_t **errors);
/* 1 if `type` erases the person its aggregate is ("x-fofal-erases-person": true): the API
 * deletes the person's key before the command reaches Kafka. */
int fofal_registry_erases(const fofal_registry_t *reg, const char *type);
/* The names of the personal properties of `type` (an array, borrowed), or NULL if none. */
const json_t *fofal_registry_personal(const fofal_registry_t *reg, const char *type);
/* The JSON Schema (text) of what a personal property holds once sealed (events/crypto.c):
 * in the log, never plain. The registry's sealed twins and the AsyncAPI document use it. */
extern const char fofal_sealed_value_schema[];
/* The module part of a command type ("production.order.create" → "production"). */
int fofal_command_module(const char *type, char *out, size_t outlen);

/* The aggregate id of a command: data[aggregate_key] if present, else — for a creating
 * command — an id derived from tenant and command id, so that a retried create lands on the
 * same aggregate and partition. out[37]. 0 or FOFAL_EINVAL (missing or not a UUID). */
int fofal_command_aggregate_id(const fofal_command_def_t *def, const char *tenant, const char *command_id,
                               const json_t *data, char out[FOFAL_UUID_LEN + 1]);

/* The command message on fofal.commands: encode (new string) and decode (into *cmd, whose
 * strings point into *holder, a new reference the caller decrefs). */
char *fofal_command_encode(const fofal_cmd_t *cmd);
int fofal_command_decode(fofal_cmd_t *cmd, json_t **holder, const char *buf, size_t len, char *errbuf, size_t errlen);

/* ----------------------------------------------------------------- modules
 * A module's commands live in its folder commands/<m>/ (deciders, tables) and register
 * themselves: the folder defines `const fofal_command_module_t fofal_module_<m>_commands`,
 * and the build, which finds the folder, lists it in the generated table
 * fofal_command_modules[] (<build>/modules/commands.gen.c) that the registry reads. Nothing
 * outside the folder names the module. A module without commands has no folder here. */
typedef struct {
  const fofal_command_def_t *defs;
  const int *n;              /* how many: a count defined beside the table, in another file */
} fofal_command_table_t;

typedef struct {
  const char *name;          /* "production": every command type of its tables is "<name>.…" */
  const fofal_command_table_t *tables; /* ended by {NULL, NULL} */
} fofal_command_module_t;

/* Every registered module, sorted by name, NULL-terminated (generated). */
extern const fofal_command_module_t *const fofal_command_modules[];

/* Helpers for deciders. */
void fofal_decision_reject(fofal_decision_t *out, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fofal_decision_emit(fofal_decision_t *out, const char *type, json_t *data /* stolen */);
/* Shows `id` as issued[name] in the answer's summary of the last event fofal_decision_emit
 * added: an id the decision gave something another module will hold (a declaration's
 * label id, which inventory receives by reaction), so the sender has it at once. */
void fofal_decision_issue(fofal_decision_t *out, const char *name, const char *id);
/* An event for another aggregate (of the command's tenant and module) and its new state:
 * both are written in the same transaction as the command's own. `state` (stolen) may be
 * NULL to keep the state of an earlier call. */
void fofal_decision_emit_to(fofal_decision_t *out, const char *aggregate_id, const char *type, json_t *data /* stolen */,
                            json_t *state /* stolen */);

/* ------------------------------------------------------------ the decider process
 * The stream processor behind fofal-decider (processor.c). One instance runs one loop on
 * one thread; several instances share the partitions of fofal.commands through the
 * consumer group "fofal-decider". */
typedef struct {
  const char *brokers;
  const char *instance_id;       /* unique per process: names the transactional.id */
  const fofal_registry_t *registry;
  int max_batch;                 /* commands per transaction */
  int batch_wait_ms;             /* how long to gather a batch once one command arrived */
  long long idempotency_window_s;/* how long a command id is remembered */
  atomic_int *stop;            /* set to non-zero to stop after the current batch */
  int stats_interval_s;          /* log the counters this often; 0: never */
  int linger_ms;                 /* the producer's linger.ms (0: 1) */
} fofal_processor_opts_t;

typedef struct {
  long long commands, accepted, rejected, duplicates, conflicts, batches, aborts;
  long long reused;              /* ids sent again with another request (refused, nothing written) */
  long long aggregates;          /* live aggregates held */
  long long state_bytes;         /* bytes held for aggregate state */
  /* Microseconds of the committed transactions, by step: deciding (events produced as they
   * are made), waiting for the events' delivery (their offsets go into the results), and
   * writing the results and committing. The next batch waits for all three. */
  long long decide_us, flush_us, commit_us;
} fofal_processor_stats_t;

typedef struct fofal_processor fofal_processor_t;
int fofal_processor_new(fofal_processor_t **out, const fofal_processor_opts_t *o, char *errbuf, size_t errlen);
/* Runs until *stop or a fatal error (FOFAL_EFENCED, FOFAL_ECONFIG). */
int fofal_processor_run(fofal_processor_t *p, char *errbuf, size_t errlen);
void fofal_processor_stats(const fofal_processor_t *p, fofal_processor_stats_t *st);
/* Logs the counters as one line (the periodic line, and the decider's last words). */
void fofal_processor_log_stats(const fofal_processor_t *p);
void fofal_processor_free(fofal_processor_t *p);

/* Producing a command (fofal-api, fofal-ingest, tests): the message is keyed by aggregate id
 * and goes to the partition of its tenant, fofal_tenant_partition(tenant, nparts) where
 * nparts is fofal.commands's partition count. 0 or the produce error. */
int fofal_command_produce(fofal_kafka_t *producer, const fofal_cmd_t *cmd, int nparts, fofal_kafka_dr_fn dr,
                          void *dr_opaque, char *errbuf, size_t errlen);

/* ------------------------------------------------------------ reactions (reactions.c)
 * A module reacts to another module's events with commands of its own: a *reaction* is a
 * pure function (trigger event → one command of the reacting module, nothing, or a failure
 * with a reason), declared in the reacting module's folder (commands/<m>/reactions.c,
 * defining `const fofal_reaction_module_t fofal_module_<m>_reactions`); the emitting module
 * does not know about it. fofal-reactor (reactor.c) runs every registered reaction exactly
 * once per trigger; its header says how. A reaction never rejects its trigger, which is
 * committed already: what cannot be carried out — a failure here, or a command the decider
 * rejects — is written to fofal.reactions.dlq with its reason (fofal_reaction_dlq_record). */

/* What a reaction answers. */
#define FOFAL_REACT_COMMAND 0  /* out->type and out->data: the command */
#define FOFAL_REACT_NOTHING 1  /* this event needs nothing */
/* Any negative FOFAL_E* code: a failure, out->reason says why. */
#define FOFAL_REACTION_REASON_MAX 256

typedef struct {
  char type[96];                 /* the command type, "<reacting module>.<aggregate>.<verb>" */
  json_t *data;                  /* new reference: the command's data (the caller decrefs) */
  char reason[FOFAL_REACTION_REASON_MAX];
} fofal_reaction_out_t;

/* trigger event (borrowed, already upcast to its latest version) → *out. Pure: no I/O, no
 * clock, no randomness, so that a replay gives the same command. */
typedef int (*fofal_react_fn)(const fofal_event_t *ev, fofal_reaction_out_t *out);

typedef struct {
  const char *name;              /* "<reacting module>.<what>": unique; the command's actor is
                                    "r:<name>" and its id derives from it (fofal_reaction_command_id) */
  const char *const *on;         /* event types it answers ("fofal.machines.breakdown_declared.v1"),
                                    NULL-terminated: their topics are what fofal-reactor reads */
  fofal_react_fn react;
  const char *summary;           /* one line, for --help and the docs */
  const char *const *not_applicable; /* refusal codes of its command that mean "this reaction
                                    does not apply to this trigger" (e.g. an article not paid
                                    by piece): kept in the command's result, not sent to
                                    fofal.reactions.dlq; NULL-terminated, NULL: none */
} fofal_reaction_t;

typedef struct {
  const char *module;            /* the reacting module: its reactions send its own commands */
  const fofal_reaction_t *reactions; /* ended by an entry whose name is NULL */
} fofal_reaction_module_t;

/* Every module's reactions, sorted by module, NULL-terminated: generated by the build
 * (<build>/modules/reactions.gen.c) from the commands/<m>/reactions.c present. */
extern const fofal_reaction_module_t *const fofal_reaction_modules[];

/* The reaction named `name` (static), or NULL. */
const fofal_reaction_t *fofal_reaction_find(const char *name);
/* Checks the table: names unique and "<module>.<…>", event types "fofal.<m>.<name>.v<N>".
 * 0 or FOFAL_ECONFIG with the reason in errbuf (a process refuses to start). */
int fofal_reactions_check(char *errbuf, size_t errlen);
/* The id of the command that `reaction` sends for the event `event_id`: a name-based UUID of
 * both, so that a replay of the trigger gives the same id and the decider drops the
 * duplicate. out[37]. */
void fofal_reaction_command_id(const char *reaction, const char *event_id, char out[FOFAL_UUID_LEN + 1]);
/* Where a trigger is: {"reaction","id","type","tenant","subject","topic","partition","offset"}
 * (new reference), carried by the reaction's command (fofal_cmd_t.trigger). */
json_t *fofal_reaction_trigger(const char *reaction, const fofal_event_t *ev, const char *topic, int32_t partition,
                               int64_t offset);
/* A record of fofal.reactions.dlq (new string): {"reaction","stage","tenant","trigger",
 * "reason", "code"?, "command"?}. stage: "decode" (the trigger could not be read),
 * "transform" (the reaction failed or made an invalid command), "rejected" (the decider
 * refused the command: code is its rejection code). trigger (borrowed) as made by
 * fofal_reaction_trigger; cmd (may be NULL) gives "command":{"id","type","aggregate"}. */
char *fofal_reaction_dlq_record(const char *stage, const json_t *trigger, const char *code, const char *reason,
                                const fofal_cmd_t *cmd);

/* What running a reaction on a trigger gives (fofal_reaction_apply). */
typedef struct {
  fofal_cmd_t cmd;               /* FOFAL_REACT_COMMAND: ready to produce; its strings are
                                    borrowed from this struct and from the event */
  char id[FOFAL_UUID_LEN + 1], aggregate[FOFAL_UUID_LEN + 1], actor[112];
  fofal_reaction_out_t out;      /* the reaction's answer; out.reason on failure */
  json_t *trigger;               /* fofal_reaction_trigger's (owned) */
} fofal_reaction_result_t;
/* Runs reaction r on ev (read at topic[partition]@offset) and makes its command as the API
 * would: id fofal_reaction_command_id(r, ev->id), actor "r:<name>", the trigger's tenant and
 * correlation id (its id when it has none), issued at now_us, aggregate id and validation
 * from the registry (personal properties must be sealed, as the decider checks). Returns
 * FOFAL_REACT_COMMAND, FOFAL_REACT_NOTHING, or a negative FOFAL_E* with res->out.reason:
 * the reaction failed, or made a command of another module, of an unknown type, without
 * its aggregate or not matching its schema. Pure. Clear res with fofal_reaction_result_clear
 * whatever it returned (ev must outlive res). */
int fofal_reaction_apply(const fofal_registry_t *reg, const fofal_reaction_t *r, const fofal_event_t *ev,
                         const char *topic, int32_t partition, int64_t offset, int64_t now_us,
                         fofal_reaction_result_t *res);
void fofal_reaction_result_clear(fofal_reaction_result_t *res);

/* ------------------------------------------------------------ the reactor process
 * The stream processor behind fofal-reactor (reactor.c; its header says how it is exactly
 * once). One instance runs one loop on one thread; instances share the partitions of the
 * topics the reactions read through the consumer group "fofal-reactor". */
typedef struct {
  const char *brokers;
  const char *instance_id;       /* unique per process: names the transactional.id */
  const fofal_registry_t *registry;
  int max_batch;                 /* trigger records per transaction */
  atomic_int *stop;            /* set to non-zero to stop after the current batch */
  int stats_interval_s;          /* log the counters this often; 0: never */
} fofal_reactor_opts_t;

typedef struct {
  long long records;             /* records read from the event topics */
  long long triggers;            /* of them, events some reaction answers */
  long long commands, nothing, failures; /* what the reactions gave (failures: to the DLQ) */
  long long batches, aborts;
} fofal_reactor_stats_t;

typedef struct fofal_reactor fofal_reactor_t;
int fofal_reactor_new(fofal_reactor_t **out, const fofal_reactor_opts_t *o, char *errbuf, size_t errlen);
/* Runs until *stop or a fatal error (FOFAL_EFENCED, a consumer error). */
int fofal_reactor_run(fofal_reactor_t *r, char *errbuf, size_t errlen);
void fofal_reactor_stats(const fofal_reactor_t *r, fofal_reactor_stats_t *st);
void fofal_reactor_log_stats(const fofal_reactor_t *r);
void fofal_reactor_free(fofal_reactor_t *r);

/* ------------------------------------------------------------ idempotency (idempotency.c)
 * A command's id is its client's Idempotency-Key scoped to the client; a fingerprint of
 * the request tells a retry from a reuse of the key for another request. */
#define FOFAL_IDEMPOTENCY_KEY_MAX 200
#define FOFAL_IDEMPOTENCY_KEY_PATTERN "^[A-Za-z0-9._:-]{1,200}$"
#define FOFAL_CODE_KEY_REUSED "idempotency_key_reused"
/* 1 if key (len bytes, no NUL among them) is an Idempotency-Key: 1 to 200 of
 * A-Z a-z 0-9 - _ . : (FOFAL_IDEMPOTENCY_KEY_PATTERN, as the OpenAPI document says). */
int fofal_idempotency_key_valid(const char *key, size_t len);
/* The id of the command that `subject` (the token's sub) sent with `key`: "<subject>/<key>",
 * '%' and '/' of each part percent-encoded, so that no two pairs give the same id. New. */
char *fofal_command_scoped_id(const char *subject, const char *key);
/* The key of a command's result on fofal.commands.results and of the decider's memory of
 * it: "<tenant>/<command id>", the tenant's '%' and '/' percent-encoded. New, never cut. */
char *fofal_result_key(const char *tenant, const char *command_id);
/* What a request's fingerprint hashes: {"data","if_match"?,"type"} as compact JSON with
 * members sorted at every depth (new string; NULL only if data is not JSON). */
char *fofal_command_canonical(const char *type, const json_t *data, int64_t expected_version);
/* 1 if a command with `fingerprint` retries the one that first had the id (either NULL:
 * unknown, taken as a retry), 0 if it reuses the id for another request. */
int fofal_command_same_request(const char *first_fingerprint, const char *fingerprint);
/* The answer to a command (of `type`, with `fingerprint`) whose id was decided before with
 * result `first` (borrowed; its "fingerprint" member is the first request's): a copy of
 * `first` for a retry, else a rejection with code idempotency_key_reused. New reference.
 * Nothing is decided again either way. */
json_t *fofal_command_replay(const json_t *first, const char *type, const char *fingerprint);

/* ------------------------------------------------------------- shifts (hr/shifts.c)
 * Shared with fofal-machines, whose shift tallies follow the same model.
 * The shift a moment falls in, by the tenant's shift model (or the built-in 3×8 from
 * 06:00 at UTC+1 when none is defined). shift_id "YYYY-MM-DD/<code>" names the local date
 * the shift starts on; starts/ends are µs since the epoch. 0, or FOFAL_ENOENT when the
 * moment falls on a day the calendar does not work. */
typedef struct {
  char id[32];
  char code[16];
  int64_t starts_us, ends_us;
} fofal_shift_t;
int fofal_shift_at(const json_t *model /* NULL: built-in */, int64_t at_us, fofal_shift_t *out);
/* The span of a shift id under a model. 0 or FOFAL_EINVAL (malformed id, unknown code). */
int fofal_shift_span(const json_t *model, const char *shift_id, fofal_shift_t *out);
/* The model in force after an event of it: `data` of shift_model_defined (redefined 0)
 * replaces `current`; that of shift_model_redefined (1) takes effect from its
 * `effective_from` day, with `current`'s versions before that day kept under "previous"
 * (at most 24). The decider's state and fofal-machines' copy are both folded by it, so a
 * loom's shift is always the weavers'. A new reference; `current` is borrowed. */
json_t *fofal_shift_model_next(const json_t *current, const json_t *data, int redefined);

#endif
