/*
 * world.h — a tenant's aggregates in memory, for decider unit tests (header-only, included
 * by test_production_order.c and test_weaving.c).
 *
 * The stream processor gives deciders the other aggregates of a tenant through
 * fofal_cmd_t.lookup and writes what a decision gives them (fofal_decision_t.others). This
 * does the same over a JSON object id → state, so that rules spanning aggregates (a
 * declaration consumes its loom's beam) are tested through the deciders alone.
 * world_floor() builds, through the deciders themselves, a floor where an order can run:
 * article FT-200 (2 m pieces), flat loom L-07 carrying ready beam B-1 (5,000 m, 8 %
 * take-up) with its first piece passed, and weaver W-12 on shift 2026-11-24/A.
 * Personal fields are sealed before deciding, as fofal-api seals them (one test key).
 */
#ifndef FOFAL_TEST_WORLD_H
#define FOFAL_TEST_WORLD_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

#define W_TENANT "tenant-a"
#define W_ISSUED (1795508102LL * 1000000 + 654321) /* 2026-11-24T08:15:02.654321Z: shift A at UTC+1 */

static json_t *world;                  /* aggregate id → state */
static const fofal_registry_t *w_reg;  /* set by world_init */
static unsigned char w_person_key[FOFAL_PD_KEY_BYTES]; /* every person's key, in this world */
/* Who sends the commands, as fofal-api puts it on them from the token: an admin without a
 * badge unless a test says otherwise (world_as). */
static const char *w_actor = "u:tester/admin";
static const char *w_badge;

/* From now on, commands come from `actor` ("u:<subject>/<role>") with `badge` (may be NULL). */
__attribute__((unused)) static void world_as(const char *actor, const char *badge) {
  w_actor = actor;
  w_badge = badge;
}

/* While a decider runs: a copy of every aggregate it was given or looked up, taken at its
 * first read, to hold it to reading the world without changing it. Copying only what it
 * reads (not the whole world) keeps a decision's cost independent of the world's size. */
static json_t *w_read;

__attribute__((unused)) static const json_t *world_get(const fofal_lookup_t *l, const char *id) {
  (void)l;
  json_t *s = json_object_get(world, id);
  if (w_read && s && !json_object_get(w_read, id)) json_object_set_new(w_read, id, json_deep_copy(s));
  return s;
}
static const fofal_lookup_t world_lookup = {.get = world_get};

__attribute__((unused)) static void world_init(const fofal_registry_t *reg) {
  w_reg = reg;
  world = json_object();
  cr_assert_eq(fofal_pd_init(), 0);
  memset(w_person_key, 0x2b, sizeof w_person_key);
  world_as("u:tester/admin", NULL);
}

__attribute__((unused)) static void world_free(void) {
  json_decref(world);
  world = NULL;
}

/* The state of `code` in `ns` (borrowed) or NULL. */
__attribute__((unused)) static const json_t *world_ref(const char *ns, const char *code) {
  char id[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(W_TENANT, ns, code, id);
  return json_object_get(world, id);
}

/* Stores what a decision gave other aggregates. */
__attribute__((unused)) static void world_apply_others(const fofal_decision_t *d) {
  const char *id;
  json_t *o;
  json_object_foreach(d->others, id, o) {
    cr_assert_not_null(json_object_get(o, "state"), "a decision changed %s without a state", id);
    cr_assert_gt(json_array_size(json_object_get(o, "events")), 0, "a decision changed %s without an event", id);
    json_object_set(world, id, json_object_get(o, "state"));
  }
}

/* Decides `type` with `data` (stolen) at `issued_us` against the world, as the processor
 * would (the aggregate from the data, its state from the world), and on acceptance stores
 * every new state. Returns the decider's rc; *d is the caller's to release with
 * world_release (d may be NULL: released here). */
__attribute__((unused)) static int world_decide_at(const char *type, json_t *data, int64_t issued_us, const char *cmd_id, fofal_decision_t *dout) {
  const fofal_command_def_t *def = fofal_registry_find(w_reg, type);
  cr_assert_not_null(def, "%s not in the registry", type);
  if (dout) memset(dout, 0, sizeof *dout);
  json_t *errors = NULL;
  int vrc = fofal_registry_validate(w_reg, type, data, &errors);
  char *es = errors ? json_dumps(errors, JSON_COMPACT) : NULL;
  cr_assert_eq(vrc, 0, "test bug: %s data does not match its schema: %s", type, es ? es : "");
  free(es);
  json_decref(errors);
  char agg[FOFAL_UUID_LEN + 1];
  cr_assert_eq(fofal_command_aggregate_id(def, W_TENANT, cmd_id, data, agg), 0, "aggregate id of %s", type);
  /* As fofal-api does: personal fields sealed with the person's key before the log, where
   * the processor accepts them only sealed. */
  size_t pi;
  json_t *pf;
  json_array_foreach(fofal_registry_personal(w_reg, type), pi, pf) {
    const char *name = json_string_value(pf);
    json_t *v = json_object_get(data, name);
    if (v) json_object_set_new(data, name, fofal_pd_seal(w_person_key, W_TENANT, agg, name, v));
  }
  vrc = fofal_registry_validate_sealed(w_reg, type, data, &errors);
  es = errors ? json_dumps(errors, JSON_COMPACT) : NULL;
  cr_assert_eq(vrc, 0, "%s data, sealed, does not match the processor's schema: %s", type, es ? es : "");
  free(es);
  json_decref(errors);
  const json_t *state = json_object_get(world, agg);
  if (def->creates == 1 && state) { /* FOFAL_CREATES_OR_UPDATES: either */
    json_decref(data);
    return FOFAL_EEXIST;
  }
  cr_assert(def->creates || state, "%s: no aggregate %s", type, agg);
  fofal_cmd_t cmd = {.id = cmd_id, .type = type, .tenant = W_TENANT, .actor = w_actor, .actor_badge = w_badge, .aggregate = agg,
                     .expected_version = -1, .issued_us = issued_us, .data = data, .lookup = &world_lookup};
  fofal_decision_t d = {0};
  w_read = json_object();
  if (state) json_object_set_new(w_read, agg, json_deep_copy(state));
  int rc = def->decide(&cmd, state, &d);
  const char *rid;
  json_t *copy;
  json_object_foreach(w_read, rid, copy) {
    cr_assert(json_equal(json_object_get(world, rid), copy), "%s changed the world it read (%s)", type, rid);
  }
  json_decref(w_read);
  w_read = NULL;
  if (!rc) {
    cr_assert_not_null(d.state, "%s accepted without a state", type);
    json_object_set(world, agg, d.state);
    world_apply_others(&d);
  } else {
    cr_assert_null(d.events, "%s rejected but left events", type);
    cr_assert_null(d.others, "%s rejected but left changes to other aggregates", type);
  }
  json_decref(data);
  if (dout) *dout = d;
  else {
    json_decref(d.events);
    json_decref(d.state);
    json_decref(d.others);
  }
  return rc;
}

__attribute__((unused)) static void world_release(fofal_decision_t *d) {
  json_decref(d->events);
  json_decref(d->state);
  json_decref(d->others);
  memset(d, 0, sizeof *d);
}

/* Decides and expects acceptance. */
__attribute__((unused)) static void world_ok(const char *type, json_t *data, const char *cmd_id) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, cmd_id, &d);
  cr_assert_eq(rc, 0, "%s (%s) rejected: %s: %s", type, cmd_id, d.code, d.detail);
  world_release(&d);
}

/* Decides and expects a rejection with `code`. */
__attribute__((unused)) static void world_no(const char *type, json_t *data, const char *code) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, "cmd-refused", &d);
  cr_assert_eq(rc, FOFAL_EREJECTED, "%s was accepted, want %s", type, code);
  cr_assert_str_eq(d.code, code, "%s: %s (%s), want %s", type, d.code, d.detail, code);
  world_release(&d);
}

/* A ready beam `code` of `kind` and `length_m`. */
__attribute__((unused)) static void world_beam(const char *code, const char *kind, double length_m) {
  char id[80];
  snprintf(id, sizeof id, "warp-%s", code);
  world_ok("production.beam.warp",
           json_pack("{s:s,s:s,s:[s],s:i,s:f}", "beam", code, "kind", kind, "yarn_lots", "LOT-1", "ends", 4000, "length_m",
                     length_m),
           id);
  snprintf(id, sizeof id, "size-%s", code);
  world_ok("production.beam.size", json_pack("{s:s}", "beam", code), id);
  snprintf(id, sizeof id, "draw-%s", code);
  world_ok("production.beam.draw_in", json_pack("{s:s}", "beam", code), id);
}

__attribute__((unused)) static void world_floor(void) {
  world_ok("catalog.article.define",
           json_pack("{s:s,s:s,s:s,s:i,s:i,s:i}", "article", "FT-200", "name", "Fouta 100x200", "weave", "flat", "width_cm",
                     100, "length_cm", 200, "picks_per_cm", 18),
           "art");
  world_ok("production.loom.register",
           json_pack("{s:s,s:s,s:s,s:i,s:s}", "loom", "L-07", "hall", "H1", "type", "rapier", "nominal_ppm", 450, "weave",
                     "flat"),
           "loom");
  world_beam("B-1", "ground", 5000);
  world_ok("production.loom.mount_beam", json_pack("{s:s,s:s}", "loom", "L-07", "beam", "B-1"), "mount");
  world_ok("production.loom.check_first_piece", json_pack("{s:s,s:s}", "loom", "L-07", "result", "pass"), "fp");
  world_ok("hr.employee.register", json_pack("{s:s,s:s,s:s}", "badge", "W-12", "name", "Amira", "job", "weaver"),
           "emp");
  world_ok("hr.employee.assign_shift", json_pack("{s:s,s:s,s:[s]}", "badge", "W-12", "shift", "2026-11-24/A", "looms", "L-07"),
           "shift");
}

#endif
