/*
 * registry.c — the table of command types, their schemas, and the command message.
 *
 * Loaded once at start-up: every command table of every registered module (the generated
 * fofal_command_modules[], commands.h) is joined with its JSON Schema file
 * (schemas/<module>/commands/<aggregate>.<verb>.json), compiled, and kept read-only, so
 * API threads and the decider share it without locks. A command type without a schema
 * file, or of another module than the table's, is a start-up error, not a silent pass.
 */
#include "commands.h"
#include "jsonschema.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const fofal_command_def_t *def;
  json_t *schema_json;
  fofal_schema_t *schema;
  json_t *personal;              /* names of the properties marked "x-fofal-personal" (array) */
  fofal_schema_t *sealed_schema; /* the schema with each personal property as a sealed value */
  int erases;                    /* "x-fofal-erases-person": the command erases its aggregate's person */
} entry_t;

const char fofal_sealed_value_schema[] =
    "{\"type\": \"object\", \"required\": [\"$enc\", \"p\", \"ct\"], \"additionalProperties\": false,"
    " \"properties\": {\"$enc\": {\"enum\": [\"v1\"]}, \"p\": {\"type\": \"string\", \"maxLength\": 64},"
    " \"ct\": {\"type\": \"string\", \"maxLength\": 8192}}}";

/* Collects the personal properties of e's schema and compiles its sealed twin. */
static int compile_sealed(entry_t *e, const char *path, char *errbuf, size_t errlen) {
  json_t *twin = json_deep_copy(e->schema_json), *props = json_object_get(twin, "properties");
  const char *name;
  json_t *prop;
  e->personal = json_array();
  e->erases = json_is_true(json_object_get(e->schema_json, "x-fofal-erases-person"));
  json_object_foreach(props, name, prop) {
    if (!json_is_true(json_object_get(prop, "x-fofal-personal"))) continue;
    json_array_append_new(e->personal, json_string(name));
    json_object_set_new(props, name, json_loads(fofal_sealed_value_schema, 0, NULL));
  }
  json_object_del(twin, "$id"); /* the twin is not the published document */
  char serr[256];
  int rc = fofal_schema_compile(&e->sealed_schema, twin, path, serr, sizeof serr);
  json_decref(twin);
  return rc ? fofal_err(errbuf, errlen, FOFAL_ECONFIG, "sealed schema of command %s (%s): %s", e->def->type, path, serr)
            : 0;
}

struct fofal_registry {
  entry_t *entries;
  int n;
};

int fofal_command_module(const char *type, char *out, size_t outlen) {
  const char *dot = strchr(type, '.');
  if (!dot || dot == type || (size_t)(dot - type) >= outlen) return FOFAL_EINVAL;
  memcpy(out, type, (size_t)(dot - type));
  out[dot - type] = '\0';
  return 0;
}

static const entry_t *find(const fofal_registry_t *reg, const char *type);

/* Loads one command type of module `mod` into a new entry of reg. */
static int load_one(fofal_registry_t *reg, const fofal_command_module_t *mod, const fofal_command_def_t *def,
                    const char *schemas_dir, char *errbuf, size_t errlen) {
  char module[32], path[1024], serr[256];
  json_error_t jerr;
  if (fofal_command_module(def->type, module, sizeof module) || strcmp(module, mod->name) || find(reg, def->type))
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "command %s of module %s: its type must be %s.<aggregate>.<verb>, once",
                     def->type, mod->name, mod->name);
  snprintf(path, sizeof path, "%s/%s/commands/%s.json", schemas_dir, module, def->type + strlen(module) + 1);
  entry_t *e = &reg->entries[reg->n++];
  e->def = def;
  e->schema_json = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!e->schema_json)
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "schema of command %s: %s: %s", def->type, path, jerr.text);
  if (fofal_schema_compile(&e->schema, e->schema_json, path, serr, sizeof serr))
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "schema of command %s (%s): %s", def->type, path, serr);
  return compile_sealed(e, path, errbuf, errlen);
}

int fofal_registry_load(fofal_registry_t **out, const char *schemas_dir, char *errbuf, size_t errlen) {
  int rc = 0, total = 0;
  for (int m = 0; fofal_command_modules[m]; m++)
    for (const fofal_command_table_t *t = fofal_command_modules[m]->tables; t->defs; t++) total += *t->n;
  fofal_registry_t *reg = fofal_calloc(1, sizeof *reg);
  reg->entries = fofal_calloc((size_t)total, sizeof *reg->entries);
  for (int m = 0; fofal_command_modules[m] && !rc; m++)
    for (const fofal_command_table_t *t = fofal_command_modules[m]->tables; t->defs && !rc; t++)
      for (int i = 0; i < *t->n && !rc; i++)
        rc = load_one(reg, fofal_command_modules[m], &t->defs[i], schemas_dir, errbuf, errlen);
  if (rc) {
    fofal_registry_free(reg);
    reg = NULL;
  }
  *out = reg;
  return rc;
}

void fofal_registry_free(fofal_registry_t *reg) {
  if (!reg) return;
  for (int i = 0; i < reg->n; i++) {
    json_decref(reg->entries[i].schema_json);
    fofal_schema_free(reg->entries[i].schema);
    json_decref(reg->entries[i].personal);
    fofal_schema_free(reg->entries[i].sealed_schema);
  }
  free(reg->entries);
  free(reg);
}

static const entry_t *find(const fofal_registry_t *reg, const char *type) {
  for (int i = 0; i < reg->n; i++)
    if (!strcmp(reg->entries[i].def->type, type)) return &reg->entries[i];
  return NULL;
}

const fofal_command_def_t *fofal_registry_find(const fofal_registry_t *reg, const char *type) {
  const entry_t *e = find(reg, type);
  return e ? e->def : NULL;
}

const json_t *fofal_registry_schema(const fofal_registry_t *reg, const char *type) {
  const entry_t *e = find(reg, type);
  return e ? e->schema_json : NULL;
}

void fofal_registry_each(const fofal_registry_t *reg, void (*fn)(void *opaque, const fofal_command_def_t *def), void *opaque) {
  for (int i = 0; i < reg->n; i++) fn(opaque, reg->entries[i].def);
}

static int validate(const fofal_registry_t *reg, const char *type, const json_t *data, json_t **errors, int sealed) {
  const entry_t *e = find(reg, type);
  if (errors) *errors = NULL;
  if (!e) return FOFAL_ENOENT;
  int rc = fofal_schema_validate(sealed ? e->sealed_schema : e->schema, data, errors);
  if (rc == 0) return 0;
  if (rc == 1) return FOFAL_ESCHEMA;
  return rc == FOFAL_SCHEMA_ETOODEEP ? FOFAL_ETOODEEP : FOFAL_EINVAL;
}

int fofal_registry_validate(const fofal_registry_t *reg, const char *type, const json_t *data, json_t **errors) {
  return validate(reg, type, data, errors, 0);
}

int fofal_registry_validate_sealed(const fofal_registry_t *reg, const char *type, const json_t *data, json_t **errors) {
  return validate(reg, type, data, errors, 1);
}

int fofal_registry_erases(const fofal_registry_t *reg, const char *type) {
  const entry_t *e = find(reg, type);
  return e && e->erases;
}

const json_t *fofal_registry_personal(const fofal_registry_t *reg, const char *type) {
  const entry_t *e = find(reg, type);
  return e && json_array_size(e->personal) ? e->personal : NULL;
}

void fofal_aggregate_ref(const char *tenant, const char *ns, const char *code, char out[FOFAL_UUID_LEN + 1]) {
  char name[FOFAL_CODE_MAX + 40];
  snprintf(name, sizeof name, "%s:%s", ns, code);
  fofal_uuid_named(tenant, name, out);
}

int fofal_code_valid(const char *s) {
  if (!s || !isalnum((unsigned char)*s)) return 0;
  size_t n = 0;
  for (; s[n]; n++)
    if (n >= FOFAL_CODE_MAX || !(isalnum((unsigned char)s[n]) || s[n] == '.' || s[n] == '_' || s[n] == '-')) return 0;
  return 1;
}

/* ------------------------------------------------------ names people type */

/* Calls fn(opaque, module, kind) once per kind of `module` (NULL: all), in table order;
 * stops when fn returns non-zero and returns that. */
static int each_kind(const char *module, int (*fn)(void *opaque, const char *module, const char *kind), void *opaque) {
  const char *seen[64];
  int nseen = 0;
  for (int m = 0; fofal_command_modules[m]; m++) {
    const char *mod = fofal_command_modules[m]->name; /* static, as the callers keep it */
    if (module && strcmp(module, mod)) continue;
    for (const fofal_command_table_t *t = fofal_command_modules[m]->tables; t->defs; t++)
      for (int i = 0; i < *t->n; i++) {
        const fofal_command_def_t *def = &t->defs[i];
        if (!def->ns) continue;
        int dup = 0;
        for (int k = 0; k < nseen && !dup; k++) dup = !strcmp(seen[k], def->ns);
        if (dup || nseen == (int)(sizeof seen / sizeof seen[0])) continue;
        seen[nseen++] = def->ns;
        int rc = fn(opaque, mod, def->ns);
        if (rc) return rc;
      }
  }
  return 0;
}

typedef struct {
  const char *word, *found;
  int plural;
} kind_find_t;

/* The plural of a kind in the audit trail's paths: "s" added, unless the kind is plural
 * already ("inventory_settings"). */
static const char *plural_suffix(const char *kind) {
  size_t n = strlen(kind);
  return n && kind[n - 1] == 's' ? "" : "s";
}

static int kind_is(void *opaque, const char *module, const char *kind) {
  kind_find_t *f = opaque;
  (void)module;
  size_t n = strlen(kind);
  if (f->plural ? strncmp(f->word, kind, n) || strcmp(f->word + n, plural_suffix(kind)) : strcmp(f->word, kind)) return 0;
  f->found = kind;
  return 1;
}

const char *fofal_aggregate_kind(const char *module, const char *word, int plural) {
  kind_find_t f = {word, NULL, plural};
  if (word) each_kind(module, kind_is, &f);
  return f.found;
}

typedef struct {
  char *out;
  size_t len, at;
  int plural;
} kinds_text_t;

static int kind_text(void *opaque, const char *module, const char *kind) {
  kinds_text_t *t = opaque;
  (void)module;
  int n = snprintf(t->out + t->at, t->len - t->at, "%s%s%s", t->at ? ", " : "", kind, t->plural ? plural_suffix(kind) : "");
  if (n > 0) t->at = t->at + (size_t)n < t->len ? t->at + (size_t)n : t->len - 1;
  return 0;
}

void fofal_aggregate_kinds_text(const char *module, int plural, char *out, size_t outlen) {
  kinds_text_t t = {out, outlen, 0, plural};
  if (!outlen) return;
  out[0] = '\0';
  each_kind(module, kind_text, &t);
}

typedef struct {
  const char *tenant, *code;
  fofal_aggregate_name_t *out;
  int cap, n;
} resolve_t;

static int add_kind(void *opaque, const char *module, const char *kind) {
  resolve_t *r = opaque;
  if (r->n >= r->cap) return 1;
  fofal_aggregate_name_t *o = &r->out[r->n++];
  o->kind = kind;
  o->module = module;
  fofal_aggregate_ref(r->tenant, kind, r->code, o->id);
  return 0;
}

typedef struct {
  const char *kind;
  resolve_t *r;
} kind_add_t;

static int add_that_kind(void *opaque, const char *module, const char *kind) {
  kind_add_t *k = opaque;
  if (strcmp(k->kind, kind)) return 0;
  add_kind(k->r, module, kind);
  return 1;
}

int fofal_aggregate_resolve(const char *tenant, const char *module, const char *name, fofal_aggregate_name_t *out,
                            int cap) {
  if (!name || cap < 1) return FOFAL_EINVAL;
  if (fofal_uuid_valid(name)) {
    out[0].kind = out[0].module = NULL;
    for (int i = 0; i <= FOFAL_UUID_LEN; i++) out[0].id[i] = (char)tolower((unsigned char)name[i]);
    return 1;
  }
  const char *colon = strchr(name, ':');
  if (colon) {
    char word[32];
    if ((size_t)(colon - name) >= sizeof word || !fofal_code_valid(colon + 1)) return FOFAL_EINVAL;
    memcpy(word, name, (size_t)(colon - name));
    word[colon - name] = '\0';
    const char *kind = fofal_aggregate_kind(module, word, 0);
    if (!kind) return FOFAL_EINVAL;
    resolve_t r = {tenant, colon + 1, out, 1, 0};
    kind_add_t k = {kind, &r};
    each_kind(module, add_that_kind, &k);
    return r.n == 1 ? 1 : FOFAL_EINVAL;
  }
  if (!fofal_code_valid(name)) return FOFAL_EINVAL;
  resolve_t r = {tenant, name, out, cap - 1, 0};
  each_kind(module, add_kind, &r);
  out[r.n].kind = out[r.n].module = NULL;
  snprintf(out[r.n].id, sizeof out[r.n].id, "%s", name);
  return r.n + 1;
}

const json_t *fofal_cmd_lookup(const fofal_cmd_t *cmd, const char *aggregate_id) {
  return cmd->lookup && aggregate_id ? cmd->lookup->get(cmd->lookup, aggregate_id) : NULL;
}

int fofal_command_produce(fofal_kafka_t *producer, const fofal_cmd_t *cmd, int nparts, fofal_kafka_dr_fn dr,
                          void *dr_opaque, char *errbuf, size_t errlen) {
  char *buf = fofal_command_encode(cmd);
  int rc = fofal_kafka_produce(producer, FOFAL_TOPIC_COMMANDS, fofal_tenant_partition(cmd->tenant, nparts), cmd->aggregate,
                               strlen(cmd->aggregate), buf, strlen(buf), NULL, 0, dr, dr_opaque, errbuf, errlen);
  free(buf);
  return rc;
}

int fofal_command_aggregate_id(const fofal_command_def_t *def, const char *tenant, const char *command_id,
                               const json_t *data, char out[FOFAL_UUID_LEN + 1]) {
  const json_t *v = json_object_get(data, def->aggregate_key);
  if (def->ns) {
    if (!json_is_string(v) || !fofal_code_valid(json_string_value(v))) return FOFAL_EINVAL;
    fofal_aggregate_ref(tenant, def->ns, json_string_value(v), out);
    return 0;
  }
  if (json_is_string(v) && fofal_uuid_valid(json_string_value(v))) {
    /* One spelling per id: upper and lower case would otherwise be two aggregates. */
    const char *s = json_string_value(v);
    for (int i = 0; i <= FOFAL_UUID_LEN; i++) out[i] = (char)tolower((unsigned char)s[i]);
    return 0;
  }
  if (v || !def->creates) return FOFAL_EINVAL;
  fofal_uuid_named(tenant, command_id, out);
  return 0;
}

char *fofal_command_encode(const fofal_cmd_t *cmd) {
  char ts[32];
  fofal_time_format(cmd->issued_us, ts);
  json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:O}", "id", cmd->id, "type", cmd->type, "tenant", cmd->tenant,
                        "actor", cmd->actor ? cmd->actor : "", "aggregate", cmd->aggregate, "issued_at", ts, "data",
                        cmd->data);
  if (cmd->expected_version >= 0) json_object_set_new(o, "expected_version", json_integer(cmd->expected_version));
  if (cmd->correlation_id) json_object_set_new(o, "correlation_id", json_string(cmd->correlation_id));
  if (cmd->actor_badge) json_object_set_new(o, "actor_badge", json_string(cmd->actor_badge));
  if (cmd->fingerprint) json_object_set_new(o, "fingerprint", json_string(cmd->fingerprint));
  if (cmd->trigger) json_object_set(o, "trigger", (json_t *)cmd->trigger);
  char *s = fofal_json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

int fofal_command_decode(fofal_cmd_t *cmd, json_t **holder, const char *buf, size_t len, char *errbuf, size_t errlen) {
  json_error_t jerr;
  memset(cmd, 0, sizeof *cmd);
  *holder = NULL;
  if (len > FOFAL_COMMAND_MAX_BYTES * 2)
    return fofal_err(errbuf, errlen, FOFAL_ETOOBIG, "command message of %zu bytes", len);
  json_t *o = json_loadb(buf, len, 0, &jerr);
  if (!json_is_object(o)) {
    json_decref(o);
    return fofal_err(errbuf, errlen, FOFAL_EPARSE, "command message is not a JSON object");
  }
  const char *ts = NULL;
  json_int_t ev = -1;
  json_t *data = NULL;
  if (json_unpack_ex(o, &jerr, 0, "{s:s,s:s,s:s,s?s,s:s,s:s,s:o,s?I,s?s,s?s,s?s}", "id", &cmd->id, "type", &cmd->type,
                     "tenant", &cmd->tenant, "actor", &cmd->actor, "aggregate", &cmd->aggregate, "issued_at", &ts,
                     "data", &data, "expected_version", &ev, "correlation_id", &cmd->correlation_id, "fingerprint",
                     &cmd->fingerprint, "actor_badge", &cmd->actor_badge) ||
      fofal_time_parse(ts, &cmd->issued_us)) {
    json_decref(o);
    memset(cmd, 0, sizeof *cmd);
    return fofal_err(errbuf, errlen, FOFAL_EINVAL, "command message: %s", jerr.text);
  }
  cmd->expected_version = ev;
  cmd->data = data;
  json_t *trigger = json_object_get(o, "trigger"); /* a reaction's (reactions.c), else NULL */
  cmd->trigger = json_is_object(trigger) ? trigger : NULL;
  *holder = o;
  return 0;
}

void fofal_decision_reject(fofal_decision_t *out, const char *code, const char *fmt, ...) {
  va_list ap;
  snprintf(out->code, sizeof out->code, "%s", code);
  va_start(ap, fmt);
  vsnprintf(out->detail, sizeof out->detail, fmt, ap);
  va_end(ap);
  json_decref(out->events);
  json_decref(out->state);
  json_decref(out->others);
  out->events = out->state = out->others = NULL;
}

void fofal_decision_emit(fofal_decision_t *out, const char *type, json_t *data) {
  if (!out->events) out->events = json_array();
  json_array_append_new(out->events, json_pack("{s:s,s:o}", "type", type, "data", data));
}

void fofal_decision_issue(fofal_decision_t *out, const char *name, const char *id) {
  json_t *e = json_array_get(out->events, json_array_size(out->events) - 1);
  if (!e) return;
  json_t *issued = json_object_get(e, "issued");
  if (!issued) json_object_set_new(e, "issued", issued = json_object());
  json_object_set_new(issued, name, json_string(id));
}

void fofal_decision_emit_to(fofal_decision_t *out, const char *aggregate_id, const char *type, json_t *data,
                            json_t *state) {
  if (!out->others) out->others = json_object();
  json_t *o = json_object_get(out->others, aggregate_id);
  if (!o) {
    o = json_pack("{s:[]}", "events");
    json_object_set_new(out->others, aggregate_id, o);
  }
  json_array_append_new(json_object_get(o, "events"), json_pack("{s:s,s:o}", "type", type, "data", data));
  if (state) json_object_set_new(o, "state", state);
}
