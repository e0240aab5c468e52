-- Projects module read model: projects with their budget, tasks, hours booked by
-- employees and costs booked from purchases and accounting. Written by
-- projections/projects/projects.c in the order of the tenant's partition; only that
-- projection writes these rows. Money in minor units (bigint). Every row carries its
-- tenant; row-level security as in schemas/production/010_orders.sql.
CREATE SCHEMA projects;

CREATE TABLE projects.projects (
  tenant        text    NOT NULL,
  project       text    NOT NULL,
  name          text    NOT NULL,
  kind          text    NOT NULL,
  owner         text    NOT NULL,
  start_date    date    NOT NULL,
  due_date      date    NOT NULL,
  budget_minor  bigint  NOT NULL,
  currency      text    NOT NULL,
  description   text,
  status        text    NOT NULL,
  created_by    text    NOT NULL,
  created_at    timestamptz NOT NULL,
  closed_at     timestamptz,
  version       bigint  NOT NULL,
  PRIMARY KEY (tenant, project)
);
CREATE INDEX projects_status ON projects.projects (tenant, status, project);

CREATE TABLE projects.tasks (
  tenant      text    NOT NULL,
  project     text    NOT NULL,
  task        text    NOT NULL,
  title       text    NOT NULL,
  owner       text    NOT NULL,
  start_date  date    NOT NULL,
  due_date    date    NOT NULL,
  state       text    NOT NULL,
  added_at    timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, project, task)
);
CREATE INDEX tasks_owner ON projects.tasks (tenant, owner, due_date);

-- One row per booking event (its id): hours and costs only add up.
CREATE TABLE projects.hours (
  tenant     text    NOT NULL,
  event_id   uuid    NOT NULL,
  project    text    NOT NULL,
  task       text,
  badge      text    NOT NULL,
  day        date    NOT NULL,
  minutes    integer NOT NULL,
  note       text,
  booked_by  text    NOT NULL,
  booked_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, event_id)
);
CREATE INDEX hours_project ON projects.hours (tenant, project, day);

CREATE TABLE projects.costs (
  tenant        text    NOT NULL,
  event_id      uuid    NOT NULL,
  project       text    NOT NULL,
  task          text,
  day           date    NOT NULL,
  amount_minor  bigint  NOT NULL,
  source        text    NOT NULL,
  reference     text    NOT NULL,
  note          text,
  booked_by     text    NOT NULL,
  booked_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant, event_id)
);
CREATE INDEX costs_project ON projects.costs (tenant, project, day);

ALTER TABLE projects.projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE projects.tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE projects.hours ENABLE ROW LEVEL SECURITY;
ALTER TABLE projects.costs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON projects.projects USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON projects.tasks USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON projects.hours USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON projects.costs USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA projects TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA projects TO fofal_reader;
