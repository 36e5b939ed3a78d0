-- Set up the two roles of the alternating-users strategy (run once, as an admin):
--   psql -v app=app -v role_a=app_a -v role_b=app_b -f alternating-roles.sql
-- Grants go to the NOLOGIN group role :app; app_a and app_b inherit them, so both
-- can do exactly the same. Objects should be owned by :app (SET ROLE app before
-- DDL in migrations), not by whichever login role happened to create them.
\set ON_ERROR_STOP 1
CREATE ROLE :"app" NOLOGIN;
CREATE ROLE :"role_a" LOGIN INHERIT IN ROLE :"app";
CREATE ROLE :"role_b" LOGIN INHERIT IN ROLE :"app";
-- Then, for example:
--   GRANT USAGE ON SCHEMA app TO app;  GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA app TO app;
-- and set a first password on :role_a; the vault's value names it:
--   gitvault set secrets/production/db.yaml db.url --stdin   (postgresql://app_a:…@host/db)
