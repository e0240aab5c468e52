/*
 * pay.c — the hr projection's piece rates and pay lines (schemas/hr/072_pay.sql).
 *
 * A rate set from a day replaces a rate set from the same day of its role and grade (as
 * the decider does); a pay accrual is one line per declaration (its label id) or per
 * graded lot of a cut and role (the lot's label id), carrying the rate it used and
 * its amount in minor units and the pay period it is paid in, so a payslip sums lines and
 * never recomputes them; a closed pay period is a row of pay_periods.
 *
 * Deterministic functions of their events (times from the events), so a rebuild yields the
 * same rows. Run by the projector's thread, inside its batch's transaction.
 */
#include "hr_apply.h"

int fofal__hr_piece_rate_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char rate[40];
  const char *params[] = {ev->tenant, fofal_ev_str(d, "article"), fofal_ev_str(d, "valid_from"), fofal_ev_str(d, "unit"),
                          fofal_ev_num(d, "rate_minor", rate), fofal_ev_str(d, "set_by"), m.at,
                          fofal_ev_str(d, "role"), fofal_ev_str(d, "grade")};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.piece_rates (tenant, article, valid_from, unit, rate_minor, set_by, set_at, "
                           "role, grade) VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8, 'weaver'), coalesce($9, '')) "
                           "ON CONFLICT (tenant, article, role, grade, valid_from) DO UPDATE SET "
                           "unit = EXCLUDED.unit, rate_minor = EXCLUDED.rate_minor, set_by = EXCLUDED.set_by, "
                           "set_at = EXCLUDED.set_at",
                           9, params);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "hr");
  return 0;
}

int fofal__hr_pay_period_closed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char gross[40], lines[40];
  const char *params[] = {ev->tenant, fofal_ev_str(ev->data, "period"), fofal_ev_str(ev->data, "closed_by"), m.at,
                          fofal_ev_str(ev->data, "site"), fofal_ev_num(ev->data, "gross_minor", gross),
                          fofal_ev_num(ev->data, "lines", lines)};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.pay_periods (tenant, period, closed_by, closed_at, site, gross_minor, lines) "
                           "VALUES ($1, $2, $3, $4, coalesce($5, 'main'), coalesce($6::bigint, 0), coalesce($7::int, 0)) "
                           "ON CONFLICT DO NOTHING",
                           7, params);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "hr");
  return 0;
}

int fofal__hr_pay_accrued(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char q[40], mm[40], rate[40], amount[40], weight[40];
  const char *params[] = {ev->tenant, fofal_ev_str(d, "badge"), fofal_ev_str(d, "label_id"), fofal_ev_str(d, "order_id"),
                          fofal_ev_str(d, "article"), fofal_ev_str(d, "shift"), fofal_ev_str(d, "woven_at"),
                          fofal_ev_num(d, "quantity", q), fofal_ev_num(d, "length_mm", mm), fofal_ev_str(d, "unit"),
                          fofal_ev_num(d, "rate_minor", rate), fofal_ev_num(d, "amount_minor", amount), m.at,
                          fofal_ev_str(d, "pay_period"), fofal_ev_str(d, "role"), fofal_ev_str(d, "grade"),
                          fofal_ev_str(d, "roll"), fofal_ev_num(d, "weight_g", weight), fofal_ev_str(d, "site"),
                          fofal_ev_str(d, "cut_at")};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.pay_lines (tenant, badge, label_id, order_id, article, shift, shift_day, "
                           "woven_at, quantity, length_mm, unit, rate_minor, amount_minor, accrued_at, pay_period, role, "
                           "grade, roll, weight_g, site) VALUES "
                           "($1, $2, $3, $4, $5, $6, left($6, 10)::date, coalesce($7::timestamptz, $20::timestamptz), "
                           "$8, $9, $10, $11, $12, $13, coalesce($14, left($6, 7)), coalesce($15, 'weaver'), $16, $17, $18, coalesce($19, 'main')) "
                           "ON CONFLICT DO NOTHING",
                           20, params);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "hr");
  return 0;
}

/* An accrual's share of its period's gross (the period's aggregate): the closed period's
 * row (pay_period_closed) carries the gross; an open period's is the sum of its pay lines,
 * so nothing is stored, only pushed. */
int fofal__hr_pay_period_accrued(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_apply_push(ctx, ev, "hr");
  return 0;
}
