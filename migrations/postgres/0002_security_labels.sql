-- Security labels: client ceilings, user clearances, and the patient's choice on consents and
-- grants. A NULL ceiling or clearance means "no limit". JSON arrays of codes or category ids.

ALTER TABLE clients ADD COLUMN max_confidentiality TEXT;
ALTER TABLE clients ADD COLUMN allowed_sensitivity TEXT;

ALTER TABLE users ADD COLUMN clearance_confidentiality TEXT;
ALTER TABLE users ADD COLUMN clearance_sensitivity TEXT;

-- The sensitivity categories the user chose for the client (ids of configured categories).
ALTER TABLE consents ADD COLUMN categories TEXT NOT NULL DEFAULT '[]';

-- The effective `security` claim of the grant (JSON), and the categories it came from.
ALTER TABLE grants ADD COLUMN security TEXT NOT NULL DEFAULT '{"confidentiality":"N","sensitivity":[],"purpose_of_use":"PATRQT"}';
ALTER TABLE grants ADD COLUMN categories TEXT NOT NULL DEFAULT '[]';
