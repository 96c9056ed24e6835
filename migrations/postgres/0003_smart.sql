-- SMART App Launch: the patient directory, EHR launch handles, launch context on grants, and
-- clients allowed to request EHR launches. Flags are BIGINT 0/1 (portable across back ends).

CREATE TABLE patients (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    birth_date TEXT,
    gender     TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX patients_by_name ON patients (name);

CREATE TABLE launches (
    launch_hash         TEXT PRIMARY KEY,
    issued_to           TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    client_id           TEXT,
    patient             TEXT,
    encounter           TEXT,
    user_id             TEXT,
    fhir_context        TEXT NOT NULL DEFAULT '[]',
    need_patient_banner BIGINT NOT NULL DEFAULT 1,
    intent              TEXT,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    used_at             BIGINT
);

ALTER TABLE grants ADD COLUMN patient TEXT;
ALTER TABLE grants ADD COLUMN encounter TEXT;
ALTER TABLE grants ADD COLUMN fhir_context TEXT NOT NULL DEFAULT '[]';
ALTER TABLE grants ADD COLUMN need_patient_banner BIGINT;
ALTER TABLE grants ADD COLUMN intent TEXT;

ALTER TABLE clients ADD COLUMN ehr_launcher BIGINT NOT NULL DEFAULT 0;
