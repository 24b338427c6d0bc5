//! Integration tests of migrate-core and the `migrate` CLI against a real PostgreSQL (one
//! embedded cluster per test binary, a fresh database per test).

mod backup;
mod backup_provider;
mod bad_input;
mod cli;
mod common;
mod concurrency;
mod corpus;
mod data_at_risk;
mod deploy;
mod drift;
mod embed_async;
mod environments;
mod failures;
mod faults;
mod faults_cic;
mod faults_pipeline;
mod faults_restore;
mod fleet;
mod health;
mod journal;
mod lock;
mod locks;
mod monitor;
mod parts;
mod pipeline;
mod privileges;
mod races;
mod races_shared_backup_dir;
mod resolve;
mod restore;
mod rollback;
mod safety;
mod scoped;
mod tls;
mod zero_downtime;
