/*
 * control.h — private to commands/control/ and its tests: the command tables control.c
 * registers besides its own (costing_set.c: machine rates, overheads, standard costs).
 */
#ifndef FOFAL_COMMANDS_CONTROL_H
#define FOFAL_COMMANDS_CONTROL_H

#include "decide.h"

/* What the tenant sets for costing (costing_set.c). */
extern const fofal_command_def_t fofal__control_costing_commands[];
extern const int fofal__control_costing_commands_n;

#endif
