-- Typed rows (issue 10): flags are BOOLEAN, read and written as Rust booleans. SQLite has no
-- boolean type; its BIGINT columns already hold 0 and 1, which sqlx reads as booleans, so
-- migrations/sqlite/0008 changes nothing.
ALTER TABLE clients ALTER COLUMN ehr_launcher DROP DEFAULT;
ALTER TABLE clients ALTER COLUMN ehr_launcher TYPE BOOLEAN USING ehr_launcher <> 0;
ALTER TABLE clients ALTER COLUMN ehr_launcher SET DEFAULT FALSE;
ALTER TABLE grants ALTER COLUMN need_patient_banner TYPE BOOLEAN USING need_patient_banner <> 0;
ALTER TABLE launches ALTER COLUMN need_patient_banner DROP DEFAULT;
ALTER TABLE launches ALTER COLUMN need_patient_banner TYPE BOOLEAN USING need_patient_banner <> 0;
ALTER TABLE launches ALTER COLUMN need_patient_banner SET DEFAULT TRUE;
