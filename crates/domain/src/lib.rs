//! Resident Services domain. No IO: time and randomness come in as parameters.

pub mod audit;
pub mod clock;
pub mod error;
pub mod history;
pub mod identity;
pub mod ids;
pub mod ports;
pub mod registration;
pub mod usecases;

pub use error::{ResidentError, StoreError};
