//! The server's integration tests, one binary: each module states the rules of one area, and
//! every storage-backed test runs once per backend (`NAME::sqlite`, `NAME::postgres`).

mod common;

mod accounts;
mod admin;
mod api_info;
mod audit;
mod consents;
mod contacts;
mod contract;
mod dauth;
mod delegation;
mod delivery;
mod documented_answers;
mod e2e;
mod explorer;
mod generated_client;
mod http;
mod introspection;
mod logs;
mod metrics;
mod operations;
mod replicas;
mod sca;
mod schemathesis;
mod security_schemes;
mod seeds;
mod sessions;
mod shared_limits;
mod sign_up;
mod signing_keys;
mod step_up;
mod temenos;
mod totp;
