/*
 * inventory.h — private to commands/inventory/: what its files share. inventory.c
 * registers the module's command tables; stores.c holds the storekeepers' deciders.
 */
#ifndef FOFAL_COMMANDS_INVENTORY_H
#define FOFAL_COMMANDS_INVENTORY_H

#include "commands.h"

/* The storekeepers' commands (stores.c): locations, yarn lots, moves, cartons, pallets,
 * counts. */
extern const fofal_command_def_t fofal__inventory_stores_commands[];
extern const int fofal__inventory_stores_ncommands;

/* 1 when s is an SSCC-18: 18 digits, the last the GS1 mod-10 check digit of the others. */
int fofal__inventory_sscc_valid(const char *s);

#endif
