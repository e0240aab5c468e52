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

/* The reactions' deciders (flows.c): a roll cut into piece lots, rejected lots to
 * quarantine, purchase receipts into yarn lots, lots out to subcontractors and back. */
extern const fofal_command_def_t fofal__inventory_flows_commands[];
extern const int fofal__inventory_flows_ncommands;

/* stores.c's helpers that flows.c shares: when a thing happened (occurred_at or now;
 * rejects one in the future), may a holding of kind stand at a location of lkind, a
 * holding's kind ("lot", "unit", ""), and a change of a location's contents with its
 * stock_changed event (work: the locations this decision changed so far, id → state). */
int fofal__inventory_occurred(const fofal_cmd_t *cmd, fofal_decision_t *out, char at[32]);
int fofal__inventory_kind_fits(const char *kind, const char *lkind);
const char *fofal__inventory_holding_kind(const json_t *s);
void fofal__inventory_ledger_change(json_t *work, const fofal_cmd_t *cmd, fofal_decision_t *out, const char *loc_id,
                                    const char *holding_id, const char *holding, const char *kind, const char *item,
                                    json_int_t delta, const char *cause, const char *at);

#endif
