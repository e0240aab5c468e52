/*
 * sales_postings.h — private to commands/accounting/: the postings of sales events
 * (sales_postings.c), which reactions.c lists in its table.
 */
#ifndef FOFAL_ACCOUNTING_SALES_POSTINGS_H
#define FOFAL_ACCOUNTING_SALES_POSTINGS_H

#include "commands.h"

extern const char *const fofal__accounting_on_sales_invoice[];
extern const char *const fofal__accounting_on_credit_note[];
extern const char *const fofal__accounting_on_payment[];
int fofal__accounting_entry_on_sales_invoice(const fofal_event_t *ev, fofal_reaction_out_t *out);
int fofal__accounting_entry_on_credit_note(const fofal_event_t *ev, fofal_reaction_out_t *out);
int fofal__accounting_entry_on_payment(const fofal_event_t *ev, fofal_reaction_out_t *out);
extern const char *const fofal__accounting_on_supplier_invoice[];
extern const char *const fofal__accounting_on_supplier_payment[];
int fofal__accounting_entry_on_supplier_invoice(const fofal_event_t *ev, fofal_reaction_out_t *out);
int fofal__accounting_entry_on_supplier_payment(const fofal_event_t *ev, fofal_reaction_out_t *out);

#endif
