/*
 * nc.h — private to commands/quality: the non-conformities' command table (nc.c), which
 * quality.c registers with the module's others.
 */
#ifndef FOFAL_QUALITY_NC_H
#define FOFAL_QUALITY_NC_H

#include "commands.h"

extern const fofal_command_def_t fofal__quality_nc_commands[];
extern const int fofal__quality_nc_ncommands;

#endif
