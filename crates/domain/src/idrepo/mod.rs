//! The ID Repository as a service: what resident services ask of it (an identity by UIN or VID, the
//! identity's VIDs and their life under the VID policy, its auth-type locks). Resident use cases see
//! only [`IdRepository`]; the embedded registry ([`embedded::EmbeddedIdRepository`]) implements it
//! over this platform's store, and `resident-mosip` over MOSIP's ID Repository contracts.

pub mod embedded;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::authtype::LockState;
use crate::error::ResidentError;
use crate::ids::{IndividualId, Vid};
use crate::ports::{NewDocument, Resolved};
use crate::vid::VidRecord;

#[async_trait]
pub trait IdRepository: Send + Sync {
    /// The identity a UIN, or a VID while it is usable, names; `None` when there is none.
    async fn identity(&self, id: &IndividualId, now: OffsetDateTime) -> Result<Option<Resolved>, ResidentError>;

    /// The identity's documents (its photo among them).
    async fn documents(&self, who: &Resolved) -> Result<Vec<NewDocument>, ResidentError>;

    /// The identity's active, unexpired VIDs, newest first.
    async fn vids(&self, who: &Resolved, now: OffsetDateTime) -> Result<Vec<VidRecord>, ResidentError>;

    /// A new VID of `vid_type` for the identity, as the VID policy allows: a full slot of a type that
    /// restores on revocation gives up its newest VID; else `VidAlreadyPresent`.
    async fn create_vid(&self, who: &Resolved, vid_type: &str, now: OffsetDateTime) -> Result<Vid, ResidentError>;

    /// Revokes an active VID of this identity (`ApiResourceAccess` for any other VID); a type that
    /// restores on revocation gets a new VID in its place.
    async fn revoke_vid(&self, who: &Resolved, vid: &Vid, now: OffsetDateTime) -> Result<(), ResidentError>;

    /// The identity's auth-type locks as they stand.
    async fn auth_type_status(&self, who: &Resolved) -> Result<Vec<LockState>, ResidentError>;

    /// Sets these auth types' locks (the others stay as they are).
    async fn update_auth_type_status(
        &self,
        who: &Resolved,
        states: &[LockState],
        now: OffsetDateTime,
    ) -> Result<(), ResidentError>;
}
