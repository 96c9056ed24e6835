//! The black-box suite, one test binary (a module per area): each test boots the real app
//! on 127.0.0.1:0 with its own database and talks to it over HTTP, as clients and browsers
//! do. With `CLEARANCE_TEST_BACKEND=postgres` every server runs on a fresh PostgreSQL
//! database instead of a SQLite file, so a new module runs on both without editing `.ci/run`.
//! The store contract (`tests/store_contract.rs`) stays apart: it tests the store alone.

mod common;

mod authorize_errors;
mod browser;
mod cli;
mod clients;
mod demo;
mod gateway;
mod labels;
mod oidc_flow;
mod postgres;
mod review_fixes;
mod sessions;
mod smart;
mod token_errors;
