-- HR attendance (issue 17): clockings and absences, written by projections/hr/attendance.c
-- from fofal.hr.events. A clocking is one row from its clock-in to its clock-out (NULL
-- while at work, or for ever when a later clock-in left it open); its shift and the
-- shift's span come in the events (the decider found them by the shift model), and the
-- projection derives from them the minutes late, worked and beyond the shift's end. An
-- absence is one row per day. Row-level security as in 070_hr.sql.
CREATE TABLE hr.clockings (
  tenant           text    NOT NULL,
  badge            text    NOT NULL,
  clock_in         timestamptz NOT NULL,
  device_in        text    NOT NULL,
  clock_out        timestamptz,
  device_out       text,
  shift            text,
  shift_day        date,
  shift_starts_at  timestamptz,
  shift_ends_at    timestamptz,
  late_min         integer NOT NULL DEFAULT 0,
  worked_min       integer,
  overtime_min     integer,
  early_leave_min  integer,
  delegated_by     text,
  PRIMARY KEY (tenant, badge, clock_in)
);
CREATE INDEX clockings_shift ON hr.clockings (tenant, shift);
CREATE INDEX clockings_day ON hr.clockings (tenant, shift_day, badge);

CREATE TABLE hr.absences (
  tenant       text NOT NULL,
  badge        text NOT NULL,
  day          date NOT NULL,
  reason       text NOT NULL,
  note         text,
  recorded_by  text NOT NULL,
  recorded_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, badge, day)
);
CREATE INDEX absences_day ON hr.absences (tenant, day);

ALTER TABLE hr.clockings ENABLE ROW LEVEL SECURITY;
ALTER TABLE hr.absences ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON hr.clockings USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON hr.absences USING (tenant = current_setting('fofal.tenant', true));
GRANT SELECT ON ALL TABLES IN SCHEMA hr TO fofal_reader;
