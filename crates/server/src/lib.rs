//! The `resident` binary's library: configuration, composition root, CLI commands.

pub mod admin;
pub mod anchor;
pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod http;
pub mod import;
pub mod platform;
