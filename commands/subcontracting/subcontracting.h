/*
 * subcontracting.h — private to commands/subcontracting/ and its unit tests: the pricing
 * of a return (subcontracting.c says the rule).
 */
#ifndef FOFAL_COMMANDS_SUBCONTRACTING_H
#define FOFAL_COMMANDS_SUBCONTRACTING_H

#include <jansson.h>

/* What charged_milli thousandths of a lot's unit cost at unit_price minor units per unit:
 * charged_milli × unit_price / 1000 rounded half up, exact in 128 bits (both ≥ 0). */
json_int_t fofal__sub_charge(json_int_t charged_milli, json_int_t unit_price);

#endif
