/*
 * hr.h — private to commands/hr/ and its tests: what the module's two files share, the
 * shift model (shifts.c) and employees (hr.c, which registers both tables).
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

#endif
