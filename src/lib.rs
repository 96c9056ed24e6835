//! Clearance: an OpenID Connect authorization server for FHIR APIs that issues label-aware
//! tokens. Modules in the order data flows: HTTP, protocol flow, token minting, storage.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod flow;
pub mod gate;
pub mod gateway;
pub mod http;
pub mod labels;
pub mod metrics;
pub mod scope;
pub mod secrets;
pub mod services;
pub mod smart_style;
pub mod store;
pub mod tokens;
