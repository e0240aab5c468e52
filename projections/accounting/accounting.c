/*
 * accounting.c — the accounting module's projection: journal entries, their lines, the
 * closed periods, the tenant's accounts and its company into PostgreSQL (schema
 * accounting, schemas/accounting/085_accounting.sql, 086_…, 098_accounting_company.sql),
 * and a WebSocket push per applied event.
 *
 * An entry is one row and its lines one row each (with the entry's date, so a balance at a
 * date is one indexed sum). Deterministic functions of their events (times from their
 * envelopes), so a rebuild yields the same rows and `fofal verify accounting` the same
 * trial balance to the minor unit. Run by the projector's thread, inside its batch's
 * transaction.
 */
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>

static int entry_posted(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data, *src = json_object_get(d, "source");
  char total[40];
  const char *params[] = {ev->tenant, fofal_ev_str(d, "entry_id"), fofal_ev_str(d, "date"), fofal_ev_str(d, "memo"),
                          fofal_ev_num(d, "total_minor", total), fofal_ev_str(d, "posted_by"), m.at,
                          fofal_ev_str(src, "event_id"), fofal_ev_str(src, "type")};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.entries (tenant, entry_id, date, memo, total_minor, posted_by, posted_at, "
                           "source_event, source_type) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                           9, params);
  if (rc) return rc;
  char *lines = fofal_ev_jtext(d, "lines");
  const char *lp[] = {ev->tenant, fofal_ev_str(d, "entry_id"), fofal_ev_str(d, "date"), lines ? lines : "[]"};
  rc = fofal_apply_sql(ctx,
                       "INSERT INTO %s.entry_lines (tenant, entry_id, n, account, debit_minor, credit_minor, label, date) "
                       "SELECT $1, $2, l.n, l.v->>'account', coalesce((l.v->>'debit_minor')::bigint, 0), "
                       "coalesce((l.v->>'credit_minor')::bigint, 0), l.v->>'label', $3 FROM "
                       "jsonb_array_elements($4::jsonb) WITH ORDINALITY AS l(v, n) ON CONFLICT DO NOTHING",
                       4, lp);
  free(lines);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "accounting");
  return 0;
}

static int period_closed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *params[] = {ev->tenant, fofal_ev_str(ev->data, "period"), fofal_ev_str(ev->data, "closed_by"), m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.periods (tenant, period, closed_by, closed_at) VALUES ($1, $2, $3, $4) "
                           "ON CONFLICT DO NOTHING",
                           4, params);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "accounting");
  return 0;
}

/* The tenant's name for an account (accounting.account.define): added to the default chart
 * (086_accounting_chart.sql) or renaming one of its accounts. */
static int account_defined(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char cls[40];
  const json_t *d = ev->data;
  const char *params[] = {ev->tenant, fofal_ev_str(d, "account"), fofal_ev_str(d, "name"), fofal_ev_num(d, "class", cls),
                          fofal_ev_str(d, "defined_by"), m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.accounts (tenant, account, name, class, defined_by, defined_at) VALUES ($1, $2, "
                           "$3, $4, $5, $6) ON CONFLICT (tenant, account) DO UPDATE SET name = EXCLUDED.name, class = "
                           "EXCLUDED.class, defined_by = EXCLUDED.defined_by, defined_at = EXCLUDED.defined_at",
                           6, params);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "accounting");
  return 0;
}

/* The company the statements name (accounting.company.set): one row per tenant. */
static int company_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *params[] = {ev->tenant, fofal_ev_str(d, "name"), fofal_ev_str(d, "tax_id"), fofal_ev_str(d, "set_by"),
                          m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.company (tenant, name, tax_id, set_by, set_at) VALUES ($1, $2, $3, $4, $5) "
                           "ON CONFLICT (tenant) DO UPDATE SET name = EXCLUDED.name, tax_id = EXCLUDED.tax_id, set_by = "
                           "EXCLUDED.set_by, set_at = EXCLUDED.set_at",
                           5, params);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "accounting");
  return 0;
}

/* A year's results are the deciders' (the year's aggregate): nothing to show here. */
static int result_accrued(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  (void)ctx;
  (void)ev;
  return 0;
}

/* What a purchase order has in 408 and an item's cost (item_costed; item_priced before
 * it) are the deciders' (aggregates of this module): their entries are the ledger's, nothing else to
 * show. */
static int order_accrued(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  (void)ctx;
  (void)ev;
  return 0;
}

/* A closed year's closing entry: an entry of the ledger, its source the close. */
static int year_closed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char total[40], memo[64];
  snprintf(memo, sizeof memo, "clôture de l'exercice %s", fofal_ev_str(d, "year"));
  const char *params[] = {ev->tenant, fofal_ev_str(d, "entry_id"), fofal_ev_str(d, "date"), memo,
                          fofal_ev_num(d, "total_minor", total), fofal_ev_str(d, "closed_by"), m.at, ev->id, ev->type};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.entries (tenant, entry_id, date, memo, total_minor, posted_by, posted_at, "
                           "source_event, source_type) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                           9, params);
  if (rc) return rc;
  char *lines = fofal_ev_jtext(d, "lines");
  const char *lp[] = {ev->tenant, fofal_ev_str(d, "entry_id"), fofal_ev_str(d, "date"), lines ? lines : "[]"};
  rc = fofal_apply_sql(ctx,
                       "INSERT INTO %s.entry_lines (tenant, entry_id, n, account, debit_minor, credit_minor, label, date) "
                       "SELECT $1, $2, l.n, l.v->>'account', coalesce((l.v->>'debit_minor')::bigint, 0), "
                       "coalesce((l.v->>'credit_minor')::bigint, 0), l.v->>'label', $3 FROM "
                       "jsonb_array_elements($4::jsonb) WITH ORDINALITY AS l(v, n) ON CONFLICT DO NOTHING",
                       4, lp);
  free(lines);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "accounting");
  return 0;
}

static const fofal_apply_t applies[] = {
    {"fofal.accounting.result_accrued.v1", result_accrued},
    {"fofal.accounting.order_accrued.v1", order_accrued},
    {"fofal.accounting.item_priced.v1", order_accrued},
    {"fofal.accounting.item_costed.v1", order_accrued},
    {"fofal.accounting.year_closed.v1", year_closed},
    {"fofal.accounting.account_defined.v1", account_defined},
    {"fofal.accounting.company_set.v1", company_set},
    {"fofal.accounting.entry_posted.v1", entry_posted},
    {"fofal.accounting.period_closed.v1", period_closed},
};

static const char *const tables[] = {"entries", "entry_lines", "periods", "accounts", "company", NULL};

static const fofal_projection_def_t projection = {
    .name = "accounting",
    .module = "accounting",
    .pg_schema = "accounting",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

/* The module's registration (projections.h, "modules"); audited, as every module is by
 * default (projection "audit.accounting"). */
static const fofal_projection_def_t *const projections[] = {&projection, NULL};
const fofal_projection_module_t fofal_module_accounting_projections = {
    .name = "accounting",
    .projections = projections,
};
