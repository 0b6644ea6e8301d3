//! Resident Services domain. No IO: time and randomness come in as parameters.

pub mod access;
pub mod audit;
pub mod auth_usecases;
pub mod authtype;
pub mod card;
pub mod clock;
pub mod credential;
pub mod error;
pub mod grievance;
pub mod history;
pub mod housekeeping;
pub mod ida;
pub mod identity;
pub mod idrepo;
pub mod ids;
pub mod keymanager;
pub mod masterdata;
pub mod notification;
pub mod otp;
pub mod partner;
pub mod platform;
pub mod ports;
pub mod print;
pub mod registration;
pub mod session;
pub mod throttle;
pub mod transliteration;
pub mod update;
pub mod usecases;
pub mod verification;
pub mod vid;

pub use error::{ResidentError, StoreError};
