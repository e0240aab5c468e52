-- Sales module read model (issue 17): customers, sales orders, deliveries and the
-- containers they shipped, invoices, credit notes and payments, written by
-- projections/sales/sales.c from fofal.sales.events. Money in integer minor units (bigint)
-- of the document's currency. A document's whole event is kept as `doc` (lines, VAT per
-- rate), its keys and amounts as columns for the sums of the aged receivables and the
-- treasury. Row-level security as in 060_catalog.sql.
CREATE SCHEMA sales;

CREATE TABLE sales.settings (
  tenant        text  NOT NULL,
  vat_rates_bp  jsonb NOT NULL,
  set_by        text  NOT NULL,
  set_at        timestamptz NOT NULL,
  PRIMARY KEY (tenant)
);

CREATE TABLE sales.customers (
  tenant              text    NOT NULL,
  customer            text    NOT NULL,
  name                text    NOT NULL,
  vat_id              text,
  payment_terms_days  integer NOT NULL,
  currency            text    NOT NULL,
  address             text,
  registered_at       timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  PRIMARY KEY (tenant, customer)
);

CREATE TABLE sales.orders (
  tenant      text  NOT NULL,
  order_id    uuid  NOT NULL,
  customer    text  NOT NULL,
  date        date  NOT NULL,
  doc         jsonb NOT NULL,
  delivered   jsonb NOT NULL DEFAULT '[]',
  placed_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant, order_id)
);
CREATE INDEX orders_customer ON sales.orders (tenant, customer, date);

CREATE TABLE sales.deliveries (
  tenant          text  NOT NULL,
  delivery_id     uuid  NOT NULL,
  order_id        uuid  NOT NULL,
  customer        text  NOT NULL,
  date            date  NOT NULL,
  doc             jsonb NOT NULL,
  invoice_id      uuid,
  invoice_number  text,
  shipped_at      timestamptz NOT NULL,
  PRIMARY KEY (tenant, delivery_id)
);

CREATE TABLE sales.shipped_containers (
  tenant        text NOT NULL,
  container_id  uuid NOT NULL,
  delivery_id   uuid NOT NULL,
  pallet_id     uuid,
  PRIMARY KEY (tenant, container_id)
);

CREATE TABLE sales.invoices (
  tenant        text   NOT NULL,
  invoice_id    uuid   NOT NULL,
  number        text   NOT NULL,
  customer      text   NOT NULL,
  currency      text   NOT NULL,
  date          date   NOT NULL,
  due_date      date   NOT NULL,
  net_minor     bigint NOT NULL,
  vat_minor     bigint NOT NULL,
  total_minor   bigint NOT NULL,
  doc           jsonb  NOT NULL,
  issued_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant, invoice_id)
);
CREATE UNIQUE INDEX invoices_number ON sales.invoices (tenant, number);
CREATE INDEX invoices_customer ON sales.invoices (tenant, customer, date);

CREATE TABLE sales.credit_notes (
  tenant          text   NOT NULL,
  credit_note_id  uuid   NOT NULL,
  number          text   NOT NULL,
  invoice_id      uuid   NOT NULL,
  customer        text   NOT NULL,
  date            date   NOT NULL,
  total_minor     bigint NOT NULL,
  doc             jsonb  NOT NULL,
  issued_at       timestamptz NOT NULL,
  PRIMARY KEY (tenant, credit_note_id)
);
CREATE INDEX credit_notes_invoice ON sales.credit_notes (tenant, invoice_id, date);

CREATE TABLE sales.payments (
  tenant          text   NOT NULL,
  invoice_id      uuid   NOT NULL,
  payment_id      uuid   NOT NULL,
  customer        text   NOT NULL,
  currency        text   NOT NULL,
  direction       text   NOT NULL,
  account         text   NOT NULL,
  amount_minor    bigint NOT NULL,
  overpaid_minor  bigint NOT NULL,
  date            date   NOT NULL,
  reference       text,
  recorded_by     text   NOT NULL,
  recorded_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant, invoice_id, payment_id)
);
CREATE INDEX payments_date ON sales.payments (tenant, date);
CREATE INDEX payments_invoice ON sales.payments (tenant, invoice_id, date);

-- Supplier invoices (matched with their purchase order and receipts, or held with their
-- mismatches until approved) and the payments made for them.
CREATE TABLE sales.supplier_invoices (
  tenant               text   NOT NULL,
  supplier_invoice_id  uuid   NOT NULL,
  supplier             text   NOT NULL,
  supplier_number      text   NOT NULL,
  order_id             uuid   NOT NULL,
  currency             text   NOT NULL,
  date                 date   NOT NULL,
  due_date             date   NOT NULL,
  status               text   NOT NULL,
  net_minor            bigint NOT NULL,
  vat_minor            bigint NOT NULL,
  total_minor          bigint NOT NULL,
  doc                  jsonb  NOT NULL,
  approved_by          text,
  approval_reason      text,
  recorded_at          timestamptz NOT NULL,
  PRIMARY KEY (tenant, supplier_invoice_id)
);
CREATE INDEX supplier_invoices_supplier ON sales.supplier_invoices (tenant, supplier, date);

CREATE TABLE sales.supplier_payments (
  tenant               text   NOT NULL,
  supplier_invoice_id  uuid   NOT NULL,
  payment_id           uuid   NOT NULL,
  supplier             text   NOT NULL,
  currency             text   NOT NULL,
  account              text   NOT NULL,
  amount_minor         bigint NOT NULL,
  date                 date   NOT NULL,
  reference            text,
  recorded_by          text   NOT NULL,
  recorded_at          timestamptz NOT NULL,
  PRIMARY KEY (tenant, supplier_invoice_id, payment_id)
);
CREATE INDEX supplier_payments_date ON sales.supplier_payments (tenant, date);

ALTER TABLE sales.supplier_invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE sales.supplier_payments ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON sales.supplier_invoices USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON sales.supplier_payments USING (tenant = current_setting('fofal.tenant', true));
ALTER TABLE sales.settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE sales.customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE sales.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE sales.deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE sales.shipped_containers ENABLE ROW LEVEL SECURITY;
ALTER TABLE sales.invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE sales.credit_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE sales.payments ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON sales.settings USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON sales.customers USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON sales.orders USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON sales.deliveries USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON sales.shipped_containers USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON sales.invoices USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON sales.credit_notes USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON sales.payments USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA sales TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA sales TO fofal_reader;
