//! Verified phone numbers and email addresses: kept as a keyed hash per identity and channel, so a
//! value changed since is not verified, and another identity's verification is not this one's.

use resident_domain::audit::AuditEvent;
use resident_domain::history::IdentityToken;
use resident_domain::otp::OtpChannel;
use resident_domain::ports::{ChannelVerifications, Effects};
use resident_testkit::{Db, t0};

use super::{ctx, fresh, raw};

pub async fn a_verified_value_is_kept_as_a_hash_and_a_changed_one_is_not_verified(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    let (jane, omar) = (IdentityToken("jane".into()), IdentityToken("omar".into()));
    let effects =
        Effects { audit: vec![AuditEvent::InputInvalid.record(&ctx(), t0(), None, "verified")], ..Effects::default() };
    store.mark_verified(&jane, &[(OtpChannel::Phone, "9876543210".into())], &effects, t0()).await.unwrap();
    assert!(store.is_verified(&jane, OtpChannel::Phone, "9876543210").await.unwrap());
    assert!(!store.is_verified(&jane, OtpChannel::Phone, "9876543211").await.unwrap(), "another number");
    assert!(!store.is_verified(&jane, OtpChannel::Email, "9876543210").await.unwrap(), "another channel");
    assert!(!store.is_verified(&omar, OtpChannel::Phone, "9876543210").await.unwrap(), "another identity");

    // verifying a new number replaces the old one; both channels at once
    let both = [(OtpChannel::Phone, "9876500000".into()), (OtpChannel::Email, "jane@example.org".into())];
    store.mark_verified(&jane, &both, &Effects::default(), t0()).await.unwrap();
    assert!(!store.is_verified(&jane, OtpChannel::Phone, "9876543210").await.unwrap());
    assert!(store.is_verified(&jane, OtpChannel::Phone, "9876500000").await.unwrap());
    assert!(store.is_verified(&jane, OtpChannel::Email, "jane@example.org").await.unwrap());

    // the effects committed with it; no value in clear
    let pool = raw(&db).await;
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT token_id, channel, value_hash FROM channel_verification ORDER BY channel")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|(_, _, h)| !h.contains("9876") && !h.contains("jane@")), "{rows:?}");
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE description = 'verified'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(audited, 1);
}
