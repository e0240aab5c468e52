/*
 * sales.h — private to commands/sales/: the VAT arithmetic the deciders and their tests
 * share.
 */
#ifndef FOFAL_SALES_H
#define FOFAL_SALES_H

#include "decide.h"

/* VAT of a net amount (minor units, ≥ 0) at rate_bp basis points (1900 = 19 %), rounded
 * half up to the minor unit: (net × rate_bp + 5000) / 10000. */
json_int_t fofal_sales_vat(json_int_t net_minor, json_int_t rate_bp);

#endif
