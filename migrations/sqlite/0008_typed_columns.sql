-- Typed rows (issue 10): flags are read and written as Rust booleans. PostgreSQL changes its
-- flag columns to BOOLEAN (migrations/postgres/0008); SQLite has no boolean type, and its
-- BIGINT columns already hold 0 and 1, which sqlx reads as booleans. Nothing changes here.
SELECT 1;
