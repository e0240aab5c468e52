/*
 * hr.c — the hr module's employees and its registration in the command layer (the shift
 * model's deciders are in shifts.c): employees, their shift assignments and the mill's
 * shift model; attendance (attendance.c) and piece-rate pay (pay.c, reactions.c) are
 * listed here too.
 *
 *   hr.employee.register       by badge (W012): job, site (their pay periods') and personal
 *                              data (sealed)
 *   hr.employee.update         job or personal data
 *   hr.employee.erase          right to erasure: the person's key is deleted first
 *   hr.employee.assign_shift   on a shift of the model (and looms); a person's shifts
 *                              never overlap
 *
 * Events go to fofal.hr.events (the topic follows from the module). An employee is named by
 * their badge: its aggregate id is fofal_aggregate_ref(tenant, "employee", badge), the
 * shift model's fofal_aggregate_ref(tenant, "shiftmodel", "default"), whatever module
 * reads them.
 *
 * Lifecycle: employee: registered → updated … → erased (personal data shredded; nothing after)
 *
 * Reads across modules, both ways. An assignment names looms (production's aggregates)
 * and checks that they are registered. Production's decisions read this module's
 * aggregates: a declaration (order.declare_output) finds the weaver's employee record and
 * the assignment covering the moment it was woven (the state's "shifts", below), or else
 * names the shift of the model it falls in; an intervention's mechanic must be a
 * registered employee. They may, because the decider holds every aggregate of a tenant,
 * whatever its module: all commands travel on the one topic fofal.commands, keyed so
 * that a tenant's commands share a partition (fofal_tenant_partition), and the
 * processor's state store is per partition, so a lookup (fofal_cmd_lookup, lookup_ref)
 * sees the employee as of the last command decided before, and a decision never reads a
 * state a concurrent one is changing. The cost: a tenant's commands of every module are
 * decided one after the other on one partition (a busy module slows the others of that
 * tenant); each such read is a look-up in the partition's in-memory map of aggregate
 * records (read from fofal.decider.state when the partition was assigned) and a JSON
 * parse of the record, held until the decision is done — no I/O at decision time, and an
 * employee's record stays small (its assignments are capped); and it couples the reader
 * to the shape of this module's state — an employee's "shifts"
 * ({shift, starts_us, ends_us, looms}, at most MAX_ASSIGNMENTS, oldest dropped) and
 * "erased", the model's versions ("previous", "from_day"): change them compatibly. A
 * decision may not write another module's aggregates (fofal_decision_emit_to is for the
 * command's own module), so a declaration never changes an employee.
 *
 * Personal data. The personal fields (schemas/hr/commands: "x-fofal-personal") reach the
 * log sealed with the employee's own key (fofal-api seals them; the processor refuses a
 * plain one); erase is crypto-shredding: fofal-api deletes the key before the command
 * reaches Kafka (its schema says "x-fofal-erases-person"), so every sealed field of theirs
 * in every event reads "erased" from then on (projections/personal.c).
 *
 * Who may send them is their schemas' x-fofal-roles: people's records are hr's (register
 * also a manager's, update and erase hr and admin only), shifts the planner's (planner,
 * manager, admin assign them and define the model).
 *
 * The build finds this folder and lists fofal_module_hr_commands in the generated
 * fofal_command_modules[]. Pure functions: no I/O, no clock.
 */
#include "hr.h"

#define MAX_ASSIGNMENTS 42       /* shifts remembered per employee: two weeks of 3×8 */

const json_t *fofal__hr_shift_model(const fofal_cmd_t *cmd) { return lookup_ref(cmd, "shiftmodel", "default", NULL); }

/* The personal fields of an employee. In the log they are always sealed (the API sealed
 * them with the employee's key before the command reached Kafka, and the processor refused
 * a plain one), so deciders copy them as they are and never read them. */
static const char *const personal[] = {"name", "phone", "national_id", "bank_account", "salary"};
#define NPERSONAL (sizeof personal / sizeof personal[0])

static int employee_register(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  json_t *ev = json_pack("{s:s}", "badge", jstr(cmd->data, "badge"));
  for (size_t i = 0; i < NPERSONAL; i++) jcopy(ev, cmd->data, personal[i]);
  jcopy(ev, cmd->data, "job");
  jcopy(ev, cmd->data, "site");
  out->state = json_deep_copy(ev);
  json_object_set_new(out->state, "shifts", json_array());
  fofal_decision_emit(out, EV("employee_registered"), ev);
  return 0;
}

static int employee_update(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (json_is_true(json_object_get(state, "erased")))
    return REJECT(out, "employee_erased", "the personal data of %s was erased", jstr(state, "badge"));
  json_t *ev = json_pack("{s:s}", "badge", jstr(state, "badge"));
  jcopy(ev, cmd->data, "job");
  jcopy(ev, cmd->data, "site");
  for (size_t i = 0; i < NPERSONAL; i++) jcopy(ev, cmd->data, personal[i]);
  out->state = json_deep_copy(state);
  json_object_update(out->state, ev);
  fofal_decision_emit(out, EV("employee_updated"), ev);
  return 0;
}

/* Right to erasure. The API deleted the employee's key before this command reached Kafka,
 * so every sealed field of theirs, in every event, already reads "erased"; this event
 * records who erased whom and why, and tells the read models to forget what they opened.
 * The badge, job and shifts stay: they are the mill's records, not personal data. */
static int employee_erase(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (json_is_true(json_object_get(state, "erased")))
    return REJECT(out, "already_erased", "the personal data of %s was already erased", jstr(state, "badge"));
  out->state = json_deep_copy(state);
  for (size_t i = 0; i < NPERSONAL; i++) json_object_del(out->state, personal[i]);
  json_object_set_new(out->state, "erased", json_true());
  fofal_decision_emit(out, EV("employee_erased"),
                      json_pack("{s:s,s:s}", "badge", jstr(state, "badge"), "reason", jstr(cmd->data, "reason")));
  return 0;
}

static int employee_assign_shift(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  fofal_shift_t sh;
  if (json_is_true(json_object_get(state, "erased")))
    return REJECT(out, "employee_erased", "%s was erased: they no longer work here", jstr(state, "badge"));
  const char *id = jstr(cmd->data, "shift");
  const json_t *model = fofal__hr_shift_model(cmd);
  if (fofal_shift_span(model, id, &sh))
    return REJECT(out, "unknown_shift", "%s is not a shift of the mill's shift model", id);
  if (!fofal__hr_works_on_shift(model, &sh))
    return REJECT(out, "not_a_working_day", "the mill does not work on the day of %s", id);
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(state, "shifts"), i, a) {
    if (jeq(a, "shift", id)) return REJECT(out, "already_assigned", "%s is already on shift %s", jstr(state, "badge"), id);
    if (sh.starts_us < jint(a, "ends_us", 0) && jint(a, "starts_us", 0) < sh.ends_us)
      return REJECT(out, "shifts_overlap", "shift %s overlaps shift %s of %s", id, jstr(a, "shift"), jstr(state, "badge"));
  }
  const json_t *looms = json_object_get(cmd->data, "looms");
  json_array_foreach(looms, i, a) {
    if (!lookup_ref(cmd, "loom", json_string_value(a), NULL))
      return REJECT(out, "unknown_loom", "loom %s is not registered", json_string_value(a));
  }
  json_t *lm = looms ? json_deep_copy(looms) : json_array();
  out->state = json_deep_copy(state);
  json_t *list = json_object_get(out->state, "shifts");
  json_array_append_new(list, json_pack("{s:s,s:I,s:I,s:O}", "shift", id, "starts_us", (json_int_t)sh.starts_us, "ends_us",
                                        (json_int_t)sh.ends_us, "looms", lm));
  while (json_array_size(list) > MAX_ASSIGNMENTS) json_array_remove(list, 0);
  char from[32], to[32];
  fofal_time_format(sh.starts_us, from);
  fofal_time_format(sh.ends_us, to);
  fofal_decision_emit(out, EV("shift_assigned"),
                      json_pack("{s:s,s:s,s:s,s:s,s:o}", "badge", jstr(state, "badge"), "shift", id, "starts_at", from,
                                "ends_at", to, "looms", lm));
  return 0;
}

static const fofal_command_def_t commands[] = {
    {"hr.employee.register", "badge", 1, "Register an employee by badge (weaver, mechanic …).", employee_register,
     "employee"},
    {"hr.employee.update", "badge", 0, "Change an employee's job or personal data (phone, bank account, salary …).",
     employee_update, "employee"},
    {"hr.employee.erase", "badge", 0, "Erase an employee's personal data (their key is deleted: crypto-shredding).",
     employee_erase, "employee"},
    {"hr.employee.assign_shift", "badge", 0, "Put an employee on a shift (and looms); shifts may not overlap.",
     employee_assign_shift, "employee"},
};
static const int ncommands = sizeof commands / sizeof commands[0];

static const fofal_command_table_t tables[] = {
    {fofal__hr_shift_commands, &fofal__hr_shift_commands_n},
    {fofal__hr_attendance_commands, &fofal__hr_attendance_commands_n},
    {fofal__hr_pay_commands, &fofal__hr_pay_commands_n},
    {commands, &ncommands},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_hr_commands = {.name = "hr", .tables = tables};
