//! Sealkeeper domain types and rules: identifiers, organisations, people, departments,
//! roles and permissions, separation-of-duties rules, audit events, seals, seal-use
//! applications with their lifecycle, approval flows and grants, devices and alarms,
//! stamps as evidence, and document comparison verdicts and thresholds.
//!
//! This crate does no I/O, has no async, no serde and no clock: time comes in as a
//! [`time::Timestamp`] parameter and randomness as bytes chosen by the caller. Every
//! value type here is parsed once at the edge (`parse` constructors, private fields) so
//! that holding one means it is valid.

pub mod alarm;
pub mod application;
pub mod audit;
mod canonical;
pub mod comparison;
pub mod department;
pub mod device;
pub mod flow;
pub mod grant;
pub mod ids;
pub mod org;
pub mod permission;
pub mod person;
pub mod role;
pub mod seal;
pub mod sod;
pub mod stamp;
pub mod text;
pub mod time;
pub mod webhook;
