/*
 * identity.h — the identity module's commands (commands/identity/): the one header of the
 * folder that other folders (api/, ops/, tests) include.
 *
 * Accounts, their badges, shop-floor devices and every security event of a sign-in are
 * commands and events of module `identity` (fofal.identity.events), decided by fofal-decider
 * like any other module's: the log is the truth, and the tables sign-in reads (schema
 * identity) are a projection of it (projections/identity/). Aggregates, all of the tenant's
 * partition:
 *
 *   account   id: a name-based id of (tenant, username) keyed with the master key
 *             (fofal_api_account_id, api/identity_admin.c), so that a second account of
 *             the same name is the same aggregate and is refused by the processor; without
 *             the master key nobody can tell a name from its id.
 *   badge     id: fofal_aggregate_ref(tenant, "badge", code): who holds a badge (one
 *             account per badge and tenant; the account decision assigns it atomically).
 *   device    id: a random UUID made by fofal-api when it enrols one.
 *   realm     id: fofal_identity_realm_id(tenant): sign-in attempts that name no account or
 *             device of the tenant (what was typed is never recorded), so that they too
 *             reach the log with a sequence number. Its commands create it or add to it.
 *
 * Secrets never reach the log in clear. Password and PIN hashes (argon2id), the TOTP
 * secret and the recovery codes' hashes travel sealed under the master key
 * (fofal_pd_secret_seal, purpose FOFAL_IDENTITY_SEAL_* with the tenant and account id as
 * associated data): the log plus the master key restore them; the projection keeps them
 * sealed and sign-in opens them. Usernames are personal data, sealed with the account's
 * own data key like any personal field (`fofal account erase` shreds them).
 */
#ifndef FOFAL_COMMANDS_IDENTITY_H
#define FOFAL_COMMANDS_IDENTITY_H

#include "commands.h"

/* The command table (identity.c). */
extern const fofal_command_def_t fofal_identity_commands[];
extern const int fofal_identity_commands_n;

/* Purposes of the secrets sealed under the master key (associated data with tenant and
 * account id), in commands, events and the projection. */
#define FOFAL_IDENTITY_SEAL_PASSWORD "password"
#define FOFAL_IDENTITY_SEAL_PIN "pin"
#define FOFAL_IDENTITY_SEAL_TOTP "totp"
#define FOFAL_IDENTITY_SEAL_RECOVERY "recovery"
#define FOFAL_IDENTITY_RECOVERY_CODES 10

/* The tenant's sign-in realm aggregate (attempts naming nobody known). out[37]. */
void fofal_identity_realm_id(const char *tenant, char out[FOFAL_UUID_LEN + 1]);
/* The aggregate of a badge of the tenant. out[37]. */
void fofal_identity_badge_id(const char *tenant, const char *badge, char out[FOFAL_UUID_LEN + 1]);

#endif
