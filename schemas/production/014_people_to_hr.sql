-- Employees, their shift assignments and the shift model moved to the hr module
-- (schemas/hr/070_hr.sql, topic fofal.hr.events): production no longer keeps them. Its
-- reads that show a weaver's name or shift join hr's tables.
DROP TABLE production.employees;
DROP TABLE production.shift_assignments;
DROP TABLE production.shift_models;
