-- Personal data of employees (issue 6 item 8). The name is opened by the projector (with
-- the person's key, events/crypto.c) because the floor shows it; it reads 'erased' once
-- the person is erased. Phone, national id, bank account and salary stay sealed here, as
-- they are in the events ({"$enc","p","ct"} per field), and fofal-api opens them for the
-- roles allowed to see them: the read model never holds them in clear.
ALTER TABLE production.employees
  ADD COLUMN person_id uuid,
  ADD COLUMN personal  jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN erased_at timestamptz;
