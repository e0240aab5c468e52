/*
 * hr.h — private to commands/hr/ and its tests: what the module's files share, the shift
 * model (shifts.c), attendance (attendance.c), piece-rate pay (pay.c) and employees (hr.c,
 * which registers every table).
 */
#ifndef FOFAL_COMMANDS_HR_H
#define FOFAL_COMMANDS_HR_H

#include "decide.h"

#define EV(name) "fofal.hr." name ".v1"

/* The shift model's commands (shifts.c). */
extern const fofal_command_def_t fofal__hr_shift_commands[];
extern const int fofal__hr_shift_commands_n;

/* 1 when the mill works on the local day shift `sh` starts on, by `model` (NULL: the
 * built-in 3×8, every day). */
int fofal__hr_works_on_shift(const json_t *model, const fofal_shift_t *sh);

/* The local date "YYYY-MM-DD" as days since 1970-01-01 into *day. 0 or -1. */
int fofal__hr_parse_day(const char *s, int64_t *day);

/* The shift model's state (NULL: none defined, the built-in 3×8 applies). */
const json_t *fofal__hr_shift_model(const fofal_cmd_t *cmd);

/* Attendance: clock in and out, absences (attendance.c). */
extern const fofal_command_def_t fofal__hr_attendance_commands[];
extern const int fofal__hr_attendance_commands_n;

/* Piece-rate pay: rates and accruals (pay.c). */
extern const fofal_command_def_t fofal__hr_pay_commands[];
extern const int fofal__hr_pay_commands_n;
/* The pay of one declaration in minor units: per "piece", quantity × rate; per "metre",
 * length_mm × rate / 1000; per "kg", weight_g × rate / 1000 (rounded half up). */
int64_t fofal__hr_pay_amount(const char *unit, int64_t quantity, int64_t length_mm, int64_t weight_g, int64_t rate_minor);

#endif
