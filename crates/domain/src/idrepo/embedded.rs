//! The embedded ID Repository: identities, VIDs under the VID policy, and auth-type locks, over this
//! platform's store. It serves resident services in one process and the platform's ID Repository
//! endpoints to a resident tier in `mosip` mode.

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::IdRepository;
use crate::authtype::LockState;
use crate::clock::rng;
use crate::error::{ResidentError, StoreError};
use crate::ids::{IndividualId, Vid};
use crate::ports::{Effects, IdentityRecords, IdentityRegistry, NewDocument, Resolved};
use crate::vid::{VidPolicy, VidRecord};

pub struct EmbeddedIdRepository {
    repo: Arc<dyn IdentityRecords>,
    registry: Arc<dyn IdentityRegistry>,
    policy: Arc<VidPolicy>,
}

impl EmbeddedIdRepository {
    pub fn new(repo: Arc<dyn IdentityRecords>, registry: Arc<dyn IdentityRegistry>, policy: Arc<VidPolicy>) -> Self {
        EmbeddedIdRepository { repo, registry, policy }
    }

    /// The identity and record of a VID, whatever its status.
    pub async fn vid_owner(&self, vid: &Vid) -> Result<Option<(String, VidRecord)>, ResidentError> {
        Ok(self.repo.vid_record(vid).await?)
    }
}

#[async_trait]
impl IdRepository for EmbeddedIdRepository {
    async fn identity(&self, id: &IndividualId, now: OffsetDateTime) -> Result<Option<Resolved>, ResidentError> {
        Ok(self.repo.resolve(id, now).await?)
    }

    async fn documents(&self, who: &Resolved) -> Result<Vec<NewDocument>, ResidentError> {
        let stored = self.registry.find_identity(&who.uin).await?;
        Ok(stored.map(|s| s.documents).unwrap_or_default())
    }

    async fn vids(&self, who: &Resolved, now: OffsetDateTime) -> Result<Vec<VidRecord>, ResidentError> {
        Ok(self.repo.vids(&who.identity_id, now).await?)
    }

    async fn create_vid(&self, who: &Resolved, vid_type: &str, now: OffsetDateTime) -> Result<Vid, ResidentError> {
        let Some((type_name, policy)) = self.policy.lookup(vid_type) else {
            return Err(ResidentError::invalid("vidType"));
        };
        let active: Vec<VidRecord> =
            self.repo.vids(&who.identity_id, now).await?.into_iter().filter(|v| v.vid_type == type_name).collect();
        let mut retire = Vec::new();
        if active.len() as i64 >= policy.instances_allowed {
            match active.first() {
                Some(newest) if policy.auto_restore_allowed && policy.restore_on_action == "REVOKED" => {
                    retire.push(newest.vid.clone())
                }
                _ => return Err(ResidentError::VidAlreadyPresent),
            }
        }
        // a fresh VID that no identity has (collisions are astronomically rare; the store's key guards anyway)
        let mut vid = Vid::generate(&mut rng());
        for _ in 0..8 {
            if self.repo.vid_record(&vid).await?.is_none() {
                break;
            }
            vid = Vid::generate(&mut rng());
        }
        let record = VidRecord::issue(vid.clone(), type_name, policy, now);
        match self.repo.create_vid(who, &record, &retire, &Effects::default(), now).await {
            Ok(()) => Ok(vid),
            Err(StoreError::Conflict(_)) => Err(ResidentError::VidCreationFailed),
            Err(e) => Err(e.into()),
        }
    }

    async fn revoke_vid(&self, who: &Resolved, vid: &Vid, now: OffsetDateTime) -> Result<(), ResidentError> {
        let owned = self.repo.vid_record(vid).await?.filter(|(identity, _)| *identity == who.identity_id);
        let Some((_, existing)) = owned.filter(|(_, r)| crate::vid::revocable(&r.status)) else {
            return Err(ResidentError::ApiResourceAccess);
        };
        let replacement = self
            .policy
            .lookup(&existing.vid_type)
            .filter(|(_, p)| p.auto_restore_allowed && p.restore_on_action == "REVOKED")
            .map(|(name, p)| VidRecord::issue(Vid::generate(&mut rng()), name, p, now));
        match self.repo.set_vid_status(who, vid, "REVOKED", replacement.as_ref(), &Effects::default(), now).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(ResidentError::VidRevocationFailed),
            Err(e) => Err(e.into()),
        }
    }

    async fn auth_type_status(&self, who: &Resolved) -> Result<Vec<LockState>, ResidentError> {
        Ok(self.repo.lock_states(&who.identity_id).await?)
    }

    async fn update_auth_type_status(
        &self,
        who: &Resolved,
        states: &[LockState],
        now: OffsetDateTime,
    ) -> Result<(), ResidentError> {
        Ok(self.repo.set_locks(&who.identity_id, states, &Effects::default(), now).await?)
    }
}
