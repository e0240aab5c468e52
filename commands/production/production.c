/*
 * production.c — the production module's registration in the command layer: its command
 * tables, which the registry loads (commands.h, "modules"). The build finds this folder
 * and lists fofal_module_production_commands in the generated fofal_command_modules[].
 */
#include "production.h"

#include <stddef.h>

static const fofal_command_table_t tables[] = {
    {fofal_production_commands, &fofal_production_commands_n},
    {fofal_weaving_commands, &fofal_weaving_commands_n},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_production_commands = {.name = "production", .tables = tables};
