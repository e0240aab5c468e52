/*
 * reactions_table.c — the reactions of every module, as the engines read them
 * (fofal_reaction_modules[], commands.h "reactions").
 *
 * Hand-written for now, in the shape of the build's generated module tables: once the
 * build discovers the module folders (issue 13 items 1-2), it generates this table from the
 * commands/<m>/reactions.c files present — each defining fofal_module_<m>_reactions — and
 * this file goes. Until then a module that declares reactions adds its line here.
 */
#include "commands.h"

#include <stddef.h>

extern const fofal_reaction_module_t fofal_module_production_reactions;

const fofal_reaction_module_t *const fofal_reaction_modules[] = {
    &fofal_module_production_reactions,
    NULL,
};
