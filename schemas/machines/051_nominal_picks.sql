-- Efficiency's divisor (GLOSSARY.md: efficiency = picks ÷ (elapsed minutes × nominal ppm)):
-- nominal ppm × (run + stop) minutes, added up from the loom_activity tallies like
-- theoretical_picks (nominal ppm × run minutes, performance's divisor). 0 where the loom's
-- registered speed was not known: the ratios then read null. Tallies written before
-- fofal-machines knew registered speeds carry neither (a rebuild keeps them so).
ALTER TABLE machines.loom_shifts ADD COLUMN nominal_picks double precision NOT NULL DEFAULT 0;
