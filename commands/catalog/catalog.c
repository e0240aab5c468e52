/*
 * catalog.c — the catalog module's deciders and its registration in the command layer:
 * articles (fouta models; later yarns and other items with their units).
 *
 *   catalog.article.define   an article: size, weight, density, yarns per piece
 *   catalog.article.update   only what changes (a no-op is rejected: no_change)
 *   catalog.item.define      a material: yarn (count, material, colour, supplier
 *                            reference), accessory or packaging, and the unit it counts in
 *   catalog.item.set_conversions  its other units: qty <unit> = base_qty <its unit>
 *
 * Events go to fofal.catalog.events (the topic follows from the module). An article is
 * named by its code (FT-100x200): its aggregate id is fofal_aggregate_ref(tenant,
 * "article", code), whatever module reads it.
 *
 * Other modules' decisions read articles (production's loom set-up checks that the
 * article exists and copies its density). They may, because the decider holds every
 * aggregate of a tenant, whatever its module: all commands travel on the one topic
 * fofal.commands, keyed so that a tenant's commands share a partition
 * (fofal_tenant_partition), and the processor's state store is per partition, so a
 * lookup (fofal_cmd_lookup) sees the article as of the last command decided before, and
 * a decision never reads a state a concurrent one is changing. The cost: a tenant's
 * commands are decided one after the other on one partition whatever their module (a
 * busy module slows the others of that tenant), and such a read couples the reader to
 * the shape of this module's state (article_fields below): change it compatibly. A
 * decision may not write another module's aggregates (fofal_decision_emit_to is for the
 * command's own module).
 *
 * The build finds this folder and lists fofal_module_catalog_commands in the generated
 * fofal_command_modules[]. Pure functions: no I/O, no clock.
 */
#include "decide.h"

#define EV(name) "fofal.catalog." name ".v1"

static const char *article_fields[] = {"name", "weave", "width_cm", "length_cm", "gsm", "picks_per_cm",
                                       "warp_yarn", "weft_yarn", "pile_yarn", "warp_g_per_piece", "weft_g_per_piece",
                                       "pile_g_per_piece", NULL};

static int article_define(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  json_t *ev = json_pack("{s:s}", "article", jstr(cmd->data, "article"));
  for (int i = 0; article_fields[i]; i++) jcopy(ev, cmd->data, article_fields[i]);
  out->state = json_deep_copy(ev);
  fofal_decision_emit(out, EV("article_defined"), ev);
  return 0;
}

static int article_update(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  json_t *ev = json_pack("{s:s}", "article", jstr(cmd->data, "article"));
  int changed = 0;
  out->state = json_deep_copy(state);
  for (int i = 0; article_fields[i]; i++) {
    json_t *v = json_object_get(cmd->data, article_fields[i]);
    if (v && !json_equal(v, json_object_get(state, article_fields[i]))) {
      json_object_set(ev, article_fields[i], v);
      json_object_set(out->state, article_fields[i], v);
      changed++;
    }
  }
  if (!changed) {
    json_decref(ev);
    return REJECT(out, "no_change", "the update changes nothing");
  }
  fofal_decision_emit(out, EV("article_updated"), ev);
  return 0;
}

static const char *item_fields[] = {"kind", "name", "unit", "yarn_count", "material", "colour", "supplier_ref", NULL};

/* Items are named by code (ns "item"); inventory's yarn lots read them (lot.receive). */
static int item_define(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  json_t *ev = json_pack("{s:s}", "item", jstr(cmd->data, "item"));
  for (int i = 0; item_fields[i]; i++) jcopy(ev, cmd->data, item_fields[i]);
  out->state = json_deep_copy(ev);
  fofal_decision_emit(out, EV("item_defined"), ev);
  return 0;
}

/* Units and conversions. An item counts in its unit (item_define); conversions say how many
 * of another unit make how many of it: {unit, qty, base_qty}, "qty <unit> = base_qty
 * <item's unit>" (a yarn in g: 1 cone = 1500 g, 17000 m = 1000 g). Both are integers, so a
 * read converts exactly (catalog_units.in_units, schemas/catalog/063_in_units_outside_rebuilds.sql: integer
 * division, and whether it was exact). kg of g and m of mm are fixed (1000) and implied. */
static int fixed_pair(const char *a, const char *b) {
  return (!strcmp(a, "g") && !strcmp(b, "kg")) || (!strcmp(a, "kg") && !strcmp(b, "g")) ||
         (!strcmp(a, "mm") && !strcmp(b, "m")) || (!strcmp(a, "m") && !strcmp(b, "mm"));
}

static int item_set_conversions(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *base = jstr(state, "unit");
  const json_t *conv = json_object_get(cmd->data, "conversions");
  size_t i, j;
  json_t *c;
  json_array_foreach(conv, i, c) {
    const char *u = jstr(c, "unit");
    if (!strcmp(u, base)) return REJECT(out, "same_unit", "%s is the item's own unit", u);
    if (fixed_pair(base, u))
      return REJECT(out, "fixed_conversion", "1 %s is 1000 %s always: it is not set", !strcmp(u, "kg") || !strcmp(u, "m") ? u : base,
                    !strcmp(u, "kg") || !strcmp(u, "m") ? base : u);
    for (j = 0; j < i; j++)
      if (jeq(json_array_get(conv, j), "unit", u)) return REJECT(out, "duplicate_unit", "%s is converted twice", u);
  }
  if (json_equal(conv, json_object_get(state, "conversions")) ||
      (!json_array_size(conv) && !json_array_size(json_object_get(state, "conversions"))))
    return REJECT(out, "no_change", "the conversions are these already");
  out->state = json_deep_copy(state);
  json_object_set(out->state, "conversions", (json_t *)conv);
  fofal_decision_emit(out, EV("item_conversions_set"),
                      json_pack("{s:s,s:s,s:O}", "item", jstr(cmd->data, "item"), "unit", base, "conversions", conv));
  return 0;
}

static const fofal_command_def_t commands[] = {
    {"catalog.article.define", "article", 1, "Define an article (a fouta model): size, weight, density, yarns.",
     article_define, "article"},
    {"catalog.article.update", "article", 0, "Change an article's data.", article_update, "article"},
    {"catalog.item.define", "item", 1, "Define an item: a yarn, an accessory or a packaging, and its unit.", item_define,
     "item"},
    {"catalog.item.set_conversions", "item", 0,
     "Set an item's unit conversions (e.g. grams per cone, metres per kg) as integer ratios.", item_set_conversions,
     "item"},
};
static const int ncommands = sizeof commands / sizeof commands[0];

static const fofal_command_table_t tables[] = {
    {commands, &ncommands},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_catalog_commands = {.name = "catalog", .tables = tables};
