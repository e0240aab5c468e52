/*
 * control_sql.h — the statements of control's cost, yield and loss reads (control_sql.c),
 * shared by the read routes (control_api.c) and fofal-bench-control (tests/bench/control.c),
 * which times them on a generated mill.
 */
#ifndef FOFAL_CONTROL_SQL_H
#define FOFAL_CONTROL_SQL_H

extern const char fofal__control_cost_output_sql[];
extern const char fofal__control_cost_beams_sql[];
extern const char fofal__control_cost_labour_sql[];
extern const char fofal__control_cost_grades_sql[];
extern const char fofal__control_yields_sql[];
extern const char fofal__control_loss_stops_sql[];
extern const char fofal__control_loss_speed_sql[];
extern const char fofal__control_loss_rejects_sql[];
extern const char fofal__control_cost_machine_sql[];
extern const char fofal__control_cost_overhead_sql[];
extern const char fofal__control_cost_standard_sql[];
extern const char fofal__control_cost_subcontracting_sql[];
extern const char fofal__control_loss_settings_sql[]; /* not in the bench's list */
/* All of them, in the order above. */
extern const char *const fofal__control_read_sql[12];

#endif
