-- The chart of accounts as data (issue 17). accounting_chart.chart_default is the default chart
-- every tenant starts with: the accounts of the Tunisian Système Comptable des Entreprises
-- (classes 1 to 7) that the postings use, with their French names. A tenant's own
-- definitions (accounting.account.define, projected into accounting.accounts) add to it or
-- rename its accounts; an entry may still post to any valid SCE number, named or not.
-- The default chart is reference data, no projection's: it lives in a schema of its own
-- (accounting_chart), so a rebuild of schema accounting neither loses nor needs it.
CREATE SCHEMA accounting_chart;
CREATE TABLE accounting_chart.chart_default (
  account  text    PRIMARY KEY,
  name     text    NOT NULL,
  class    integer NOT NULL
);
INSERT INTO accounting_chart.chart_default (account, name, class) VALUES
  ('101',  'Capital social', 1),
  ('11',   'Réserves', 1),
  ('120',  'Résultat de l''exercice (bénéfice)', 1),
  ('129',  'Résultat de l''exercice (perte)', 1),
  ('16',   'Emprunts et dettes assimilées', 1),
  ('22',   'Immobilisations corporelles', 2),
  ('223',  'Installations techniques, matériel et outillage industriels', 2),
  ('28',   'Amortissements des immobilisations', 2),
  ('31',   'Stocks de matières premières et fournitures liées', 3),
  ('311',  'Matières premières (fils de coton)', 3),
  ('33',   'Stocks d''autres approvisionnements', 3),
  ('34',   'Stocks d''en-cours de production de biens', 3),
  ('35',   'Stocks de produits', 3),
  ('355',  'Produits finis (serviettes)', 3),
  ('401',  'Fournisseurs d''exploitation', 4),
  ('408',  'Fournisseurs, factures non parvenues', 4),
  ('411',  'Clients', 4),
  ('421',  'Personnel, avances et acomptes', 4),
  ('425',  'Personnel, rémunérations dues', 4),
  ('428',  'Personnel, charges à payer', 4),
  ('43',   'État et collectivités publiques', 4),
  ('4366', 'Taxe sur la valeur ajoutée', 4),
  ('45',   'Associés', 4),
  ('532',  'Banques', 5),
  ('54',   'Caisse', 5),
  ('601',  'Achats de matières premières', 6),
  ('602',  'Achats d''autres approvisionnements', 6),
  ('603',  'Variation des stocks d''approvisionnements', 6),
  ('61',   'Services extérieurs', 6),
  ('615',  'Entretien et réparations', 6),
  ('62',   'Autres services extérieurs', 6),
  ('625',  'Déplacements, missions et réceptions', 6),
  ('640',  'Charges de personnel', 6),
  ('66',   'Charges financières', 6),
  ('68',   'Dotations aux amortissements et aux provisions', 6),
  ('701',  'Ventes de produits finis', 7),
  ('706',  'Prestations de services', 7),
  ('71',   'Variation des stocks de produits', 7),
  ('75',   'Autres produits d''exploitation', 7),
  ('76',   'Produits financiers', 7);

CREATE TABLE accounting.accounts (
  tenant      text    NOT NULL,
  account     text    NOT NULL,
  name        text    NOT NULL,
  class       integer NOT NULL,
  defined_by  text    NOT NULL,
  defined_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, account)
);
ALTER TABLE accounting.accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON accounting.accounts USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA accounting_chart TO fofal_reader;
GRANT SELECT ON accounting_chart.chart_default, accounting.accounts TO fofal_reader;
