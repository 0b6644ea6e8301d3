//! Virtual IDs: MOSIP's VID policy (shipped as data) and the rules ID Repository applies with it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub const DEFAULT_POLICY: &str = include_str!("../data/vid-policy.json");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VidTypePolicy {
    pub valid_for_in_minutes: Option<i64>,
    pub transactions_allowed: Option<i64>,
    pub instances_allowed: i64,
    pub auto_restore_allowed: bool,
    pub restore_on_action: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VidPolicyEntry {
    pub vid_type: String,
    pub vid_policy: VidTypePolicy,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VidPolicy {
    pub vid_policies: Vec<VidPolicyEntry>,
}

impl VidPolicy {
    pub fn parse(json: &str) -> Result<Self, String> {
        let p: VidPolicy = serde_json::from_str(json).map_err(|e| format!("VID policy: {e}"))?;
        if p.vid_policies.is_empty() {
            return Err("VID policy: no VID types".into());
        }
        Ok(p)
    }

    pub fn default_policy() -> Result<Self, String> {
        Self::parse(DEFAULT_POLICY)
    }

    /// The canonical type name (`Perpetual`) and its rules, matched ignoring case.
    pub fn lookup(&self, vid_type: &str) -> Option<(&str, &VidTypePolicy)> {
        self.vid_policies
            .iter()
            .find(|e| e.vid_type.eq_ignore_ascii_case(vid_type))
            .map(|e| (e.vid_type.as_str(), &e.vid_policy))
    }
}

impl VidTypePolicy {
    pub fn expiry(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.valid_for_in_minutes.map(|m| now + time::Duration::minutes(m))
    }
}

/// A stored VID as the registry sees it.
/// Whether a VID in this status may still be revoked: an active one, or one whose transactions are
/// used up (MOSIP 1.2.1 lets the resident revoke it).
pub fn revocable(status: &str) -> bool {
    matches!(status, "ACTIVE" | "USED")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VidRecord {
    pub vid: crate::ids::Vid,
    pub vid_type: String,
    /// ACTIVE, REVOKED, USED, INVALIDATED
    pub status: String,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub transactions_left: Option<i64>,
}

impl VidRecord {
    /// A new ACTIVE VID of `vid_type` with the policy's expiry and transaction limit.
    pub fn issue(vid: crate::ids::Vid, vid_type: &str, policy: &VidTypePolicy, now: OffsetDateTime) -> Self {
        VidRecord {
            vid,
            vid_type: vid_type.to_owned(),
            status: "ACTIVE".into(),
            created_at: now,
            expires_at: policy.expiry(now),
            transactions_left: policy.transactions_allowed,
        }
    }

    /// Usable for authentication now: active, not expired, transactions left.
    pub fn usable(&self, now: OffsetDateTime) -> bool {
        self.status == "ACTIVE"
            && self.expires_at.is_none_or(|e| e > now)
            && self.transactions_left.is_none_or(|t| t > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_policy_is_mosips() {
        let p = VidPolicy::default_policy().unwrap();
        let (name, perpetual) = p.lookup("PERPETUAL").unwrap();
        assert_eq!(name, "Perpetual");
        assert_eq!((perpetual.valid_for_in_minutes, perpetual.transactions_allowed), (None, None));
        assert!(perpetual.auto_restore_allowed);
        let (_, temporary) = p.lookup("temporary").unwrap();
        assert_eq!((temporary.valid_for_in_minutes, temporary.transactions_allowed), (Some(30), Some(1)));
        assert!(p.lookup("OneTimeUse").is_some());
        assert!(p.lookup("Forever").is_none());
    }
}
