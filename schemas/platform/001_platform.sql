-- Platform tables shared by every projector.
--
-- fofal_meta.projector_offsets: the next Kafka offset each projector will apply, per
-- topic partition. A projector writes it in the same transaction as the rows it derives
-- from those events (DESIGN.md guarantee 5), and seeks to it on start.
--
-- fofal_reader: the role the API's queries run as. It is not a superuser and does not
-- own the tables, so row-level security applies to it (guarantee 7).
CREATE TABLE fofal_meta.projector_offsets (
  projector   text    NOT NULL,
  topic       text    NOT NULL,
  partition   integer NOT NULL,
  next_offset bigint  NOT NULL,
  last_event_at timestamptz,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projector, topic, partition)
);

-- Events a projector could not apply (malformed, or refused by the database): kept for
-- an operator to look at; the projector goes on past them instead of stopping.
CREATE TABLE fofal_meta.projection_errors (
  projector   text    NOT NULL,
  topic       text    NOT NULL,
  partition   integer NOT NULL,
  "offset"    bigint  NOT NULL,
  error       text    NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projector, topic, partition, "offset")
);

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fofal_reader') THEN
    CREATE ROLE fofal_reader NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
END
$$;
GRANT USAGE ON SCHEMA fofal_meta TO fofal_reader;
GRANT SELECT ON fofal_meta.projector_offsets TO fofal_reader;
