/*
 * production.h — private to commands/production/ and its tests: the production module's
 * command tables, which production.c registers (fofal_module_production_commands).
 */
#ifndef FOFAL_COMMANDS_PRODUCTION_H
#define FOFAL_COMMANDS_PRODUCTION_H

#include "commands.h"

/* Production orders (production_order.c). */
extern const fofal_command_def_t fofal_production_commands[];
extern const int fofal_production_commands_n;
/* The weaving floor around them: looms, beams (weaving.c). */
extern const fofal_command_def_t fofal_weaving_commands[];
extern const int fofal_weaving_commands_n;

#endif
